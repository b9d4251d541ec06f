"""evaluate() and `bitagent eval-model` through the real process manager: the tiny random Llama served by
the transformers backend (and the fake `vllm serve` for a server that never becomes healthy).

Covered: the README's offline command end to end (builtin:tiny), a server killed mid-run, Ctrl-C inside
the run (KeyboardInterrupt) and a real SIGINT to the CLI, a server that never becomes healthy; after
each, no server process may be left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bitagent_cli.serving as serving
from bitagent_cli._evaluate import EvalError, evaluate
from bitagent_cli.config import load_settings
from bitagent_cli.serving.process import ServerError, group_alive
from bitagent_cli.store import ResultStore, default_path

pytestmark = pytest.mark.slow


@pytest.fixture
def captured(monkeypatch):
    """Records the ModelServer that evaluate() starts."""
    servers = []
    real = serving.start_server

    def start(*a, **kw):
        s = real(*a, **kw)
        servers.append(s)
        return s

    monkeypatch.setattr(serving, "start_server", start)
    return servers


def _settings(**over):
    return load_settings("local", {"eval.startup_timeout": 180.0, **over})


def _children_matching(ppid: int, needle: str) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2 :].split()[1]) == ppid and needle in cmd:
            out.append(int(d.name))
    return out


def test_builtin_tiny_end_to_end_then_cached(run_cli):
    code, out, err = run_cli(
        "eval-model",
        "builtin:tiny",
        "--backend",
        "transformers",
        "--suite",
        "bfcl",
        "--limit",
        "6",
        "--max-tokens",
        "8",
        "--concurrency",
        "2",
        "--json",
    )
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1  # one JSON object on stdout, progress and status on stderr
    d = json.loads(lines[0])
    assert d["ok"] and d["status"] == "ok" and d["backend"] == "transformers"
    assert d["total"] == 6 and d["completed"] == 6 and d["requests"] == 6 and d["cached"] == 0
    assert d["model"] == "builtin:tiny" and d["model_sha"].startswith("local:")
    assert d["vet"]["params"] > 0 and d["vet"]["license"] == "mit"
    assert d["startup_s"] > 0 and 0.0 <= d["accuracy"] <= 1.0
    assert _children_matching(os.getpid(), "hf_server") == []
    code, out, _ = run_cli(
        "eval-model",
        "builtin:tiny",
        "--backend",
        "transformers",
        "--suite",
        "bfcl",
        "--limit",
        "6",
        "--max-tokens",
        "8",
        "--json",
    )
    d2 = json.loads(out)
    assert code == 0 and d2["cached"] == 6 and d2["requests"] == 0 and d2["accuracy"] == d["accuracy"]
    assert d2["startup_s"] is None  # nothing to ask: no server was started


def test_server_killed_mid_run(tiny_model_dir, captured):
    def progress(p):
        if p.done - p.cached >= 3 and captured and captured[0].process.alive():
            os.killpg(captured[0].process.pgid, signal.SIGKILL)

    settings = _settings()
    with pytest.raises(EvalError) as ei:
        evaluate(
            str(tiny_model_dir),
            suites=["bfcl"],
            settings=settings,
            backend="transformers",
            limit=16,
            max_tokens=48,
            concurrency=2,
            progress=progress,
        )
    rep = ei.value.report
    assert rep.status == "error" and rep.error.startswith("the model server exited")
    assert 3 <= len(rep.outcomes) < 16
    assert not group_alive(captured[0].process.pgid)
    with ResultStore(default_path(settings)) as store:
        assert store.count() == len(rep.outcomes) - sum(1 for o in rep.outcomes if o.request_error)


def test_keyboard_interrupt_inside_the_run_stops_the_server(tiny_model_dir, captured, wait_gone):
    def progress(p):
        if p.done >= 2:
            raise KeyboardInterrupt

    settings = _settings()
    with pytest.raises(KeyboardInterrupt):
        evaluate(
            str(tiny_model_dir),
            suites=["bfcl"],
            settings=settings,
            backend="transformers",
            limit=12,
            max_tokens=32,
            concurrency=2,
            progress=progress,
        )
    server = captured[0]
    assert wait_gone([server.process.pid]) and not group_alive(server.process.pgid)
    with ResultStore(default_path(settings)) as store:
        assert store.count() >= 2
        assert store.runs()[0]["status"] == "interrupted"


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["sigint", "sigterm"])
def test_sigint_to_the_cli_leaves_no_orphan(sig, code, tiny_model_dir, tmp_path, wait_gone):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bitagent_cli",
            "eval-model",
            str(tiny_model_dir),
            "--backend",
            "transformers",
            "--suite",
            "bfcl",
            "--limit",
            "40",
            "--max-tokens",
            "64",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # a shell's background job inherits SIGINT ignored: give the CLI the terminal's default back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        servers: list[int] = []
        while time.monotonic() < deadline and not servers:
            assert proc.poll() is None, proc.communicate()
            servers = _children_matching(proc.pid, "bitagent_cli.serving.hf_server")
            time.sleep(0.1)
        assert servers, "the model server never started"
        db = default_path(load_settings("local"))
        while time.monotonic() < deadline:  # wait until answers are flowing (the run is recorded first)
            if db.exists():
                with ResultStore(db) as store:
                    if store.runs() and store.count() > 0:
                        break
            time.sleep(0.2)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, (out, err)
    assert ("interrupted" if sig == signal.SIGINT else "terminated (SIGTERM)") in err
    assert wait_gone(servers), "the model server outlived the CLI"
    with ResultStore(db) as store:
        assert store.runs()[0]["status"] == "interrupted" and store.count() > 0


@pytest.mark.parametrize("gpu", [True, False], ids=["gpu", "cpu"])
def test_server_that_never_becomes_healthy(gpu, tiny_model_dir, fake_vllm, tmp_path, monkeypatch, wait_gone):
    import bitagent_cli.serving.backends as backends

    monkeypatch.setattr(backends, "gpu_available", lambda: gpu)
    pids_file = tmp_path / "pids.json"
    monkeypatch.setenv("FAKE_MODE", "never")
    monkeypatch.setenv("FAKE_PIDS_FILE", str(pids_file))
    settings = _settings(**{"eval.startup_timeout": 2.0})
    t0 = time.monotonic()
    with pytest.raises(ServerError, match="health"):
        evaluate(str(tiny_model_dir), suites=["bfcl"], settings=settings, backend="vllm", limit=4)
    assert time.monotonic() - t0 < 30
    pids = json.loads(pids_file.read_text())
    assert wait_gone([pids["pid"]]) and not group_alive(pids["pgid"])
    with ResultStore(default_path(settings)) as store:
        run = store.runs()[0]
        assert run["status"] == "error" and store.count() == 0
        if gpu:
            assert run["settings"]["concurrency"] == 256  # vLLM's default batch when nothing sets eval.concurrency
            assert run["settings"]["request_timeout"] == 120.0
        else:  # vLLM's CPU build: its small batch kept full, and requests that may take minutes
            assert run["settings"]["concurrency"] == backends.CPU_VLLM_CONCURRENCY == 8
            assert run["settings"]["request_timeout"] == backends.CPU_VLLM_REQUEST_TIMEOUT
        argv = json.loads(fake_vllm.read_text())
        assert ("--enforce-eager" in argv) is not gpu and ("--gpu-memory-utilization" in argv) is gpu
