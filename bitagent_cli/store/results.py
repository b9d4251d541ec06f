"""The evaluation results cache: one SQLite file (WAL) of raw model answers and their scores.

A result is keyed by ``(model_sha, suite_hash, task_id, settings_hash)``: the same model at the same
commit, on the same suite contents, with the same request settings, gives the same answer at
temperature 0, so a rerun skips it and a killed run resumes where its last committed batch ended
(``put`` commits each batch in one transaction; WAL keeps the file consistent under ``kill -9``).

Only real answers (HTTP 200) are stored. A request that failed (server gone, timeout, 4xx) is not
cached, so the next run tries it again.

The ``runs`` table records each evaluation (model, sha, suites, settings, start/finish, status and
the summary) so ``eval-model --compare A B`` can put two models' latest runs side by side. A run also
records who runs it (host, pid and the process's start time), so a run left ``running`` by a process
that was killed (``kill -9``, a power cut) is marked ``interrupted`` by the next start
(:meth:`ResultStore.reap_interrupted`): a pid reused by another process does not keep it alive.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ResultKey", "ResultStore", "StoredResult", "default_path"]

SCHEMA_VERSION = 1
_CHUNK = 500  # keys per SELECT (SQLite's bound-variable limit is 999 on old builds)


def default_path(settings: Mapping[str, Any] | None = None) -> Path:
    """``<data dir>/results.sqlite``: the profile's ``paths.data_dir`` or the platform's data dir."""
    from ..config import data_dir

    return data_dir(settings) / "results.sqlite"  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ResultKey:
    model_sha: str
    suite_hash: str
    task_id: str
    settings_hash: str


@dataclass(slots=True)
class StoredResult:
    """One cached answer: the raw completion (``text``, ``tool_calls``), its score and latency."""

    key: ResultKey
    text: str | None
    tool_calls: list | None
    finish_reason: str | None
    score: dict[str, Any]
    latency_s: float
    created_at: float


_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    model_sha TEXT NOT NULL,
    suite_hash TEXT NOT NULL,
    task_id TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    text TEXT,
    tool_calls TEXT,
    finish_reason TEXT,
    score TEXT NOT NULL,
    latency_s REAL NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (model_sha, suite_hash, settings_hash, task_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    model_sha TEXT NOT NULL,
    suites TEXT NOT NULL,
    settings TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,
    summary TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_model ON runs (model, started_at);
CREATE INDEX IF NOT EXISTS runs_by_sha ON runs (model_sha, started_at);
"""


