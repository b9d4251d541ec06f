"""The validator's state in one SQLite file (WAL): online EMAs, the query log, offline results and queue.

Crash safety comes from two rules:

* every logical change is one transaction (a step's query rows, the EMA updates they cause and the
  step's own row are written together or not at all), and
* a step is committed at most once: ``steps.step`` is the primary key and ``queries`` is keyed by
  ``(step, uid)``, so a step replayed after a restart, or a commit retried after an error, counts
  nothing twice.

A ``kill -9`` at any point therefore leaves either the state before the step or the state after it.
The offline queue lives here too, so a model being evaluated when the process dies is evaluated again
after the restart, and a result already recorded is never evaluated again.

Tables (all keyed by hotkey or sha, never by uid alone: uids are reused on deregistration):

``online(hotkey, uid, ema, n, first_step, updated_step)``
``steps(step, block, task_id, n_queries, committed_at)``
``queries(step, uid, hotkey, task_id, category, score, correct, error, latency_s, ema_after, ts)``
``offline(sha, repo, score, status, error, attempts, evaluated_at, details, fingerprint)`` -- fingerprint:
the weights' identity (``serving.vetting.weights_fingerprint``), NULL when unknown
``offline_queue(sha, repo, first_block, enqueued_at, attempts, not_before, last_error)``
``commit_seen(hotkey, sha, repo, first_block)``  -- the earliest block each (hotkey, sha) was seen
``query_rollup(hotkey, n, score_sum, correct, errors, first_step, last_step)``  -- per-hotkey totals of the
query rows pruned from ``queries``
``meta(key, value)``  -- ``next_step``, ``last_weights_block``, ``schema_version``

Over months the file stays bounded: :meth:`ValidatorState.maintain` rolls ``queries`` and ``steps`` rows
older than the retention (``validator.query_log_days``) up into ``query_rollup`` (the EMAs live in
``online`` and resuming needs only ``next_step``, so neither reads old rows) and truncates the WAL.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import threading
import time
from collections.abc import Container, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "OfflineRecord", "QueryRecord", "QueueItem", "ValidatorState"]

SCHEMA_VERSION = 1

#: Offline result statuses. ``ok``: evaluated (``error`` names the budgets the model's own conversations
#: spent, if any: those tasks are 0 in the score); ``refused``: the miner's fault, final, never retried
#: (refused at vetting, or an evaluation cut short by its time or a dead child after the model's conversations
#: spent their budgets: ``details["fault"] == "model"``; ``error`` says why); ``failed``: evaluation kept
#: failing on our side (GPU, disk, our bug) and the attempts ran out (final, score 0).
OFFLINE_STATUSES = ("ok", "refused", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS online(
    hotkey TEXT PRIMARY KEY, uid INTEGER, ema REAL NOT NULL, n INTEGER NOT NULL DEFAULT 0,
    first_step INTEGER, updated_step INTEGER);
CREATE TABLE IF NOT EXISTS steps(
    step INTEGER PRIMARY KEY, block INTEGER, task_id TEXT, n_queries INTEGER NOT NULL, committed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS queries(
    step INTEGER NOT NULL, uid INTEGER NOT NULL, hotkey TEXT NOT NULL, task_id TEXT, category TEXT,
    score REAL NOT NULL, correct INTEGER, error TEXT, latency_s REAL, ema_after REAL, ts REAL NOT NULL,
    PRIMARY KEY(step, uid));
CREATE INDEX IF NOT EXISTS queries_hotkey ON queries(hotkey);
CREATE TABLE IF NOT EXISTS offline(
    sha TEXT PRIMARY KEY, repo TEXT NOT NULL, score REAL NOT NULL, status TEXT NOT NULL, error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, evaluated_at REAL NOT NULL, details TEXT, fingerprint TEXT);
CREATE TABLE IF NOT EXISTS offline_queue(
    sha TEXT PRIMARY KEY, repo TEXT NOT NULL, first_block INTEGER, enqueued_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, not_before REAL NOT NULL DEFAULT 0, last_error TEXT);
CREATE TABLE IF NOT EXISTS commit_seen(
    hotkey TEXT NOT NULL, sha TEXT NOT NULL, repo TEXT NOT NULL, first_block INTEGER NOT NULL,
    PRIMARY KEY(hotkey, sha));
CREATE TABLE IF NOT EXISTS query_rollup(
    hotkey TEXT PRIMARY KEY, n INTEGER NOT NULL, score_sum REAL NOT NULL, correct INTEGER NOT NULL,
    errors INTEGER NOT NULL, first_step INTEGER, last_step INTEGER);
"""

