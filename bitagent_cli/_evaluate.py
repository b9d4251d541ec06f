"""The evaluation pipeline behind ``bitagent eval-model`` and the validator's offline score.

``evaluate(model, suites=[...], settings=...)``:

1. load the tasks (``--suite``, ``--category``, ``--limit`` per suite, ``--seed``); bad names fail here,
   before anything is downloaded or started;
2. resolve and vet the model (``builtin:tiny`` is built into the data dir on first use; an endpoint's
   model that is neither a hub id nor a directory is not vetted and is keyed by its name plus what the
   server reports, ``endpoint_identity``: its ``/v1/models`` entry and its answer to a fixed probe);
3. skip what the results cache already holds for (model sha, suite hash, task id, settings hash);
   when nothing is left, no server is started at all;
4. start the server (or attach to the endpoint) and send the rest concurrently (asyncio + httpx,
   ``concurrency`` requests in flight, a timeout per request), score each answer with
   ``scoring.score_task`` and store it in batches; a multi-turn task is a whole conversation
   (``multiturn.run_multi_turn``: its calls run on a worker thread under the conversation's budgets and time
   limit, so the other workers go on; a spent budget is the model's 0 on that task, ``budget_exceeded``,
   counted in ``EvalReport.model_faults`` and ``Progress.faults``, never an error of the run);
5. summarise per suite and category, list the failures (id, error, feedback, output).

A run where no task was answered (every request failed, e.g. an endpoint answering 500) is an error
naming the first request's error. A server that dies, or stops answering, ends the run at once: what was
answered is stored, the remaining tasks are not sent, and :class:`EvalError` is raised carrying the partial
report (a rerun resumes). Ctrl-C (``KeyboardInterrupt``) stores what was answered, records the run as interrupted and
propagates; the server's context manager stops it on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import BitagentError, InvalidArgument
from .multiturn import multi_turn_data, run_multi_turn, score_conversation, stored_budget
from .scoring import RULES, Response, ScoreResult, score_task, summarise
from .serving.client import Completion, chat, client_pool
from .store.results import ResultKey, ResultStore, StoredResult, default_path
from .tasks import Task
from .tasks.suites import suite_info

__all__ = ["BUILTIN_TINY", "EvalError", "EvalReport", "Progress", "TaskOutcome", "evaluate", "settings_hash"]

log = logging.getLogger(__name__)

#: Bumped when the way requests are built changes, so cached answers to the old requests are not reused.
#: 2: prompt mode sends bfcl-eval 2026.3.23's system prompt and function documents byte for byte.
REQUEST_PROTOCOL = 2

#: ``eval.generation``: the sampling settings of a run (docs/serving.md). ``bitagent``: greedy, temperature 0,
#: ``eval.max_tokens`` (512). ``bfcl``: what bfcl-eval 2026.3.23 asks of a model (``bfcl generate``'s default
#: ``--temperature 0.001``; its OSS handler's ``max_tokens = min(4096, context - prompt tokens - 2)``, which
#: vLLM and our server reach by capping 4,096 at the context left; no other sampling parameter).
GENERATIONS: dict[str, dict[str, Any]] = {
    "bitagent": {"temperature": 0.0, "max_tokens": None},
    "bfcl": {"temperature": 0.001, "max_tokens": 4096},
}
from .serving.resolve import BUILTIN_SMOLLM2, BUILTIN_TINY  # noqa: E402,F401 - the builtin models

#: Our transformers server generates one request at a time; more in flight only queue (and time out).
TRANSFORMERS_MAX_CONCURRENCY = 4
#: Requests in flight for vLLM when neither a flag, env var nor profile sets eval.concurrency: vLLM's default
#: --max-num-seqs, so its whole batch stays busy (benchmarks/harness.py measures this setting).
VLLM_DEFAULT_CONCURRENCY = 256
#: BFCL's ``underscore_to_dot`` for what this client sends: it rewrites ``.`` in tool names as ``_`` for the API
#: models that forbid dots, and then judges the ``_`` spelling right and the dotted one wrong. Our client sends
#: every tool name as it is (``serving/client.py`` ``request_body``: ``Tool.to_openai``, and the prompt-mode
#: function list), so under ``--rules bfcl`` the spelling BFCL would accept is the dotted one: off.
UNDERSCORE_TO_DOT = False
#: Connections per httpx client for remote endpoints. httpcore's pool does O(connections x waiting
#: requests) work per request: at 256 connections in one pool that is ~20 ms a request (measured), in
#: pools of 8 it is ~0.7 ms. Servers on this machine get one bare transport per worker (~0.5 ms).
_CONNECTIONS_PER_CLIENT = 8
_FLUSH_EVERY = 64
_FLUSH_SECONDS = 1.0
_OUTPUT_CHARS = 2000


class EvalError(BitagentError):
    """A run that could not finish (server died, stopped answering, refused every request).

    ``report`` is the partial report: what was answered is in it and in the cache."""

    def __init__(self, message: str, report: EvalReport | None = None):
        super().__init__(message)
        self.message = message
        self.report = report

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------- results
@dataclass(slots=True)
class TaskOutcome:
    """One task's verdict, with the raw answer it was given for."""

    suite: str
    id: str
    category: str
    correct: bool
    score: float
    error: str | None  # the scorer's error code, or "no_response" when the request failed
    feedback: str
    latency_s: float
    cached: bool
    text: str | None = None
    tool_calls: list | None = None
    request_error: str | None = None
    result: ScoreResult | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "id": self.id,
            "category": self.category,
            "correct": self.correct,
            "score": self.score,
            "error": self.error,
            "feedback": self.feedback,
            "latency_s": round(self.latency_s, 4),
            "cached": self.cached,
            "request_error": self.request_error,
            "output": _output_text(self.text, self.tool_calls),
        }


