"""The process manager: start, health wait, death and timeout errors, stop of the whole group, always."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bitagent_cli.serving.process import ManagedProcess, ServerError, free_port, group_alive, pid_alive

REPO = Path(__file__).resolve().parent.parent


def _start(script: Path, tmp_path: Path, monkeypatch, mode: str = "ok", delay: float = 0.1) -> ManagedProcess:
    monkeypatch.setenv("FAKE_MODE", mode)
    monkeypatch.setenv("FAKE_DELAY", str(delay))
    monkeypatch.setenv("FAKE_PIDS_FILE", str(tmp_path / "pids.json"))
    port = free_port()
    p = ManagedProcess(
        [sys.executable, str(script), "--port", str(port)], log_path=tmp_path / "log" / "s.log", name="fake server"
    )
    p.port = port
    return p


def _pids(tmp_path: Path, timeout: float = 10.0) -> dict:
    f = tmp_path / "pids.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError):
            time.sleep(0.02)
    raise AssertionError("the fake server never wrote its pids")


def test_free_port_is_bindable():
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_healthy_then_stopped(fake_server, tmp_path, monkeypatch):
    with _start(fake_server, tmp_path, monkeypatch) as p:
        p.wait_healthy(f"http://127.0.0.1:{p.port}/health", timeout=20)
        assert p.alive()
        assert os.getpgid(p.pid) == p.pid != os.getpgid(0)  # its own process group
    assert not p.alive() and not group_alive(p.pgid)
    assert p.stop() is not None  # idempotent


def test_dies_during_startup_reports_log_tail(fake_server, tmp_path, monkeypatch):
    with _start(fake_server, tmp_path, monkeypatch, mode="die") as p:
        with pytest.raises(ServerError) as ei:
            p.wait_healthy(f"http://127.0.0.1:{p.port}/health", timeout=20)
    msg = str(ei.value)
    assert "\n" not in msg
    assert "exited during start-up with code 3" in msg and "CUDA out of memory (fake)" in msg
    assert "fake server starting" in ei.value.log_tail


def test_never_healthy_times_out_and_kills_group(fake_server, tmp_path, monkeypatch):
    p = _start(fake_server, tmp_path, monkeypatch, mode="never").start()
    t0 = time.monotonic()
    with pytest.raises(ServerError) as ei:
        p.wait_healthy(f"http://127.0.0.1:{p.port}/health", timeout=1.5, interval=0.1)
    assert 1.4 <= time.monotonic() - t0 < 15
    assert "did not become healthy within 1.5 s" in str(ei.value) and "\n" not in str(ei.value)
    assert not p.alive()
    assert not group_alive(p.pgid)
    with pytest.raises(ProcessLookupError):  # the leader was reaped by us: no process, no group left
        os.killpg(p.pgid, 0)


def test_exception_in_with_block_stops_group_with_grandchild(fake_server, tmp_path, monkeypatch, wait_gone):
    with pytest.raises(RuntimeError, match="boom"):
        with _start(fake_server, tmp_path, monkeypatch, mode="child") as p:
            p.wait_healthy(f"http://127.0.0.1:{p.port}/health", timeout=20)
            pids = _pids(tmp_path)
            assert pids["children"] and pid_alive(pids["children"][0])
            raise RuntimeError("boom")
    assert wait_gone([pids["pid"], *pids["children"]], timeout=5)
    assert not group_alive(pids["pgid"])


def test_keyboard_interrupt_in_with_block_stops_group(fake_server, tmp_path, monkeypatch, wait_gone):
    with pytest.raises(KeyboardInterrupt):
        with _start(fake_server, tmp_path, monkeypatch, mode="child") as p:
            p.wait_healthy(f"http://127.0.0.1:{p.port}/health", timeout=20)
            pids = _pids(tmp_path)
            raise KeyboardInterrupt
    assert wait_gone([pids["pid"], *pids["children"]], timeout=5)
    assert not group_alive(pids["pgid"])


def test_sigterm_ignored_escalates_to_sigkill(fake_server, tmp_path, monkeypatch):
    p = _start(fake_server, tmp_path, monkeypatch, mode="stubborn").start()
    p.wait_healthy(f"http://127.0.0.1:{p.port}/health", timeout=20)
    t0 = time.monotonic()
    rc = p.stop(timeout=0.5)
    assert rc == -signal.SIGKILL and time.monotonic() - t0 < 5
    assert not group_alive(p.pgid)


def test_missing_executable_is_one_line(tmp_path):
    p = ManagedProcess([str(tmp_path / "no-such-binary")], log_path=tmp_path / "x.log")
    with pytest.raises(ServerError) as ei:
        p.start()
    assert "could not start" in str(ei.value) and "\n" not in str(ei.value)


# A parent process that starts a server and then is interrupted, terminated or just exits: the server's
# whole group must be gone afterwards (Ctrl-C = SIGINT -> KeyboardInterrupt in the with-block;
# SIGTERM -> our handler; plain exit without stop() -> atexit).
PARENT = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {repo!r})
    from bitagent_cli.serving.process import ManagedProcess, free_port
    port = free_port()
    p = ManagedProcess([sys.executable, {script!r}, "--port", str(port)], log_path={log!r})
    how = sys.argv[1]
    if how == "atexit":
        p.start()
        p.wait_healthy(f"http://127.0.0.1:{{port}}/health", timeout=20)
        print("READY", flush=True)
        sys.exit(0)
    with p:
        p.wait_healthy(f"http://127.0.0.1:{{port}}/health", timeout=20)
        print("READY", flush=True)
        time.sleep(60)
""")


@pytest.mark.parametrize("how", ["sigint", "sigterm", "atexit"])
def test_parent_interrupted_or_exiting_leaves_no_orphan(fake_server, tmp_path, monkeypatch, wait_gone, how):
    monkeypatch.setenv("FAKE_MODE", "child")
    monkeypatch.setenv("FAKE_PIDS_FILE", str(tmp_path / "pids.json"))
    script = tmp_path / "parent.py"
    script.write_text(PARENT.format(repo=str(REPO), script=str(fake_server), log=str(tmp_path / "srv.log")))
    parent = subprocess.Popen([sys.executable, str(script), how], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "READY"
        pids = _pids(tmp_path)
        if how != "atexit":  # (the atexit parent is already on its way out)
            assert pid_alive(pids["pid"]) and pid_alive(pids["children"][0])
        if how == "sigint":
            parent.send_signal(signal.SIGINT)
        elif how == "sigterm":
            parent.send_signal(signal.SIGTERM)
        rc = parent.wait(timeout=30)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert wait_gone([pids["pid"], *pids["children"]], timeout=5), f"orphans left after {how}"
    assert not group_alive(pids["pgid"])
    if how == "sigterm":
        assert rc == -signal.SIGTERM
    elif how == "sigint":
        assert rc != 0
    else:
        assert rc == 0
