"""The results cache: keys, batches, runs, WAL durability under kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from bitagent_cli.store import ResultKey, ResultStore, StoredResult, default_path


def _res(
    task_id: str, *, sha: str = "sha1", suite: str = "suite1", settings: str = "set1", text: str | None = "hi"
) -> StoredResult:
    return StoredResult(
        ResultKey(sha, suite, task_id, settings),
        text,
        [{"type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
        "stop",
        {"id": task_id, "correct": True},
        0.25,
        time.time(),
    )


def test_put_and_get_done_round_trip(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.put([_res("t1"), _res("t2", text=None)])
        keys = [ResultKey("sha1", "suite1", t, "set1") for t in ("t1", "t2", "t3")]
        done = store.get_done(keys)
        assert set(done) == set(keys[:2])
        got = done[keys[0]]
        assert got.text == "hi" and got.tool_calls[0]["function"]["name"] == "f"
        assert got.finish_reason == "stop" and got.score == {"id": "t1", "correct": True}
        assert got.latency_s == 0.25
        assert done[keys[1]].text is None
        assert store.count() == 2 and store.count("sha1") == 2 and store.count("other") == 0


def test_every_key_part_matters(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.put([_res("t1")])
        for key in (
            ResultKey("sha2", "suite1", "t1", "set1"),
            ResultKey("sha1", "suite2", "t1", "set1"),
            ResultKey("sha1", "suite1", "t1", "set2"),
            ResultKey("sha1", "suite1", "t2", "set1"),
        ):
            assert store.get_done([key]) == {}


def test_put_replaces_and_get_done_handles_many_keys(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.put([_res(f"t{i}") for i in range(1500)])  # more than one SELECT chunk
        store.put([_res("t7", text="new")])
        keys = [ResultKey("sha1", "suite1", f"t{i}", "set1") for i in range(1600)]
        done = store.get_done(keys)
        assert len(done) == 1500
        assert done[keys[7]].text == "new"


def test_wal_mode_and_reopen(tmp_path):
    path = tmp_path / "sub" / "r.sqlite"
    with ResultStore(path) as store:
        store.put([_res("t1")])
    with ResultStore(path) as store:
        assert store.count() == 1
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_runs_latest_prefers_a_complete_run(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        a = store.start_run(model="m", model_sha="s", suites=[{"name": "bfcl"}], settings={"x": 1})
        store.finish_run(a, status="ok", summary={"summary": {"accuracy": 0.5}})
        time.sleep(0.01)
        b = store.start_run(model="m", model_sha="s", suites=[], settings={})
        store.finish_run(b, status="interrupted", summary={"summary": {"accuracy": 0.9}})
        time.sleep(0.01)
        store.start_run(model="m", model_sha="s", suites=[], settings={})  # still running: no summary
        assert store.latest_run("m")["run_id"] == a
        assert store.latest_run("s")["run_id"] == a  # by sha too
        assert store.latest_run("nobody") is None
        runs = store.runs("m")
        assert [r["status"] for r in runs] == ["running", "interrupted", "ok"]
        assert runs[2]["suites"] == [{"name": "bfcl"}] and runs[2]["settings"] == {"x": 1}
        c = store.start_run(model="only-partial", model_sha="p", suites=[], settings={})
        store.finish_run(c, status="error", summary={"summary": {}})
        assert store.latest_run("only-partial")["run_id"] == c  # no ok run: the newest with a summary


def test_default_path_is_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BITAGENT_PATHS_DATA_DIR", str(tmp_path / "d"))
    assert default_path() == tmp_path / "d" / "results.sqlite"
    from bitagent_cli.config import load_settings

    s = load_settings("local", {"paths.data_dir": str(tmp_path / "x")})
    assert default_path(s) == tmp_path / "x" / "results.sqlite"


def test_not_a_database_is_one_clear_error(tmp_path):
    bad = tmp_path / "r.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(sqlite3.DatabaseError, match="move it aside"):
        ResultStore(bad)


def test_batches_survive_kill_9_whole_or_not_at_all(tmp_path):
    """A writer SIGKILLed mid-stream leaves only whole batches, and the file is intact and reusable."""
    path = tmp_path / "r.sqlite"
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        sys.path.insert(0, {str(os.getcwd())!r})
        from bitagent_cli.store import ResultKey, ResultStore, StoredResult
        store = ResultStore({str(path)!r})
        for b in range(1000):
            store.put([StoredResult(ResultKey("s", "u", f"t{{b}}-{{i}}", "x"), "text" * 50, None, "stop",
                                    {{"b": b}}, 0.1, time.time()) for i in range(50)])
            if b == 7:
                print("ready", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    with ResultStore(path) as store:
        n = store.count()
        assert n >= 400 and n % 50 == 0
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store.put([_res("after")])
        assert store.count() == n + 1


def test_runs_of_a_dead_process_are_marked_interrupted_on_the_next_start(tmp_path):
    path = tmp_path / "r.sqlite"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from bitagent_cli.store import ResultStore
        print(ResultStore({str(path)!r}).start_run(model="m", model_sha="s", suites=[], settings={{}}))
    """)
    dead = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()  # exits without finishing its run, like kill -9
    with ResultStore(path) as store:
        mine = store.start_run(model="m", model_sha="s", suites=[], settings={})
        reused = store.start_run(model="m", model_sha="s", suites=[], settings={})
        elsewhere = store.start_run(model="m", model_sha="s", suites=[], settings={})
        store._db.execute("UPDATE runs SET pid_start='1' WHERE run_id=?", (reused,))  # our pid, another process
        store._db.execute("UPDATE runs SET host='another-host' WHERE run_id=?", (elsewhere,))
        reaped = store.reap_interrupted()
        assert sorted(r["run_id"] for r in reaped) == sorted([dead, reused])
        status = {r["run_id"]: r["status"] for r in store.runs()}
        assert status == {dead: "interrupted", reused: "interrupted", mine: "running", elsewhere: "running"}
        assert store.reap_interrupted() == []  # once


def test_a_file_from_before_run_owners_gets_the_columns(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, model TEXT NOT NULL, model_sha TEXT NOT NULL, "
        "suites TEXT NOT NULL, settings TEXT NOT NULL, started_at REAL NOT NULL, finished_at REAL, "
        "status TEXT NOT NULL, summary TEXT);"
        "INSERT INTO runs VALUES ('old', 'm', 's', '[]', '{}', 1.0, NULL, 'running', NULL);"
    )
    db.close()
    with ResultStore(path) as store:
        assert store.reap_interrupted() == []  # owner unknown: left alone
        new = store.start_run(model="m", model_sha="s", suites=[], settings={})
        assert {r["run_id"]: r["pid"] for r in store.runs()} == {"old": None, new: os.getpid()}
