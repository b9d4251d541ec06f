"""The validator's SQLite state: EMA, median start, one count per (step, uid), crash safety, offline queue."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from bitagent_cli.store.validator_state import QueryRecord, ValidatorState


def rec(uid, hk, score):
    return QueryRecord(uid=uid, hotkey=hk, score=score, correct=score == 1.0)


def test_wal_mode_and_reopen(tmp_path):
    p = tmp_path / "v.sqlite"
    with ValidatorState(p) as st:
        st.sync_hotkeys({0: "a"})
        st.commit_step(0, 100, [rec(0, "a", 1.0)], alpha=0.5)
    assert sqlite3.connect(p).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with ValidatorState(p) as st:
        assert st.next_step() == 1
        assert st.emas() == {"a": 0.5}


def test_ema_update_and_counts(tmp_path):
    st = ValidatorState(tmp_path / "v.sqlite")
    st.sync_hotkeys({0: "a", 1: "b"})
    assert st.emas() == {"a": 0.0, "b": 0.0}
    st.commit_step(0, 10, [rec(0, "a", 1.0), rec(1, "b", 0.0)], alpha=0.1)
    st.commit_step(1, 11, [rec(0, "a", 1.0)], alpha=0.1)
    e = st.emas()
    assert e["a"] == pytest.approx(0.1 + 0.9 * 0.1)
    assert e["b"] == 0.0
    assert st.counts()["queries"] == 3 and st.counts()["steps"] == 2
    rows = {r["hotkey"]: r for r in st.online_rows()}
    assert rows["a"]["n"] == 2 and rows["b"]["n"] == 1
    assert st.queries(hotkey="a")[-1]["ema_after"] == pytest.approx(e["a"])


def test_alpha_is_checked(tmp_path):
    st = ValidatorState(tmp_path / "v.sqlite")
    with pytest.raises(ValueError):
        st.commit_step(0, 1, [], alpha=1.5)


def test_newcomers_start_at_the_median(tmp_path):
    st = ValidatorState(tmp_path / "v.sqlite")
    assert sorted(st.sync_hotkeys({0: "a", 1: "b", 2: "c"})) == ["a", "b", "c"]
    st.commit_step(0, 1, [rec(0, "a", 1.0), rec(1, "b", 0.5), rec(2, "c", 0.0)], alpha=1.0)
    assert st.emas() == {"a": 1.0, "b": 0.5, "c": 0.0}
    # uid 2 changes hands: the new hotkey starts at the median of the scored ones still registered (a, b)
    assert st.sync_hotkeys({0: "a", 1: "b", 2: "d"}) == ["d"]
    assert st.emas()["d"] == pytest.approx(0.75)
    # known hotkeys on the same uid are not newcomers again
    assert st.sync_hotkeys({0: "a", 1: "b", 2: "d"}) == []
    # a hotkey that comes back on another uid (re-registered) is a newcomer again
    assert st.sync_hotkeys({0: "a", 1: "b", 2: "d", 3: "c"}) == ["c"]
    assert st.emas()["c"] == pytest.approx(0.75)  # d, never scored, does not count: median(1.0, 0.5)
    st.commit_step(1, 2, [rec(2, "d", 0.0)], alpha=1.0)
    assert st.sync_hotkeys({0: "a", 1: "b", 2: "d", 3: "e"}) == ["e"]
    assert st.emas()["e"] == pytest.approx(0.5)  # median(1.0, 0.5, 0.0)


def test_commit_is_once_per_step_and_once_per_uid(tmp_path):
    st = ValidatorState(tmp_path / "v.sqlite")
    st.sync_hotkeys({0: "a"})
    assert st.commit_step(5, 1, [rec(0, "a", 1.0)], alpha=0.5) is True
    assert st.commit_step(5, 1, [rec(0, "a", 1.0)], alpha=0.5) is False  # replay: nothing counted
    assert st.emas()["a"] == 0.5 and st.counts()["queries"] == 1
    # a duplicated uid inside one step counts once
    st.commit_step(6, 2, [rec(0, "a", 1.0), rec(0, "a", 1.0)], alpha=0.5)
    assert st.emas()["a"] == 0.75 and st.counts()["queries"] == 2
    assert st.next_step() == 7


def test_crash_between_writes_rolls_back_and_the_replay_counts_once(tmp_path, monkeypatch):
    p = tmp_path / "v.sqlite"
    st = ValidatorState(p)
    st.sync_hotkeys({0: "a", 1: "b"})
    st.commit_step(0, 1, [rec(0, "a", 1.0), rec(1, "b", 1.0)], alpha=0.5)
    before = (st.emas(), st.counts(), st.next_step())

    calls = {"n": 0}
    real = ValidatorState._update_ema

    def crash_on_second(db, step, r, alpha):
        calls["n"] += 1
        if calls["n"] == 2:  # first query row + its EMA are written, then the process "dies"
            raise RuntimeError("simulated crash")
        return real(db, step, r, alpha)

    monkeypatch.setattr(ValidatorState, "_update_ema", staticmethod(crash_on_second))
    with pytest.raises(RuntimeError):
        st.commit_step(1, 2, [rec(0, "a", 0.0), rec(1, "b", 0.0)], alpha=0.5)
    st.close()
    monkeypatch.setattr(ValidatorState, "_update_ema", staticmethod(real))

    st = ValidatorState(p)  # restart
    assert (st.emas(), st.counts(), st.next_step()) == before
    assert st.commit_step(1, 2, [rec(0, "a", 0.0), rec(1, "b", 0.0)], alpha=0.5) is True
    assert st.commit_step(1, 2, [rec(0, "a", 0.0), rec(1, "b", 0.0)], alpha=0.5) is False
    assert st.emas() == {"a": 0.25, "b": 0.25}
    assert st.counts()["queries"] == 4


_WRITER = textwrap.dedent("""
    import sys
    from bitagent_cli.store.validator_state import QueryRecord, ValidatorState
    st = ValidatorState(sys.argv[1])
    hks = {u: f"hk{u}" for u in range(8)}
    st.sync_hotkeys(hks)
    print("ready", flush=True)
    while True:
        s = st.next_step()
        st.commit_step(s, s, [QueryRecord(u, hk, float((s + u) % 2)) for u, hk in hks.items()], alpha=0.3)
        if s % 5 == 0:
            st.enqueue(f"sha{s}", "org/m", s)
            st.record_offline(f"sha{s}", "org/m", 0.5, "ok")