class ResultStore:
    """The results cache at ``path`` (created on first use). Use from one thread; ``close()`` when done."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
            self._db.executescript(_DDL)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self._add_owner_columns()
        except sqlite3.DatabaseError as e:
            self._db.close()
            raise sqlite3.DatabaseError(
                f"{self.path} is not a usable results database ({e}); move it aside and run again"
            ) from None

    def _add_owner_columns(self) -> None:
        """Files written before runs recorded their owner get the columns (NULL: owner unknown)."""
        have = {r[1] for r in self._db.execute("PRAGMA table_info(runs)")}
        for col, typ in (("host", "TEXT"), ("pid", "INTEGER"), ("pid_start", "TEXT")):
            if col not in have:
                try:
                    self._db.execute(f"ALTER TABLE runs ADD COLUMN {col} {typ}")
                except sqlite3.OperationalError as e:  # another process added it meanwhile
                    if "duplicate column" not in str(e):
                        raise

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ results
    def get_done(self, keys: Iterable[ResultKey]) -> dict[ResultKey, StoredResult]:
        """The stored results among ``keys``."""
        groups: dict[tuple[str, str, str], list[str]] = {}
        for k in keys:
            groups.setdefault((k.model_sha, k.suite_hash, k.settings_hash), []).append(k.task_id)
        out: dict[ResultKey, StoredResult] = {}
        for (sha, suite, sett), ids in groups.items():
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                rows = self._db.execute(
                    "SELECT task_id, text, tool_calls, finish_reason, score, latency_s, created_at FROM results "
                    "WHERE model_sha=? AND suite_hash=? AND settings_hash=? "
                    f"AND task_id IN ({','.join('?' * len(chunk))})",
                    (sha, suite, sett, *chunk),
                ).fetchall()
                for tid, text, calls, finish, score, lat, created in rows:
                    key = ResultKey(sha, suite, tid, sett)
                    out[key] = StoredResult(
                        key, text, json.loads(calls) if calls else None, finish, json.loads(score), lat, created
                    )
        return out

    def put(self, results: Sequence[StoredResult]) -> None:
        """Store a batch in one transaction (all or nothing); an existing key is replaced."""
        if not results:
            return
        rows = [
            (
                r.key.model_sha,
                r.key.suite_hash,
                r.key.task_id,
                r.key.settings_hash,
                r.text,
                json.dumps(r.tool_calls, ensure_ascii=False) if r.tool_calls is not None else None,
                r.finish_reason,
                json.dumps(r.score, ensure_ascii=False, default=str),
                float(r.latency_s),
                r.created_at or time.time(),
            )
            for r in results
        ]
        with self._tx():
            self._db.executemany("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    def count(self, model_sha: str | None = None) -> int:
        if model_sha is None:
            return int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM results WHERE model_sha=?", (model_sha,)).fetchone()[0])

    # ------------------------------------------------------------ runs
    def start_run(self, *, model: str, model_sha: str, suites: Any, settings: Any) -> str:
        run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        with self._tx():
            self._db.execute(
                "INSERT INTO runs (run_id, model, model_sha, suites, settings, started_at, finished_at, "
                "status, summary, host, pid, pid_start) VALUES (?,?,?,?,?,?,NULL,'running',NULL,?,?,?)",
                (
                    run_id,
                    model,
                    model_sha,
                    json.dumps(suites),
                    json.dumps(settings, default=str),
                    time.time(),
                    socket.gethostname(),
                    os.getpid(),
                    process_start(os.getpid()),
                ),
            )
        return run_id

    def reap_interrupted(self) -> list[dict[str, Any]]:
        """Mark ``interrupted`` every run still ``running`` whose process is gone (same host, and the pid is
        dead or now belongs to a process started at another time); returns those runs (``run_id``,
        ``model``, ``model_sha``). Runs of another host, or written before owners were recorded, are left
        alone: this process cannot tell."""
        host = socket.gethostname()
        rows = self._db.execute(
            "SELECT run_id, model, model_sha, pid, pid_start FROM runs "
            "WHERE status='running' AND host=? AND pid IS NOT NULL",
            (host,),
        ).fetchall()
        gone = [(rid, model, sha) for rid, model, sha, pid, start in rows if not _alive(int(pid), start)]
        if gone:
            now = time.time()
            with self._tx():
                self._db.executemany(
                    "UPDATE runs SET status='interrupted', finished_at=? WHERE run_id=? AND status='running'",
                    [(now, rid) for rid, _, _ in gone],
                )
        return [{"run_id": rid, "model": model, "model_sha": sha} for rid, model, sha in gone]

    def finish_run(self, run_id: str, *, status: str, summary: Mapping[str, Any] | None) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE runs SET finished_at=?, status=?, summary=? WHERE run_id=?",
                (time.time(), status, json.dumps(summary, default=str) if summary is not None else None, run_id),
            )

    def runs(self, model: str | None = None, *, limit: int = 50) -> list[dict[str, Any]]:
        """Runs, newest first (of one model when given: matched on the name as run, or the sha)."""
        q = "SELECT * FROM runs"
        args: tuple = ()
        if model is not None:
            q += " WHERE model=? OR model_sha=?"
            args = (model, model)
        q += " ORDER BY started_at DESC, rowid DESC LIMIT ?"
        cur = self._db.execute(q.replace("SELECT *", "SELECT *, rowid"), (*args, limit))
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            d = dict(zip(names, row, strict=False))
            d.pop("rowid", None)
            for k in ("suites", "settings", "summary"):
                d[k] = json.loads(d[k]) if d[k] else None
            out.append(d)
        return out

    def latest_run(self, model: str) -> dict[str, Any] | None:
        """The newest complete (``ok``) run of ``model`` (the name as run, or the sha); failing that, the
        newest run that left a summary (an interrupted or failed one), else None."""
        runs = self.runs(model, limit=200)
        for r in runs:
            if r["status"] == "ok" and r["summary"] is not None:
                return r
        return next((r for r in runs if r["summary"] is not None), None)

    # ------------------------------------------------------------ internals
    def _tx(self):
        return _Transaction(self._db)


def process_start(pid: int) -> str | None:
    """When process ``pid`` started, as an opaque token (Linux: its start time in clock ticks since boot,
    from ``/proc``); ``"?"`` when it runs but the platform cannot say; None when no such process runs."""
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return None
        fields = stat[stat.rfind(b")") + 2 :].split()  # after "pid (comm) ": state is field 3
        return fields[19].decode() if len(fields) > 19 else "?"  # field 22: starttime
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except OSError:  # PermissionError: it exists, owned by someone else
        return "?"
    return "?"


def _alive(pid: int, started: str | None) -> bool:
    now = process_start(pid)
    return now is not None and (started in (None, "?") or now == "?" or now == started)


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
