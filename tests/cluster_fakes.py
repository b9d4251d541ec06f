"""Stand-ins for the Ray cluster tests (tests/test_offline_cluster.py) and benchmarks/offline_cluster.py.

- :class:`ScriptedEvaluator`: a picklable offline evaluator whose behaviour per sha is given up front
  (``ok``, ``refused``, ``error``, ``block``: wait for a release file). Every attempt appends its pid to
  ``<root>/pids-<sha>``, so a test can see that a task runs, kill its Ray worker, and count the attempts.
  It is imported by name on the Ray workers, so this directory must be on their ``PYTHONPATH``.
- :class:`AnyModelServer`: an OpenAI-compatible server (stdlib, a thread on 127.0.0.1) that serves any model
  name, after a fixed delay per request; it answers the tasks it was taught right for model names that
  contain ``good`` and with a call to a function that does not exist for the others.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bitagent_cli.neurons.offline import OfflineOutcome


class ScriptedEvaluator:
    def __init__(
        self, root: str | Path, behaviour: dict[str, str] | None = None, default: str = "ok", score: float = 0.5
    ):
        self.root = str(root)
        self.behaviour = dict(behaviour or {})
        self.default = default
        self.score = score

    def pids(self, sha: str) -> list[int]:
        p = Path(self.root) / f"pids-{sha}"
        return [int(x) for x in p.read_text().split()] if p.exists() else []

    def release(self, sha: str) -> None:
        (Path(self.root) / f"release-{sha}").write_text("")

    def __call__(self, repo: str, sha: str, timeout_s: float) -> OfflineOutcome:
        root = Path(self.root)
        with open(root / f"pids-{sha}", "a") as f:
            f.write(f"{os.getpid()}\n")
        kind = self.behaviour.get(sha, self.default)
        if kind == "block":
            deadline = time.monotonic() + min(timeout_s, 120.0)
            while not (root / f"release-{sha}").exists():
                if time.monotonic() > deadline:
                    return OfflineOutcome(0.0, "error", "timed out (scripted)")
                time.sleep(0.05)
        if kind == "refused":
            return OfflineOutcome(0.0, "refused", "ModelRefused: 70B parameters (scripted)")
        if kind == "error":
            return OfflineOutcome(0.0, "error", "ServerError: CUDA out of memory (scripted)")
        return OfflineOutcome(self.score, "ok", None, {"tasks": 2, "correct": 1, "accuracy": self.score})


class AnyModelServer:
    """``/v1/models``, ``/health`` and ``/v1/chat/completions`` for any model name; ``delay`` s per request."""

    def __init__(self, *, delay: float = 0.0):
        self.delay = delay
        self.answers: dict[str, list[dict[str, Any]]] = {}
        self.requests = 0
        self.lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def teach(self, tasks: list[Any]) -> None:
        from test_eval_fakes import _key_of_task, right_answer

        for t in tasks:
            self.answers.setdefault(_key_of_task(t), right_answer(t))

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        from test_eval_fakes import WRONG, _key_of_body

        message: dict[str, Any] = {"role": "assistant", "content": "I cannot help with that."}
        if body.get("tools"):
            calls = self.answers.get(_key_of_body(body)) if "good" in str(body.get("model")) else WRONG
            if calls:
                message = {"role": "assistant", "content": None, "tool_calls": calls}
        return {
            "id": "chatcmpl-x",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}
            ],
        }

    def start(self) -> AnyModelServer:
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, code: int, data: Any) -> None:
                raw = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "any-model", "object": "model"}]})
                else:
                    self._send(200, {})

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                with srv.lock:
                    srv.requests += 1
                if srv.delay:
                    time.sleep(srv.delay)
                self._send(200, srv._answer(body))

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> AnyModelServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
