"""Fixtures for tests that need a model or a model server (loaded for every test by tests/conftest.py).

- ``tiny_model_dir`` (session): a tiny random Llama built offline by ``make_tiny_model``.
- ``tiny_server`` (module): that model served by the transformers backend through the real process
  manager (``start_server``); stopped at the end of the module. ``.base_url`` ends in ``/v1``.
- ``fake_server`` (function): writes the stand-in server script below and returns its path; its
  behaviour is set with environment variables (see ``FAKE_SERVER``); ``fake_vllm`` puts it on PATH
  as ``vllm``.
- ``wait_gone`` (function): ``wait_gone(pids, timeout) -> bool``, every pid exited; a zombie counts as
  exited (some container inits never reap orphans, so ``os.kill(pid, 0)`` alone is not enough; see
  ``bitagent_cli.serving.process.pid_alive`` / ``group_alive``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

# A stand-in for `vllm serve` / any model server: stdlib only, starts in ~50 ms.
# FAKE_MODE: ok (default) | die (exit 3 during start-up) | never (/health answers 503 forever) |
#            child (spawn a grandchild in the same group first) | stubborn (ignore SIGTERM) |
#            busy_once (the first start fails with "Address already in use"; FAKE_MARKER: a file path) |
#            replay (print the file FAKE_REPLAY, a recorded log, and exit 0) | replay_on_request (the same
#            on the first POST)
# FAKE_DELAY: seconds before listening; FAKE_POST_DELAY: seconds before each answer;
# FAKE_ARGV_FILE: write argv as JSON there;
# FAKE_PIDS_FILE: write {"pid", "pgid", "children"} there.
FAKE_SERVER = r"""
import http.server, json, os, signal, subprocess, sys, time

args = sys.argv[1:]
if args and args[0] == "serve":
    args = args[1:]
opts = {}
for i, a in enumerate(args):
    if a.startswith("--") and i + 1 < len(args) and not args[i + 1].startswith("--"):
        opts[a[2:]] = args[i + 1]
mode = os.environ.get("FAKE_MODE", "ok")
if os.environ.get("FAKE_ARGV_FILE"):
    with open(os.environ["FAKE_ARGV_FILE"], "w") as f:
        json.dump(sys.argv, f)
children = []
if mode == "child":
    children.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]).pid)
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.environ.get("FAKE_PIDS_FILE"):
    with open(os.environ["FAKE_PIDS_FILE"], "w") as f:
        json.dump({"pid": os.getpid(), "pgid": os.getpgid(0), "children": children}, f)
print("fake server starting", flush=True)
time.sleep(float(os.environ.get("FAKE_DELAY", "0.2")))
if mode == "die":
    print("RuntimeError: CUDA out of memory (fake)", flush=True)
    sys.exit(3)
if mode == "replay":  # print a recorded log (FAKE_REPLAY) and exit 0, as vLLM's API server did
    sys.stdout.write(open(os.environ["FAKE_REPLAY"]).read())
    sys.exit(0)
if mode == "busy_once" and not os.path.exists(os.environ["FAKE_MARKER"]):
    open(os.environ["FAKE_MARKER"], "w").close()
    print("OSError: [Errno 98] Address already in use", flush=True)
    sys.exit(1)
name = opts.get("served-model-name", "fake")

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def _send(self, code, obj=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/health":
            self._send(503 if mode == "never" else 200)
        elif self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": name, "object": "model"}]})
        else:
            self._send(404, {"error": "not found"})
    def do_POST(self):
        if mode == "replay_on_request":  # die on the first request, logging FAKE_REPLAY, exit 0 (as vLLM did)
            sys.stdout.write(open(os.environ["FAKE_REPLAY"]).read())
            sys.stdout.flush()
            os._exit(0)
        n = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        time.sleep(float(os.environ.get("FAKE_POST_DELAY", "0")))
        text = '[{"name": "get_weather", "arguments": {"city": "Paris"}}]'
        self._send(200, {"id": "x", "object": "chat.completion", "model": body.get("model"),
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                      "finish_reason": "stop"}]})

srv = http.server.ThreadingHTTPServer((opts.get("host", "127.0.0.1"), int(opts.get("port", "8000"))), H)
print("Application startup complete.", flush=True)
srv.serve_forever()
"""


def _wait_gone(pids, timeout: float = 10.0) -> bool:
    """True once every pid is gone or a zombie (polls up to ``timeout`` seconds)."""
    from bitagent_cli.serving.process import pid_alive

    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def wait_gone():
    """``wait_gone(pids, timeout=10) -> bool``: every pid exited (zombies count as exited)."""
    return _wait_gone


@pytest.fixture
def fake_server(tmp_path) -> Path:
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    return script


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch) -> Path:
    """A fake `vllm` executable first on PATH; returns the file its argv is written to."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "vllm"
    exe.write_text(f"#!{sys.executable}\n" + FAKE_SERVER)
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    argv_file = tmp_path / "vllm-argv.json"
    monkeypatch.setenv("FAKE_ARGV_FILE", str(argv_file))
    # An importable vLLM (its CPU build in .venv-vllm) would be run through its module instead of PATH.
    from bitagent_cli.serving import backends

    real = backends.importlib.util.find_spec
    monkeypatch.setattr(
        backends.importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a)
    )
    return argv_file


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from bitagent_cli.serving.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-model")


@pytest.fixture(scope="module")
def tiny_server(tiny_model_dir, tmp_path_factory):
    from bitagent_cli.serving import start_server

    logs = tmp_path_factory.mktemp("server-logs")
    with start_server(
        str(tiny_model_dir),
        backend="transformers",
        served_name="tiny-model",
        settings={"startup_timeout": 120},
        log_dir=logs,
    ) as server:
        yield server
    from bitagent_cli.serving.process import group_alive

    assert not group_alive(server.process.pgid), "the tiny server's process group outlived stop()"