#: The WAL is truncated to this size after a checkpoint (SQLite otherwise keeps its largest size).
_WAL_LIMIT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class QueryRecord:
    """One miner's answer to one online task, as scored."""

    uid: int
    hotkey: str
    score: float
    correct: bool = False
    error: str | None = None
    latency_s: float | None = None
    task_id: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class QueueItem:
    sha: str
    repo: str
    first_block: int | None
    attempts: int
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class OfflineRecord:
    sha: str
    repo: str
    score: float
    status: str
    error: str | None
    attempts: int
    evaluated_at: float
    details: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha": self.sha,
            "repo": self.repo,
            "score": self.score,
            "status": self.status,
            "error": self.error,
            "attempts": self.attempts,
            "evaluated_at": self.evaluated_at,
            "details": self.details,
            "fingerprint": self.fingerprint,
        }


def _add_fingerprint_column(db: sqlite3.Connection) -> None:
    """States written before fingerprints: add the (nullable) column; older readers ignore it."""
    if "fingerprint" not in {r[1] for r in db.execute("PRAGMA table_info(offline)")}:
        db.execute("ALTER TABLE offline ADD COLUMN fingerprint TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS offline_fingerprint ON offline(fingerprint)")


class ValidatorState:
    """Thread-safe access to the validator's SQLite state (one connection, one lock).

    The main loop and the offline worker thread share one object; every public method is one
    transaction.
    """

    def __init__(self, path: str | Path, *, synchronous: str = "FULL"):
        """``synchronous``: SQLite's setting; FULL (the default) survives a power cut, NORMAL and OFF only
        a process crash (they spare the fsync per transaction: simulations and benchmarks)."""
        if synchronous not in ("FULL", "NORMAL", "OFF"):
            raise ValueError(f"synchronous must be FULL, NORMAL or OFF, got {synchronous!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
        self._depth = 0  # transactions open on this connection (batch() nests the public methods in one)
        with self._tx() as db:
            # one statement at a time: executescript() would commit the open transaction
            for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                db.execute(stmt)
            _add_fingerprint_column(db)
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta(key, value) VALUES('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row["value"]) > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: state written by a newer bitagent (schema {row['value']}); "
                    f"upgrade bitagent or move the file away."
                )

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed on success, rolled back on any exception. Inside
        :meth:`batch` it joins the batch's transaction instead."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
            except BaseException:
                self._depth = 0
                self._db.execute("ROLLBACK")
                raise
            else:
                self._depth = 0
                self._db.execute("COMMIT")

    @contextmanager
    def batch(self) -> Iterator[ValidatorState]:
        """Run several of this object's methods as one transaction (one validator phase, one commit):
        all of it is written, or none of it when anything raises."""
        with self._tx():
            yield self

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ValidatorState:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _get_meta(self, db: sqlite3.Connection, key: str) -> str | None:
        row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else row["value"]

    @staticmethod
    def _set_meta(db: sqlite3.Connection, key: str, value: Any) -> None:
        db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, str(value)),
        )

    # ------------------------------------------------------------------ meta
    def next_step(self) -> int:
        with self._lock:
            v = self._get_meta(self._db, "next_step")
        return int(v) if v is not None else 0

    def last_weights_block(self) -> int | None:
        with self._lock:
            v = self._get_meta(self._db, "last_weights_block")
        return int(v) if v is not None else None

    def record_weights(self, block: int, weights: Mapping[int, float]) -> None:
        with self._tx() as db:
            self._set_meta(db, "last_weights_block", int(block))
            self._set_meta(db, "last_weights", json.dumps({str(k): v for k, v in weights.items()}))

    def last_weights(self) -> dict[int, float]:
        with self._lock:
            v = self._get_meta(self._db, "last_weights")
        return {int(k): float(w) for k, w in json.loads(v).items()} if v else {}

    # ------------------------------------------------------------------ online
    def sync_hotkeys(self, uid_hotkeys: Mapping[int, str], step: int | None = None) -> list[str]:
        """Record the metagraph's ``uid -> hotkey``; return the hotkeys that are newcomers.

        A newcomer is a hotkey never seen, or seen on another uid (re-registered). It starts at the
        median EMA of the registered hotkeys already scored at least once (validators and miners never
        queried do not drag it down); 0.0 when there are none.
        """
        step = self.next_step() if step is None else step
        with self._tx() as db:
            known = {r["hotkey"]: r for r in db.execute("SELECT hotkey, uid, ema, n FROM online")}
            present = [
                known[hk]["ema"]
                for uid, hk in uid_hotkeys.items()
                if hk in known and known[hk]["uid"] == uid and known[hk]["n"] > 0
            ]
            start = float(statistics.median(present)) if present else 0.0
            newcomers = []
            for uid, hk in uid_hotkeys.items():
                row = known.get(hk)
                if row is not None and row["uid"] == uid:
                    continue
                newcomers.append(hk)
                db.execute(
                    "INSERT INTO online(hotkey, uid, ema, n, first_step, updated_step) VALUES(?, ?, ?, 0, ?, NULL) "
                    "ON CONFLICT(hotkey) DO UPDATE SET uid=excluded.uid, ema=excluded.ema, n=0, "
                    "first_step=excluded.first_step, updated_step=NULL",
                    (hk, int(uid), start, step),
                )
        return newcomers

    def emas(self) -> dict[str, float]:
        with self._lock:
            return {r["hotkey"]: float(r["ema"]) for r in self._db.execute("SELECT hotkey, ema FROM online")}

    def online_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute("SELECT * FROM online ORDER BY uid")]

    def commit_step(
        self, step: int, block: int | None, records: Iterable[QueryRecord], *, alpha: float, task_id: str | None = None
    ) -> bool:
        """Write a step's query log and fold its scores into the EMAs, at most once per step.

        Returns False (and changes nothing) when the step was already committed. A query row whose
        ``(step, uid)`` is already present is not counted again.
        """
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be within [0, 1], got {alpha}")
        records = list(records)
        now = time.time()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM steps WHERE step=?", (step,)).fetchone() is not None:
                return False
            counted = 0
            for r in records:
                cur = db.execute(
                    "INSERT OR IGNORE INTO queries(step, uid, hotkey, task_id, category, score, correct, error, "
                    "latency_s, ts) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        step,
                        r.uid,
                        r.hotkey,
                        r.task_id or task_id,
                        r.category,
                        float(r.score),
                        int(bool(r.correct)),
                        r.error,
                        r.latency_s,
                        now,
                    ),
                )
                if cur.rowcount != 1:
                    continue
                counted += 1
                ema = self._update_ema(db, step, r, alpha)
                db.execute("UPDATE queries SET ema_after=? WHERE step=? AND uid=?", (ema, step, r.uid))
            db.execute(
                "INSERT INTO steps(step, block, task_id, n_queries, committed_at) VALUES(?, ?, ?, ?, ?)",
                (step, block, task_id, counted, now),
            )
            self._set_meta(db, "next_step", max(step + 1, int(self._get_meta(db, "next_step") or 0)))
        return True

    @staticmethod
    def _update_ema(db: sqlite3.Connection, step: int, r: QueryRecord, alpha: float) -> float:
        row = db.execute("SELECT ema FROM online WHERE hotkey=?", (r.hotkey,)).fetchone()
        if row is None:  # queried before any sync recorded it: start from the score itself
            ema = float(r.score)
            db.execute(
                "INSERT INTO online(hotkey, uid, ema, n, first_step, updated_step) VALUES(?, ?, ?, 1, ?, ?)",
                (r.hotkey, r.uid, ema, step, step),
            )
            return ema
        ema = alpha * float(r.score) + (1.0 - alpha) * float(row["ema"])
        db.execute("UPDATE online SET ema=?, n=n+1, updated_step=? WHERE hotkey=?", (ema, step, r.hotkey))
        return ema

    def step_committed(self, step: int) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM steps WHERE step=?", (step,)).fetchone() is not None

    def queries(self, *, hotkey: str | None = None, step: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM queries"
        args: list[Any] = []
        where = []
        if hotkey is not None:
            where.append("hotkey=?")
            args.append(hotkey)
        if step is not None:
            where.append("step=?")
            args.append(step)
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            return [dict(r) for r in self._db.execute(sql + " ORDER BY step, uid", args)]

    def counts(self) -> dict[str, int]:
        """Rows in each table; ``queries_rolled_up`` counts the query rows pruned into ``query_rollup``."""
        with self._lock:
            one = lambda sql: int(self._db.execute(sql).fetchone()[0])
            return {
                "steps": one("SELECT COUNT(*) FROM steps"),
                "queries": one("SELECT COUNT(*) FROM queries"),
                "queries_rolled_up": one("SELECT COALESCE(SUM(n), 0) FROM query_rollup"),
                "hotkeys": one("SELECT COUNT(*) FROM online"),
                "offline_results": one("SELECT COUNT(*) FROM offline"),
                "offline_queued": one("SELECT COUNT(*) FROM offline_queue"),
            }

    # ------------------------------------------------------------------ upkeep
    def prune_queries(self, keep_steps: int) -> int:
        """Roll the ``queries`` rows of steps older than the last ``keep_steps`` up into ``query_rollup``
        (per hotkey: count, score sum, correct, errors, first and last step) and delete them and their
        ``steps`` rows, in one transaction; returns the query rows pruned. ``keep_steps <= 0``: keep all."""
        if keep_steps <= 0:
            return 0
        with self._tx() as db:
            cutoff = int(self._get_meta(db, "next_step") or 0) - int(keep_steps)
            if cutoff <= 0:
                return 0
            db.execute(
                "INSERT INTO query_rollup(hotkey, n, score_sum, correct, errors, first_step, last_step) "
                "SELECT hotkey, COUNT(*), SUM(score), SUM(correct), SUM(error IS NOT NULL), MIN(step), MAX(step) "
                "FROM queries WHERE step < ? GROUP BY hotkey "
                "ON CONFLICT(hotkey) DO UPDATE SET n=n+excluded.n, score_sum=score_sum+excluded.score_sum, "
                "correct=correct+excluded.correct, errors=errors+excluded.errors, "
                "first_step=MIN(first_step, excluded.first_step), last_step=MAX(last_step, excluded.last_step)",
                (cutoff,),
            )
            pruned = db.execute("DELETE FROM queries WHERE step < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM steps WHERE step < ?", (cutoff,))
        return int(pruned)

    def rollup(self) -> dict[str, dict[str, Any]]:
        """``hotkey -> {n, score_sum, correct, errors, first_step, last_step}`` of the pruned query rows."""
        with self._lock:
            return {
                r["hotkey"]: {k: r[k] for k in r.keys() if k != "hotkey"}
                for r in self._db.execute("SELECT * FROM query_rollup")
            }

    def checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it to zero bytes (a no-op while a reader holds it)."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def maintain(self, keep_steps: int) -> int:
        """:meth:`prune_queries` then :meth:`checkpoint`; returns the query rows pruned."""
        pruned = self.prune_queries(keep_steps)
        self.checkpoint()
        return pruned

    def size_bytes(self) -> int:
        """The state's size on disk: the database file plus its WAL."""
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(p.stat().st_size for p in (self.path, wal) if p.exists())

    # ------------------------------------------------------------------ commitments
    def observe_commitments(self, commitments: Mapping[str, tuple[str, str, int]]) -> None:
        """Record ``hotkey -> (repo, sha, block)``, keeping the earliest block seen per (hotkey, sha).

        A miner that commits the same sha again (a newer block) keeps its original priority.
        """
        with self._tx() as db:
            seen = {
                (r["hotkey"], r["sha"]): int(r["first_block"])
                for r in db.execute("SELECT hotkey, sha, first_block FROM commit_seen")
            }
            for hk, (repo, sha, block) in commitments.items():
                if seen.get((hk, sha), int(block) + 1) <= int(block):
                    continue  # known, and from an earlier block: nothing to write (the common case)
                db.execute(
                    "INSERT INTO commit_seen(hotkey, sha, repo, first_block) VALUES(?, ?, ?, ?) "
                    "ON CONFLICT(hotkey, sha) DO UPDATE SET first_block=MIN(first_block, excluded.first_block)",
                    (hk, sha, repo, int(block)),
                )

    def first_seen(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return {
                (r["hotkey"], r["sha"]): int(r["first_block"])
                for r in self._db.execute("SELECT hotkey, sha, first_block FROM commit_seen")
            }

    # ------------------------------------------------------------------ offline
    def enqueue(self, sha: str, repo: str, first_block: int | None = None) -> bool:
        """Queue a model for offline evaluation unless it has a result or is queued; True if queued now."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM offline WHERE sha=?", (sha,)).fetchone() is not None:
                return False
            cur = db.execute(
                "INSERT OR IGNORE INTO offline_queue(sha, repo, first_block, enqueued_at) VALUES(?, ?, ?, ?)",
                (sha, repo, first_block, time.time()),
            )
            return cur.rowcount == 1

    def enqueue_many(self, items: Iterable[tuple[str, str, int | None]]) -> int:
        """:meth:`enqueue` for each ``(sha, repo, first_block)`` in one transaction; returns how many were
        queued now (those with a result or already queued are skipped)."""
        items = list(items)
        if not items:
            return 0
        queued = 0
        with self._tx() as db:
            known = {r[0] for r in db.execute("SELECT sha FROM offline UNION ALL SELECT sha FROM offline_queue")}
            for sha, repo, first_block in items:
                if sha not in known:  # scored or queued already: skipped without a statement
                    queued += self.enqueue(sha, repo, first_block)
        return queued

    def next_queued(self, now: float | None = None, exclude: Container[str] = ()) -> QueueItem | None:
        """The oldest queued model (by commitment block) that is due now and not in ``exclude`` (the shas a
        cluster driver has in flight; the scan is bounded by the queue's length)."""
        now = time.time() if now is None else now
        with self._lock:
            cur = self._db.execute(
                "SELECT * FROM offline_queue WHERE not_before <= ? "
                "ORDER BY first_block IS NULL, first_block, enqueued_at",
                (now,),
            )
            r = next((row for row in cur if row["sha"] not in exclude), None)
            cur.close()
        if r is None:
            return None
        return QueueItem(r["sha"], r["repo"], r["first_block"], int(r["attempts"]), r["last_error"])

    def queued(self) -> list[QueueItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM offline_queue ORDER BY first_block IS NULL, first_block, enqueued_at"
            ).fetchall()
        return [QueueItem(r["sha"], r["repo"], r["first_block"], int(r["attempts"]), r["last_error"]) for r in rows]

    def defer(self, sha: str, error: str, delay_s: float) -> int:
        """Count a failed attempt (our side) and retry after ``delay_s``; returns the attempts so far."""
        with self._tx() as db:
            db.execute(
                "UPDATE offline_queue SET attempts=attempts+1, not_before=?, last_error=? WHERE sha=?",
                (time.time() + delay_s, error[:500], sha),
            )
            r = db.execute("SELECT attempts FROM offline_queue WHERE sha=?", (sha,)).fetchone()
        return int(r["attempts"]) if r else 0

    def dequeue(self, sha: str) -> None:
        """Take a model off the queue without a result (nobody commits it any more)."""
        with self._tx() as db:
            db.execute("DELETE FROM offline_queue WHERE sha=?", (sha,))

    def record_offline(
        self,
        sha: str,
        repo: str,
        score: float,
        status: str,
        *,
        error: str | None = None,
        attempts: int = 1,
        details: Mapping[str, Any] | None = None,
        fingerprint: str | None = None,
    ) -> None:
        """Store a final offline result and take the model off the queue (one transaction)."""
        if status not in OFFLINE_STATUSES:
            raise ValueError(f"status must be one of {OFFLINE_STATUSES}, got {status!r}")
        with self._tx() as db:
            db.execute(
                "INSERT INTO offline(sha, repo, score, status, error, attempts, evaluated_at, details, fingerprint) "
                "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha) DO UPDATE SET repo=excluded.repo, "
                "score=excluded.score, status=excluded.status, error=excluded.error, attempts=excluded.attempts, "
                "evaluated_at=excluded.evaluated_at, details=excluded.details, fingerprint=excluded.fingerprint",
                (
                    sha,
                    repo,
                    float(score),
                    status,
                    error,
                    attempts,
                    time.time(),
                    json.dumps(dict(details or {})),
                    fingerprint or None,
                ),
            )
            db.execute("DELETE FROM offline_queue WHERE sha=?", (sha,))

    def fingerprints(self) -> dict[str, str]:
        """``sha -> weights fingerprint`` of every offline result that has one (copies share a fingerprint)."""
        with self._lock:
            return {
                r["sha"]: r["fingerprint"]
                for r in self._db.execute(
                    "SELECT sha, fingerprint FROM offline WHERE fingerprint IS NOT NULL AND fingerprint != ''"
                )
            }

    def unfingerprinted(self) -> OfflineRecord | None:
        """The oldest final result whose fingerprint was never looked up (NULL; ``''`` = looked up, unknown)."""
        with self._lock:
            r = self._db.execute(
                "SELECT * FROM offline WHERE fingerprint IS NULL AND status IN ('ok', 'refused') "
                "ORDER BY evaluated_at, sha LIMIT 1"
            ).fetchone()
        return None if r is None else self._record(r)

    def set_fingerprint(self, sha: str, fingerprint: str | None) -> None:
        """Record a result's fingerprint after the fact (``None`` is stored as ``''``: looked up, unknown)."""
        with self._tx() as db:
            db.execute("UPDATE offline SET fingerprint=? WHERE sha=?", (fingerprint or "", sha))

    def offline_by_fingerprint(self, fingerprint: str) -> OfflineRecord | None:
        """The first final result (``ok`` or ``refused``) recorded for these weights under any sha, if any."""
        with self._lock:
            r = self._db.execute(
                "SELECT * FROM offline WHERE fingerprint=? AND status IN ('ok', 'refused') "
                "ORDER BY evaluated_at, sha LIMIT 1",
                (fingerprint,),
            ).fetchone()
        return None if r is None else self._record(r)

    @staticmethod
    def _record(r: sqlite3.Row) -> OfflineRecord:
        return OfflineRecord(
            r["sha"],
            r["repo"],
            float(r["score"]),
            r["status"],
            r["error"],
            int(r["attempts"]),
            float(r["evaluated_at"]),
            json.loads(r["details"] or "{}"),
            r["fingerprint"] or None,
        )

    def offline_scores(self) -> dict[str, float]:
        with self._lock:
            return {r["sha"]: float(r["score"]) for r in self._db.execute("SELECT sha, score FROM offline")}

    def offline_results(self) -> list[OfflineRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM offline ORDER BY evaluated_at").fetchall()
        return [self._record(r) for r in rows]