""")


@pytest.mark.timeout(60)
def test_kill_9_mid_write_loses_nothing_and_counts_nothing_twice(tmp_path):
    p = tmp_path / "v.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(p)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout.readline().strip() == b"ready"
    time.sleep(0.7)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    st = ValidatorState(p)
    steps = st.counts()["steps"]
    assert steps > 0
    # every committed step has all its query rows, and no row exists without its step
    db = sqlite3.connect(p)
    assert db.execute("SELECT COUNT(*) FROM queries WHERE step NOT IN (SELECT step FROM steps)").fetchone()[0] == 0
    assert db.execute("SELECT SUM(n_queries) FROM steps").fetchone()[0] == st.counts()["queries"] == 8 * steps
    assert st.next_step() == steps
    # each EMA equals the replay of its own query log: nothing applied twice, nothing lost
    for row in st.online_rows():
        ema = 0.0
        qs = st.queries(hotkey=row["hotkey"])
        for q in qs:
            ema = 0.3 * q["score"] + 0.7 * ema
        assert row["n"] == len(qs)
        assert row["ema"] == pytest.approx(ema)
    # the queue and results agree: nothing both queued and scored
    assert not set(q.sha for q in st.queued()) & set(st.offline_scores())


def test_offline_queue_lifecycle(tmp_path):
    st = ValidatorState(tmp_path / "v.sqlite")
    assert st.enqueue("s2", "org/b", 20) and st.enqueue("s1", "org/a", 10)
    assert not st.enqueue("s1", "org/a", 10)  # already queued
    assert st.next_queued().sha == "s1"  # oldest commitment first
    assert st.defer("s1", "oom", 3600) == 1
    assert st.next_queued().sha == "s2"  # s1 waits for its retry time
    assert st.next_queued(now=time.time() + 7200).sha == "s1"
    st.record_offline("s2", "org/b", 0.8, "ok", details={"tasks": 10})
    assert not st.enqueue("s2", "org/b", 20)  # has a result: never evaluated again
    assert st.offline_scores() == {"s2": 0.8}
    assert [q.sha for q in st.queued()] == ["s1"]
    st.dequeue("s1")
    assert st.queued() == []
    with pytest.raises(ValueError):
        st.record_offline("s3", "org/c", 0.1, "maybe")
    assert st.offline_results()[0].details == {"tasks": 10}


def test_commitments_keep_the_earliest_block(tmp_path):
    st = ValidatorState(tmp_path / "v.sqlite")
    st.observe_commitments({"a": ("org/m", "sha1", 100)})
    st.observe_commitments({"a": ("org/m", "sha1", 500)})  # re-committed later: keeps 100
    st.observe_commitments({"b": ("org/m", "sha1", 200)})
    assert st.first_seen() == {("a", "sha1"): 100, ("b", "sha1"): 200}


def test_weights_block_survives_restart(tmp_path):
    p = tmp_path / "v.sqlite"
    with ValidatorState(p) as st:
        assert st.last_weights_block() is None
        st.record_weights(1234, {3: 0.25, 7: 0.75})
    with ValidatorState(p) as st:
        assert st.last_weights_block() == 1234
        assert st.last_weights() == {3: 0.25, 7: 0.75}


def test_query_log_past_the_retention_is_rolled_up_and_emas_and_resume_are_untouched(tmp_path):
    with ValidatorState(tmp_path / "v.sqlite") as st:
        st.sync_hotkeys({0: "a", 1: "b"})
        for step in range(10):
            st.commit_step(step, 100 + step, [rec(0, "a", 1.0), QueryRecord(1, "b", 0.0, error="timeout")], alpha=0.5)
        emas = st.emas()
        assert st.prune_queries(0) == 0 and st.prune_queries(100) == 0  # keep all / nothing old enough
        assert st.prune_queries(4) == 12  # steps 0..5 go (next_step 10, the last 4 steps stay)
        assert sorted({q["step"] for q in st.queries()}) == [6, 7, 8, 9]
        assert st.rollup() == {
            "a": {"n": 6, "score_sum": 6.0, "correct": 6, "errors": 0, "first_step": 0, "last_step": 5},
            "b": {"n": 6, "score_sum": 0.0, "correct": 0, "errors": 6, "first_step": 0, "last_step": 5},
        }
        st.commit_step(10, 110, [rec(0, "a", 1.0)], alpha=0.5)
        assert st.prune_queries(4) == 2  # step 6 now; the roll-up adds up
        assert st.rollup()["a"]["n"] == 7 and st.rollup()["b"]["n"] == 7 and st.rollup()["a"]["last_step"] == 6
        c = st.counts()
        assert (c["steps"], c["queries"], c["queries_rolled_up"]) == (4, 7, 14)
        assert st.emas()["b"] == emas["b"] and st.next_step() == 11
        assert not st.commit_step(9, 109, [rec(0, "a", 1.0)], alpha=0.5)  # a replay still counts nothing


def test_checkpoint_truncates_the_wal(tmp_path):
    p = tmp_path / "v.sqlite"
    with ValidatorState(p) as st:
        st.sync_hotkeys({i: f"h{i}" for i in range(256)})
        for step in range(50):
            st.commit_step(step, step, [rec(i, f"h{i}", 0.5) for i in range(256)], alpha=0.1)
        wal = tmp_path / "v.sqlite-wal"
        assert wal.stat().st_size > 100_000
        st.maintain(10)
        assert wal.stat().st_size == 0
        assert st.size_bytes() == p.stat().st_size and st.counts()["queries"] == 10 * 256


def test_batch_is_one_transaction_all_or_nothing(tmp_path, monkeypatch):
    with ValidatorState(tmp_path / "v.sqlite") as st:
        statements = []
        st._db.set_trace_callback(statements.append)
        n = st.enqueue_many((f"sha{i}", "org/m", i) for i in range(50))
        assert n == 50 and statements.count("BEGIN IMMEDIATE") == 1
        assert st.enqueue_many((f"sha{i}", "org/m", i) for i in range(50)) == 0  # already queued
        statements.clear()
        with pytest.raises(RuntimeError), st.batch():
            st.observe_commitments({"a": ("org/m", "sha-x", 5)})
            st.enqueue("sha-x", "org/m", 5)
            raise RuntimeError("phase failed")
        assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("ROLLBACK") == 1
        assert st.first_seen() == {} and "sha-x" not in {q.sha for q in st.queued()}
