"""A fake OpenAI-compatible server for the evaluation tests (uvicorn + FastAPI in a thread on 127.0.0.1).

    from test_eval_fakes import FakeOpenAI

It answers each task it was taught (``teach``) with a known answer: the task's first acceptable calls as
``tool_calls`` (or as pythonic text in prompt mode), or a wrong call; it counts requests, can be slow,
can refuse ``tools`` the way vLLM does without a tool parser, can fail given tasks with a status, and can
die after N requests (its socket closes: connections are refused from then on).
The tests at the bottom check the fake itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import keyword
import socket
import threading
import time
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bitagent_cli.scoring import first_acceptable
from bitagent_cli.tasks import Task

VLLM_NO_PARSER = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


def task_key(messages: list[dict[str, Any]], tool_names: list[str]) -> str:
    """What identifies a task in a request: its turns other than system ones (prompt mode changes only
    those) and the names of the tools offered."""
    turns = [m for m in messages if m.get("role") != "system"]
    return hashlib.sha256(json.dumps([turns, sorted(tool_names)], sort_keys=True).encode()).hexdigest()


def _key_of_task(t: Task) -> str:
    return task_key(list(t.messages), [x.name for x in t.tools])


def _key_of_body(body: dict[str, Any]) -> str:
    if body.get("tools"):
        names = [x["function"]["name"] for x in body["tools"]]
    else:  # prompt mode: the functions are listed as JSON at the end of the system prompt
        system = next((m["content"] for m in body["messages"] if m.get("role") == "system"), "")
        marker = "Here is a list of functions in json format that you can invoke.\n"  # bfcl-eval 2026.3.23
        names = []
        if marker in system:
            listed, _ = json.JSONDecoder().raw_decode(system.split(marker, 1)[1])
            names = [f["name"] for f in listed]
    return task_key(body["messages"], names)


def right_answer(task: Task) -> list[dict[str, Any]]:
    if task.language != "python":  # Java/JS: every argument a literal in a string
        from bitagent_cli.scoring.javalike import first_answer_call

        return [first_answer_call(task).to_openai("call_0")]
    return [c.to_openai(f"call_{i}") for i, c in enumerate(first_acceptable(task))]


def _is_probe(body: dict[str, Any]) -> bool:
    from bitagent_cli._evaluate import PROBE_MESSAGES

    return body.get("messages") == list(PROBE_MESSAGES)


WRONG = [{"id": "call_w", "type": "function", "function": {"name": "wrong_fn", "arguments": "{}"}}]


class FakeOpenAI:
    def __init__(self, *, model: str = "fake-model", delay: float = 0.0, tools_supported: bool = True):
        self.model = model
        self.delay = delay
        self.tools_supported = tools_supported
        self.answers: dict[str, list[dict[str, Any]] | str] = {}
        self.verdicts: dict[str, bool] = {}
        self.fail: dict[str, tuple[int, str]] = {}
        self.die_after: int | None = None
        self.requests = 0
        self.probes = 0
        self.probe_answer = "get_weather(city='Paris', unit='celsius')"  # what these "weights" answer the probe
        self.model_info: dict[str, Any] = {}  # more /v1/models fields (root, owned_by, ...)
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------ what it answers
    def teach(self, tasks: list[Task], correct: Any = True) -> None:
        """``correct``: True / False for all, or a predicate on the task."""
        for t in tasks:
            ok = correct(t) if callable(correct) else correct
            ok = ok and t.multi_turn is None  # one canned answer cannot play a multi-turn conversation
            key = _key_of_task(t)
            if key in self.answers:  # the suites hold a few twins (same turns and tool names): first verdict
                continue
            self.verdicts[key] = bool(ok)
            self.answers[key] = right_answer(t) if ok else WRONG

    def answers_right(self, task: Task) -> bool:
        """Whether the fake answers ``task`` right (what the scorer must find)."""
        return self.verdicts[_key_of_task(task)]

    def fail_task(self, task: Task, status: int, message: str = "boom") -> None:
        self.fail[_key_of_task(task)] = (status, message)

    # ------------------------------------------------------------ the app
    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/health")
        async def health():
            return Response(status_code=200)

        @app.get("/v1/models")
        async def models():
            return {"object": "list", "data": [{"id": self.model, "object": "model", **self.model_info}]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request):
            body = await request.json()
            if _is_probe(body):  # the evaluator's endpoint-identity probe: not a task, not counted
                self.probes += 1
                return {
                    "id": "chatcmpl-probe",
                    "object": "chat.completion",
                    "model": self.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": self.probe_answer},
                            "finish_reason": "stop",
                        }
                    ],
                }
            with self.lock:
                self.requests += 1
                n = self.requests
                self.bodies.append(body)
            if self.die_after is not None and n > self.die_after:
                self.kill()
                await asyncio.sleep(10)  # never answers: the connection is torn down
            if self.delay:
                await asyncio.sleep(self.delay)
            if body.get("tools") and not self.tools_supported:
                return JSONResponse(
                    status_code=400,
                    content={"object": "error", "message": VLLM_NO_PARSER, "type": "BadRequestError", "code": 400},
                )
            if body.get("model") != self.model:
                return JSONResponse(status_code=404, content={"error": {"message": "model not found"}})
            key = _key_of_body(body)
            if key in self.fail:
                status, msg = self.fail[key]
                return JSONResponse(status_code=status, content={"error": {"message": msg}})
            answer = self.answers.get(key, WRONG)
            message: dict[str, Any] = {"role": "assistant", "content": None}
            if isinstance(answer, str):
                message["content"] = answer
            elif "tools" in body:
                message["tool_calls"] = answer
            else:  # prompt mode: BFCL's pythonic format (a JSON list where an argument is a Python keyword)
                calls = [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in answer]
                if any(keyword.iskeyword(k) for _, args in calls for k in args):
                    message["content"] = json.dumps([{"name": n, "arguments": a} for n, a in calls])
                else:
                    message["content"] = (
                        "["
                        + ", ".join(f"{n}(" + ", ".join(f"{k}={v!r}" for k, v in a.items()) + ")" for n, a in calls)
                        + "]"
                        if calls
                        else "No function fits."
                    )
            return {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                    }
                ],
            }

        return app

    # ------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app(), log_level="critical", access_log=False, lifespan="off", timeout_graceful_shutdown=0
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        return self

    def kill(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True

    def stop(self) -> None:
        self.kill()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as srv:
        yield srv


# ---------------------------------------------------------------- the fake itself
def _post(srv: FakeOpenAI, body: dict) -> httpx.Response:
    return httpx.post(srv.base_url + "/chat/completions", json=body, timeout=10)


def test_fake_answers_taught_tasks_and_counts(fake_openai):
    from bitagent_cli.tasks.suites import load_suite

    tasks = load_suite("bfcl", category="simple", limit=2)
    fake_openai.teach(tasks[:1], True)
    fake_openai.teach(tasks[1:], False)
    tools = [t.to_openai() for t in tasks[0].tools]
    r = _post(fake_openai, {"model": "fake-model", "messages": list(tasks[0].messages), "tools": tools})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == tasks[0].expected[0].name
    r = _post(fake_openai, {"model": "fake-model", "messages": list(tasks[1].messages), "tools": tools})
    assert r.json()["choices"][0]["message"]["tool_calls"] == WRONG
    assert fake_openai.requests == 2


def test_fake_refuses_tools_like_vllm_without_parser():
    with FakeOpenAI(tools_supported=False) as srv:
        r = _post(
            srv,
            {
                "model": "fake-model",
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "function", "function": {"name": "f"}}],
            },
        )
        assert r.status_code == 400 and "tool choice" in r.text