def _output_text(text: str | None, tool_calls: list | None, limit: int = _OUTPUT_CHARS) -> str:
    parts = []
    if tool_calls:
        parts.append(json.dumps(tool_calls, ensure_ascii=False)[:limit])
    if text:
        parts.append(text[:limit])
    out = "\n".join(parts)
    return out if len(out) <= limit else out[:limit] + "…"


#: The error of a task the model lost by its own fault (multi-turn budgets): counted in ``model_faults``.
MODEL_FAULT = "budget_exceeded"


@dataclass(slots=True)
class Progress:
    """What the progress callback sees after each task."""

    done: int
    total: int
    correct: int
    errors: int
    cached: int
    elapsed_s: float
    #: Tasks the model lost by its own fault so far (a conversation that spent a budget: ``model_faults``).
    faults: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.done if self.done else 0.0

    @property
    def rate(self) -> float:
        """Tasks answered by the model per second (cached ones excluded)."""
        sent = self.done - self.cached
        return sent / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class EvalReport:
    model: str
    model_sha: str
    backend: str
    suites: list[dict[str, Any]]
    settings: dict[str, Any]
    settings_hash: str
    total: int
    outcomes: list[TaskOutcome] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    by_suite: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: str = "ok"  # ok | error | interrupted
    error: str | None = None
    served_model: str | None = None
    vet: dict[str, Any] | None = None
    prompt_mode: bool = False
    startup_s: float | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    requests: int = 0
    run_id: str | None = None
    store_path: str | None = None
    resumed_run: str | None = None  # the interrupted run of this model this one picked up from
    #: What an attached endpoint reported (``endpoint_identity``); its hash is part of the cache key.
    endpoint: dict[str, Any] | None = None
    #: (suite, task id) -> Task, for the HTML report's failure details (prompt, tools, expected call).
    task_index: dict[tuple[str, str], Task] = field(default_factory=dict, repr=False)

    # the fields the validator and scripts read
    @property
    def tasks(self) -> int:
        return int(self.summary.get("tasks", 0))

    @property
    def correct(self) -> int:
        return int(self.summary.get("correct", 0))

    @property
    def accuracy(self) -> float:
        return float(self.summary.get("accuracy", 0.0))

    @property
    def by_category(self) -> dict[str, Any]:
        return dict(self.summary.get("by_category", {}))

    @property
    def fingerprint(self) -> str | None:
        """The weights' fingerprint (``serving.vetting.weights_fingerprint``); None for endpoints not vetted."""
        return (self.vet or {}).get("fingerprint")

    @property
    def bfcl_summary(self) -> dict[str, Any] | None:
        """BFCL's summary columns and v4 overall over the ``bfcl-full`` (else ``bfcl``) suite's categories (None when
        neither ran)."""
        s = self.by_suite.get("bfcl-full") or self.by_suite.get("bfcl")
        if not s or not s.get("by_category"):
            return None
        from .scoring.summary import bfcl_summary

        return bfcl_summary(s["by_category"])

    @property
    def cached(self) -> int:
        return sum(1 for o in self.outcomes if o.cached)

    @property
    def request_errors(self) -> int:
        return sum(1 for o in self.outcomes if o.request_error)

    @property
    def not_run(self) -> int:
        return self.total - len(self.outcomes)

    @property
    def wall_s(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def failures(self) -> list[dict[str, Any]]:
        return [o.to_dict() for o in self.outcomes if not o.correct]

    @property
    def model_faults(self) -> dict[str, int]:
        """Tasks lost by the model's own fault, by kind: ``budget_exceeded:<budget>`` (a multi-turn
        conversation whose calls spent one of its budgets, ``multiturn.limits``). The model's 0 on those
        tasks, never an error of the evaluation."""
        out: dict[str, int] = {}
        for o in self.outcomes:
            if o.error == MODEL_FAULT:
                kind = f"{MODEL_FAULT}:{stored_budget(o.text) or '?'}"
                out[kind] = out.get(kind, 0) + 1
        return out

    def run_summary(self) -> dict[str, Any]:
        """What the ``runs`` table keeps (and ``--compare`` shows)."""
        return {
            "summary": self.summary,
            "by_suite": self.by_suite,
            "total": self.total,
            "completed": len(self.outcomes),
            "backend": self.backend,
            "prompt_mode": self.prompt_mode,
            "wall_s": round(self.wall_s, 3),
            "fingerprint": self.fingerprint,
        }

    @property
    def tasks_per_s(self) -> float | None:
        """Requests answered per second of serving (start-up excluded); None when nothing was sent."""
        serving_s = self.wall_s - (self.startup_s or 0.0)
        return round(self.requests / serving_s, 3) if self.requests and serving_s > 0 else None

    def to_dict(self, *, include_results: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "ok": self.ok,
            "status": self.status,
            "error": self.error,
            "model": self.model,
            "model_sha": self.model_sha,
            "fingerprint": self.fingerprint,
            "served_model": self.served_model,
            "backend": self.backend,
            "prompt_mode": self.prompt_mode,
            "suites": self.suites,
            "settings": self.settings,
            "settings_hash": self.settings_hash,
            "total": self.total,
            "completed": len(self.outcomes),
            "not_run": self.not_run,
            "cached": self.cached,
            "requests": self.requests,
            "request_errors": self.request_errors,
            "tasks": self.tasks,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "by_category": self.by_category,
            "by_suite": self.by_suite,
            "bfcl_summary": self.bfcl_summary,
            "errors": self.summary.get("errors", {}),
            "model_faults": self.model_faults,
            "failures": self.failures(),
            "wall_s": round(self.wall_s, 3),
            "startup_s": None if self.startup_s is None else round(self.startup_s, 3),
            "tasks_per_s": self.tasks_per_s,
            "vet": self.vet,
            "run_id": self.run_id,
            "store": self.store_path,
            "resumed_run": self.resumed_run,
            "endpoint": self.endpoint,
        }
        if include_results:
            d["results"] = [o.to_dict() for o in self.outcomes]
        return d


# ---------------------------------------------------------------- helpers
def _is_default(settings: Mapping[str, Any] | None, key: str) -> bool:
    """True when ``key`` has its built-in default (no flag, env var or profile set it)."""
    sources = getattr(settings, "sources", None)
    if sources is not None:
        return sources.get(key, "default") == "default"
    return settings is None or key not in settings


def _setting(settings: Mapping[str, Any] | None, key: str, default: Any = None) -> Any:
    if settings is not None:
        try:
            v = settings[key]
        except KeyError:
            v = None
        if v not in (None, ""):
            return v
    return default


def settings_hash(request_settings: Mapping[str, Any]) -> str:
    blob = json.dumps(dict(request_settings), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# load_tasks lives in tasks/select.py, resolve_model and the builtin models in serving/resolve.py; these names stay
# importable from here for existing callers.
from .serving.resolve import _is_hub_ref, _Resolved, _tiny_path, ensure_tiny_model, resolve_model  # noqa: E402,F401
from .tasks.select import SuiteTask as _Item  # noqa: E402
from .tasks.select import load_tasks  # noqa: E402

# ---------------------------------------------------------------- endpoint identity
#: The probe sent to an endpoint to tell its weights apart: a fixed question, one tool, greedy, a few tokens.
PROBE_MESSAGES: tuple[dict[str, Any], ...] = (
    {"role": "user", "content": "What is the weather in Paris in celsius? Call the function."},
)
PROBE_TOOLS: tuple[dict[str, Any], ...] = (
    {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
)
PROBE_MAX_TOKENS = 32
#: /v1/models fields that describe what is served. vLLM's ``created`` is the time of the listing (it changes
#: on every call), so it is left out: a restart with the same weights keeps its cache.
_IDENTITY_FIELDS = ("id", "root", "parent", "owned_by", "max_model_len")


def endpoint_identity(base_url: str, model_name: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """What an attached server says it serves: its ``/v1/models`` entry for ``model_name`` and a hash of its
    greedy answer to a fixed probe. ``hash`` (16 hex) changes when either does, e.g. a restart with other
    weights under the same served name."""
    import httpx

    from .tasks import Task

    base = base_url.rstrip("/")
    entry: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        with httpx.Client(timeout=min(timeout, 10.0), trust_env=not _is_loopback(base)) as c:
            data = c.get(base + "/models").json()
        models = [m for m in (data.get("data") or []) if isinstance(m, dict)]
        m = next((m for m in models if m.get("id") == model_name), models[0] if len(models) == 1 else {})
        entry = {k: m.get(k) for k in _IDENTITY_FIELDS if m.get(k) is not None}
    probe = Task.from_dict(
        {"id": "probe", "category": "simple", "messages": list(PROBE_MESSAGES), "tools": list(PROBE_TOOLS)}
    )

    async def ask() -> Completion:
        async with httpx.AsyncClient(timeout=timeout, trust_env=not _is_loopback(base)) as client:
            return await chat(
                client,
                base,
                model_name,
                probe.messages,
                probe.tools,
                temperature=0.0,
                max_tokens=PROBE_MAX_TOKENS,
                timeout=timeout,
                retries=1,
            )

    comp = asyncio.run(ask())
    answer = (
        {
            "text": comp.text,
            "tool_calls": [
                {"name": (c.get("function") or {}).get("name"), "arguments": (c.get("function") or {}).get("arguments")}
                for c in (comp.tool_calls or [])
                if isinstance(c, dict)
            ],
        }
        if comp.ok
        else {"error": comp.kind}
    )
    blob = json.dumps({"models": entry, "probe": answer}, sort_keys=True, default=str)
    return {"models": entry, "probe_ok": bool(comp.ok), "hash": hashlib.sha256(blob.encode()).hexdigest()[:16]}


# ---------------------------------------------------------------- the run
class _Run:
    """State shared by the workers of one run (touched only from the event loop)."""

    def __init__(
        self,
        *,
        items: list[_Item],
        keys: list[ResultKey],
        store: ResultStore,
        progress: Callable[[Progress], None] | None,
        total: int,
        done: list[TaskOutcome],
    ):
        self.items = items
        self.keys = keys
        self.store = store
        self.progress = progress
        self.total = total
        self.outcomes = done
        self.rules = "bitagent"  # the scoring rules (eval.rules)
        self.prompt_mode = False  # set when the server cannot take `tools` (told, or found out)
        self.fatal: str | None = None
        self.requests = 0
        self.pending: list[StoredResult] = []
        self.last_flush = time.monotonic()
        self.t0 = time.monotonic()
        self.correct = sum(1 for o in done if o.correct)
        self.cached = len(done)  # everything done before the run started came from the cache
        self.errors = 0
        self.faults = sum(1 for o in done if o.error == MODEL_FAULT)

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        self.store.put(batch)
        self.last_flush = time.monotonic()

    def record(self, outcome: TaskOutcome, stored: StoredResult | None) -> None:
        self.outcomes.append(outcome)
        if outcome.correct:
            self.correct += 1
        if outcome.request_error:
            self.errors += 1
        if outcome.error == MODEL_FAULT:
            self.faults += 1
        if stored is not None:
            self.pending.append(stored)
            if len(self.pending) >= _FLUSH_EVERY or time.monotonic() - self.last_flush >= _FLUSH_SECONDS:
                self.flush()
        if self.progress is not None:
            self.progress(self.snapshot())

    def snapshot(self) -> Progress:
        return Progress(
            len(self.outcomes),
            self.total,
            self.correct,
            self.errors,
            self.cached,
            time.monotonic() - self.t0,
            self.faults,
        )


def _outcome(
    item: _Item,
    result: ScoreResult,
    *,
    latency: float,
    cached: bool,
    text: str | None,
    tool_calls: list | None,
    request_error: str | None = None,
) -> TaskOutcome:
    return TaskOutcome(
        item.suite,
        item.task.id,
        item.task.category,
        bool(result.correct),
        float(result.score),
        result.error,
        result.feedback,
        latency,
        cached,
        text,
        tool_calls,
        request_error,
        result,
    )


def _failed(item: _Item, comp: Completion) -> TaskOutcome:
    base = score_task(item.task, None)
    result = dataclasses.replace(base, feedback=f"The request failed: {comp.error}")
    return _outcome(
        item, result, latency=comp.latency_s, cached=False, text=None, tool_calls=None, request_error=comp.error
    )


def _is_loopback(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


async def _send_all(
    run: _Run, server: Any, *, concurrency: int, temperature: float, max_tokens: int, timeout: float, retries: int
) -> None:

    base_url = server.base_url
    n_workers = min(concurrency, len(run.items))
    local = _is_loopback(base_url)
    # Locally one single-connection transport per worker: no pool to search (see client.chat); remotely small
    # pools (httpcore's per-request work grows with the pool's size). serving.client.client_pool builds both.
    per = 1 if local and base_url.startswith("http://") else min(concurrency, _CONNECTIONS_PER_CLIENT)
    clients: list[Any] = client_pool(base_url, clients=math.ceil(n_workers / per), per_client=per, timeout=timeout)
    queue = list(zip(run.items, run.keys, strict=False))
    queue.reverse()  # pop() from the end keeps suite order

    def server_gone_message(detail: str) -> str:
        proc = getattr(server, "process", None)
        if proc is not None and not proc.alive():
            rc = proc.returncode
            rc = rc() if callable(rc) else rc  # a method in older serving.process, a property now
            tail = ""
            with contextlib.suppress(Exception):  # the exception that killed it, not its last log line
                from .serving.process import first_error_line

                tail = first_error_line(server.log_tail(2000) or "")[:300]
            where = f"; log {server.log_path}" if getattr(server, "log_path", None) else ""
            return f"the model server exited (code {rc}) during the run" + (f": {tail}" if tail else "") + where
        return f"the model server stopped answering: {detail}"

    async def worker(client: Any) -> None:
        async def ask(messages: Any, tools: Any) -> Completion:  # one step of a multi-turn conversation
            c = await chat(
                client,
                base_url,
                server.model_name,
                messages,
                tools,
                temperature=temperature,
                max_tokens=max_tokens,
                timeout=timeout,
                retries=retries,
                prompt_mode=run.prompt_mode,
            )
            run.prompt_mode = run.prompt_mode or c.prompt_mode
            return c

        while queue and run.fatal is None:
            item, key = queue.pop()
            run.requests += 1
            if multi_turn_data(item.task) is not None:  # a whole conversation (bitagent_cli.multiturn)
                conv = await run_multi_turn(item.task, ask)
                run.requests += conv.requests - 1
                failed = conv.failed
                if failed is not None and (
                    failed.kind == "transport" or (failed.kind == "http" and failed.status in (401, 403, 404))
                ):
                    run.fatal = run.fatal or (
                        server_gone_message(failed.error or "")
                        if failed.kind == "transport"
                        else f"the server refused the request: {failed.error}; check --base-url and the model name"
                    )
                if run.fatal is not None:
                    queue.append((item, key))  # not answered: not counted
                    return
                if failed is not None:
                    run.record(_failed(item, failed), None)
                    continue
                result = score_conversation(item.task, conv)
                text = conv.stored_text()
                stored = StoredResult(key, text, None, "multi_turn", result.to_dict(), conv.latency_s, time.time())
                run.record(
                    _outcome(item, result, latency=conv.latency_s, cached=False, text=text, tool_calls=None), stored
                )
                continue
            comp = await chat(
                client,
                base_url,
                server.model_name,
                item.task.messages,
                item.task.tools,
                temperature=temperature,
                max_tokens=max_tokens,
                timeout=timeout,
                retries=retries,
                prompt_mode=run.prompt_mode,
            )
            if comp.prompt_mode and not run.prompt_mode:
                log.info("the server does not take tools: switching to prompt mode (BFCL system prompt)")
                run.prompt_mode = True
            if run.fatal is not None:
                queue.append((item, key))  # not answered: not counted
                return
            if comp.kind == "transport" or (comp.kind == "http" and comp.status in (401, 403, 404)):
                if comp.kind == "transport":
                    run.fatal = server_gone_message(comp.error or "")
                else:
                    run.fatal = f"the server refused the request: {comp.error}; check --base-url and the model name"
                queue.append((item, key))
                return
            if not comp.ok:
                run.record(_failed(item, comp), None)
                continue
            result = score_task(
                item.task, Response(item.task.id, comp.text, comp.tool_calls), run.rules, UNDERSCORE_TO_DOT
            )
            stored = StoredResult(
                key, comp.text, comp.tool_calls, comp.finish_reason, result.to_dict(), comp.latency_s, time.time()
            )
            run.record(
                _outcome(
                    item, result, latency=comp.latency_s, cached=False, text=comp.text, tool_calls=comp.tool_calls
                ),
                stored,
            )

    async def watchdog(tasks: list[asyncio.Task]) -> None:
        proc = getattr(server, "process", None)
        if proc is None:
            return
        while True:
            await asyncio.sleep(0.25)
            if not proc.alive():
                if run.fatal is None:
                    run.fatal = server_gone_message("")
                for t in tasks:
                    t.cancel()
                return

    try:
        workers = [asyncio.create_task(worker(clients[i % len(clients)])) for i in range(n_workers)]
        dog = asyncio.create_task(watchdog(workers))
        try:
            results = await asyncio.gather(*workers, return_exceptions=True)
        finally:
            dog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dog
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
                raise r
        if run.fatal is None and queue:  # pragma: no cover - every path that leaves work sets fatal
            run.fatal = "the run stopped with tasks left"
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await c.aclose()


def evaluate(
    model: str,
    *,
    suites: Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
    category: str | Iterable[str] | None = None,
    limit: int | None = None,
    seed: int | None = None,
    concurrency: int | None = None,
    backend: str | None = None,
    base_url: str | None = None,
    use_cache: bool = True,
    progress: Callable[[Progress], None] | None = None,
    max_tokens: int | None = None,
    status: Callable[[str], None] | None = None,
    store: ResultStore | str | Path | None = None,
    rules: str | None = None,
    generation: str | None = None,
) -> EvalReport:
    """Evaluate ``model`` on ``suites`` and return the report (see the module docs).

    Unset arguments come from ``settings`` (``eval.*``). Raises ``ModelRefused`` (vetting),
    ``ServerError`` (the server did not start), ``UnknownSuite``/``UnknownCategory``/``ValueError``
    (usage) and :class:`EvalError` (the run could not finish; it carries the partial report).
    """
    from .serving import resolve_backend, start_server

    say = status or (lambda s: log.info("%s", s))
    suites = list(suites or _setting(settings, "eval.suites", ["bfcl", "glaive"]))
    seed = int(seed if seed is not None else _setting(settings, "eval.seed", 0))
    if limit is None:
        limit = int(_setting(settings, "eval.limit", 0)) or None
    concurrency_given = concurrency
    concurrency = int(concurrency if concurrency is not None else _setting(settings, "eval.concurrency", 64))
    generation = str(generation or _setting(settings, "eval.generation", "bitagent"))
    if generation not in GENERATIONS:
        raise InvalidArgument(f"unknown generation settings {generation!r}; use one of: {', '.join(GENERATIONS)}")
    gen = GENERATIONS[generation]
    if gen["max_tokens"] is not None:
        if max_tokens is not None or not _is_default(settings, "eval.max_tokens"):
            raise InvalidArgument(
                f"--generation {generation} sets the completion tokens itself ({gen['max_tokens']}, as BFCL asks); "
                "drop --max-tokens (or eval.max_tokens), or use --generation bitagent"
            )
        max_tokens = int(gen["max_tokens"])
    temperature = float(gen["temperature"])
    max_tokens = int(max_tokens if max_tokens is not None else _setting(settings, "eval.max_tokens", 512))
    if concurrency < 1 or max_tokens < 1:
        raise InvalidArgument("concurrency and max_tokens must be at least 1")
    timeout = float(_setting(settings, "eval.request_timeout", 120.0))
    rules = str(rules or _setting(settings, "eval.rules", "bitagent"))
    if rules not in RULES:
        raise InvalidArgument(f"unknown scoring rules {rules!r}; use one of: {', '.join(RULES)}")
    base_url = base_url or _setting(settings, "eval.base_url") or None
    backend = resolve_backend(backend or _setting(settings, "eval.backend", "auto"), base_url)
    if backend == "vllm" and concurrency_given is None and _is_default(settings, "eval.concurrency"):
        concurrency = max(concurrency, VLLM_DEFAULT_CONCURRENCY)  # keep vLLM's whole batch busy
    if backend == "vllm":
        from .serving.backends import CPU_VLLM_CONCURRENCY, CPU_VLLM_REQUEST_TIMEOUT, gpu_available

        if not gpu_available():  # vLLM's CPU build: a small batch, slow requests (docs/serving.md)
            if concurrency_given is None and _is_default(settings, "eval.concurrency"):
                concurrency = CPU_VLLM_CONCURRENCY
            if _is_default(settings, "eval.request_timeout"):
                timeout = max(timeout, CPU_VLLM_REQUEST_TIMEOUT)

    if backend == "endpoint" and not base_url:
        raise InvalidArgument(
            "--backend endpoint needs --base-url, the server's OpenAI-compatible URL (e.g. http://127.0.0.1:8000/v1)"
        )
    items = load_tasks(suites, category=category, limit=limit, seed=seed)
    if not items:
        raise InvalidArgument("no tasks selected; check --suite, --category and --limit")
    resolved = resolve_model(model, backend=backend, settings=settings, status=say)
    attached = contextlib.ExitStack()
    early_server: Any = None
    identity: dict[str, Any] | None = None
    if backend == "endpoint" and resolved.model_sha.startswith("endpoint:"):
        # Only a name to go by: key the results by what the server says it serves, so a restart with other
        # weights under the same name does not bring the old scores back.
        say(f"attaching to {base_url}")
        early_server = attached.enter_context(
            start_server(
                resolved.serve, backend=backend, settings=settings, base_url=base_url, served_name=resolved.served_name
            )
        )
        identity = endpoint_identity(early_server.base_url, early_server.model_name, timeout=min(timeout, 60.0))
        resolved.model_sha = f"{resolved.model_sha}@{identity['hash']}"

    request_settings = {
        "protocol": REQUEST_PROTOCOL,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "backend": backend,
    }
    if generation != "bitagent":  # answers sampled otherwise are kept apart from the greedy ones
        request_settings["generation"] = generation
    if rules != "bitagent":  # results stored under other rules are kept apart (the default's hash is unchanged)
        request_settings["rules"] = rules
    if backend != "endpoint":
        request_settings["max_model_len"] = int(_setting(settings, "eval.max_model_len", 8192))
    shash = settings_hash(request_settings)
    keys = [ResultKey(resolved.model_sha, it.suite_hash, it.task.id, shash) for it in items]

    own_store = not isinstance(store, ResultStore)
    rs = store if isinstance(store, ResultStore) else ResultStore(store or default_path(settings))
    report = EvalReport(
        model=resolved.label,
        model_sha=resolved.model_sha,
        backend=backend,
        suites=[
            {"name": n, "hash": suite_info(n).hash, "tasks": sum(1 for it in items if it.suite == n)}
            for n in dict.fromkeys(it.suite for it in items)
        ],
        settings={
            **request_settings,
            "rules": rules,
            "generation": generation,
            **({"underscore_to_dot": UNDERSCORE_TO_DOT} if rules == "bfcl" else {}),
            "concurrency": concurrency,
            "request_timeout": timeout,
            "seed": seed,
            "limit": limit,
            "category": category if category is None or isinstance(category, str) else list(category),
        },
        settings_hash=shash,
        total=len(items),
        vet=resolved.vet.to_dict() if resolved.vet is not None else None,
        endpoint=identity,
        started_at=time.time(),
        store_path=str(rs.path),
        task_index={(it.suite, it.task.id): it.task for it in items},
    )
    try:
        for gone in rs.reap_interrupted():  # runs left "running" by a process that was killed
            say(f"run {gone['run_id']} of {gone['model']} was interrupted (its process is gone)")
        last = rs.runs(resolved.model_sha, limit=1)
        if use_cache and last and last[0]["status"] == "interrupted":
            report.resumed_run = last[0]["run_id"]
        report.run_id = rs.start_run(
            model=resolved.label, model_sha=resolved.model_sha, suites=report.suites, settings=report.settings
        )
        done: list[TaskOutcome] = []
        todo_items, todo_keys = items, keys
        if use_cache:
            cached = rs.get_done(keys)
            todo_items, todo_keys = [], []
            for it, k in zip(items, keys, strict=False):
                hit = cached.get(k)
                if hit is None:
                    todo_items.append(it)
                    todo_keys.append(k)
                    continue
                if multi_turn_data(it.task) is not None:  # a conversation: its stored calls, checked again
                    done.append(
                        _outcome(
                            it,
                            score_conversation(it.task, stored=hit.text),
                            latency=hit.latency_s,
                            cached=True,
                            text=hit.text,
                            tool_calls=None,
                        )
                    )
                    continue
                # Re-score the stored answer: a scorer fix applies to cached answers too.
                result = score_task(it.task, Response(it.task.id, hit.text, hit.tool_calls), rules, UNDERSCORE_TO_DOT)
                done.append(
                    _outcome(it, result, latency=hit.latency_s, cached=True, text=hit.text, tool_calls=hit.tool_calls)
                )
            if not done:
                report.resumed_run = None  # nothing of it was stored: a fresh start, not a resume
            if done:
                say(
                    (f"resuming interrupted run {report.resumed_run}: " if report.resumed_run else "")
                    + f"{len(done)} of {len(items)} tasks answered before (cache); {len(todo_items)} to run"
                )
        run = _Run(items=todo_items, keys=todo_keys, store=rs, progress=progress, total=len(items), done=done)
        run.rules = rules
        if progress is not None:
            progress(run.snapshot())
        try:
            if todo_items:
                if backend == "transformers":
                    concurrency = min(concurrency, TRANSFORMERS_MAX_CONCURRENCY)
                if early_server is None:
                    say(
                        f"starting the model server ({backend})"
                        if backend != "endpoint"
                        else f"attaching to {base_url}"
                    )
                with (
                    contextlib.nullcontext(early_server)
                    if early_server is not None
                    else start_server(
                        resolved.serve,
                        backend=backend,
                        settings=settings,
                        base_url=base_url,
                        served_name=resolved.served_name,
                    )
                ) as server:
                    report.served_model = server.model_name
                    report.startup_s = getattr(server, "startup_s", None)
                    run.prompt_mode = getattr(server, "supports_tools", None) is False
                    say(
                        f"server ready at {server.base_url}; sending {len(todo_items)} tasks, "
                        f"{min(concurrency, len(todo_items))} at a time"
                    )
                    run.t0 = time.monotonic()
                    asyncio.run(
                        _send_all(
                            run,
                            server,
                            concurrency=concurrency,
                            temperature=temperature,
                            max_tokens=max_tokens,
                            timeout=timeout,
                            retries=2,
                        )
                    )
        except (KeyboardInterrupt, SystemExit) as e:
            report.status, report.error = "interrupted", "interrupted (Ctrl-C or a stop signal)"
            e.report = report  # type: ignore[union-attr]  # the partial report, for the CLI's message
            raise
        except BaseException as e:
            report.status, report.error = "error", f"{type(e).__name__}: {e}"[:500]
            raise
        finally:
            run.flush()
            report.requests = run.requests
            report.prompt_mode = run.prompt_mode
            _summarise_into(report, run.outcomes, items)
            if report.status == "ok" and run.fatal is not None:
                report.status, report.error = "error", run.fatal
            if report.status == "ok" and report.outcomes and all(o.request_error for o in report.outcomes):
                first = next(o.request_error for o in report.outcomes)
                report.status = "error"
                report.error = (
                    f"no task was answered: all {len(report.outcomes)} requests failed, the first with "
                    f"{first}; fix the server (or --base-url) and run again"
                )
            report.finished_at = time.time()
            with contextlib.suppress(Exception):
                rs.finish_run(report.run_id, status=report.status, summary=report.run_summary())
    finally:
        attached.close()
        if own_store:
            rs.close()
    if report.status == "error" and report.error and report.error.startswith("no task was answered"):
        raise EvalError(report.error, report)
    if report.status == "error":
        raise EvalError(
            f"{report.error}; {len(report.outcomes)} of {report.total} tasks done and stored, run again to resume",
            report,
        )
    return report


def _summarise_into(report: EvalReport, outcomes: list[TaskOutcome], items: list[_Item]) -> None:
    order = {(it.suite, it.task.id): i for i, it in enumerate(items)}
    outcomes.sort(key=lambda o: order.get((o.suite, o.id), 0))  # the tasks' order, not the answers'
    results = [o.result for o in outcomes if o.result is not None]
    report.outcomes = outcomes
    report.summary = summarise(results)
    report.by_suite = {}
    for s in report.suites:
        report.by_suite[s["name"]] = summarise(o.result for o in outcomes if o.suite == s["name"] and o.result)
