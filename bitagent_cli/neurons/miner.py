"""The miner: a FastAPI app that answers validators' signed queries with the miner's model.

``create_app`` builds the app from four injected parts, so it runs the same in tests and in
production:

* ``model_client``: ``async (messages, tools, *, max_tokens) -> completion`` with ``.text``,
  ``.tool_calls`` and ``.error`` (``serving.client.Completion``); :class:`OpenAIModelClient` is the
  production one, talking to the server ``serving.backends.start_server`` started (or attached to);
* ``verifier``: ``(headers, body, method, path) -> caller hotkey``, raising :class:`AuthRejected`;
  :func:`make_verifier` wraps ``chain.auth`` (``bittensor.http_auth``: signature, receiver binding,
  freshness window and replay cache);
* ``neuron_lookup``: ``hotkey -> (stake, validator_permit) | None`` (``None``: not registered);
  :class:`MetagraphCache` is the production one, refreshed from the chain;
* ``settings``: the resolved settings (``miner.*``).

Every request but ``GET /health`` goes through :func:`_admit` in this order, cheapest refusal
first: protocol header (426), body size read with a cap before any parsing (413), signature
(401), registration / validator permit / stake (403), per-hotkey rate limit (429, Retry-After).
Only then is the body parsed (400/422, 426 for another major version).

``run_miner`` wires it to the chain and a model server and serves it with uvicorn until SIGINT
or SIGTERM, then stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ..config.sections import section
from ..errors import BitagentError
from ..tasks import FunctionCall, Tool
from . import protocol as P

log = logging.getLogger(__name__)

__all__ = [
    "AuthRejected",
    "MetagraphCache",
    "MinerError",
    "ModelClient",
    "OpenAIModelClient",
    "RateLimiter",
    "ThreadedServer",
    "connection_cap",
    "create_app",
    "limit_repeated_logs",
    "make_verifier",
    "plan_miner",
    "raise_fd_limit",
    "run_miner",
    "vet_models",
]

Verifier = Callable[[Mapping[str, str], bytes, str, str], str]
NeuronLookup = Callable[[str], "tuple[float, bool] | None"]
Parser = Callable[[str | None, list | None, list | None], Any]  # (text, tool_calls, tools)


class AuthRejected(BitagentError):
    """The request's signature did not verify (answered 401 with this message)."""


class MinerError(BitagentError, RuntimeError):
    """``run_miner`` cannot start; the message is one sentence with the fix."""


class ModelClient(Protocol):
    model_name: str

    def __call__(
        self, messages: list[dict[str, Any]], tools: list[Tool], *, max_tokens: int | None
    ) -> Awaitable[Any]: ...


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, dict(headers or {})


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        P.ErrorBody(error=code, message=message).model_dump(), status_code=status, headers=dict(headers or {})
    )


# ---------------------------------------------------------------- rate limit
class RateLimiter:
    """At most ``per_min`` requests per key in any 60-second window (a sliding log per key).

    ``check(key)`` records the request and returns 0.0, or returns the seconds until the key may
    send again (nothing recorded). ``per_min <= 0`` turns the limit off. Keys are verified,
    permitted validator hotkeys, so the table stays small; idle keys are pruned anyway.
    """

    WINDOW = 60.0

    def __init__(self, per_min: int, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 4096):
        self.per_min = int(per_min)
        self.clock = clock
        self.max_keys = max_keys
        self._log: dict[str, deque[float]] = {}

    def check(self, key: str) -> float:
        if self.per_min <= 0:
            return 0.0
        now = self.clock()
        q = self._log.get(key)
        if q is None:
            if len(self._log) >= self.max_keys:
                self._prune(now)
            q = self._log[key] = deque()
        while q and q[0] <= now - self.WINDOW:
            q.popleft()
        if len(q) >= self.per_min:
            return max(q[0] + self.WINDOW - now, 0.001)
        q.append(now)
        return 0.0

    def _prune(self, now: float) -> None:
        for k in [k for k, q in self._log.items() if not q or q[-1] <= now - self.WINDOW]:
            del self._log[k]


# ---------------------------------------------------------------- the app
def _default_parser() -> Parser:
    from ..scoring import parse_calls

    return parse_calls


async def _read_capped(request: Request, cap: int) -> bytes:
    """The raw body, refusing (413) as soon as it is longer than ``cap``; nothing is parsed."""
    too_big = _Refusal(
        413, "body_too_large", f"request body is larger than this miner's limit of {cap} bytes (miner.max_body_bytes)"
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > cap:
                raise too_big
        except ValueError:
            raise _Refusal(400, "bad_request", "Content-Length is not a number") from None
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise too_big
            chunks.append(chunk)
    except ClientDisconnect:  # the client left, or the request timeout closed its connection
        raise _Refusal(400, "client_disconnected", "the connection closed before the whole body arrived") from None
    return b"".join(chunks)


async def _within(coro: Awaitable[Any], seconds: float) -> Any:
    """``await coro`` with a timeout; ``asyncio.timeout`` (3.11+) spares the task ``wait_for`` creates."""
    if hasattr(asyncio, "timeout"):
        async with asyncio.timeout(seconds):
            return await coro
    return await asyncio.wait_for(coro, seconds)  # pragma: no cover - Python 3.10


def _target(request: Request) -> str:
    """The request target exactly as the client sent (and signed) it: path plus ``?query``."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    qs = request.scope.get("query_string") or b""
    return (raw + (b"?" + qs if qs else b"")).decode("latin-1")


def create_app(
    *,
    model_client: ModelClient,
    verifier: Verifier,
    neuron_lookup: NeuronLookup,
    settings: Mapping[str, Any],
    parse: Parser | None = None,
    model_timeout: float | None = None,
    model_submitted: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The miner's FastAPI app (see the module docstring for the parts and the order of checks).

    ``model_timeout`` bounds one model call (default: ``validator.query_timeout``, since an answer
    after the validator gave up is wasted); a timeout answers 504, a model error 502. ``parse``
    defaults to ``scoring.parse_calls``. ``model_submitted`` defaults to ``miner.submit_model``.
    """
    cfg = section(settings, "miner")
    min_stake = float(cfg.min_validator_stake)
    max_body = int(cfg.max_body_bytes)
    limiter = RateLimiter(int(cfg.rate_limit_per_min), clock=clock)
    if model_timeout is None:
        model_timeout = section(settings, "validator").query_timeout
    timeout = float(model_timeout)
    submitted = model_submitted if model_submitted is not None else str(cfg.submit_model)
    parse_fn = parse or _default_parser()

    app = FastAPI(title="bitagent miner", version=P.PROTOCOL_VERSION, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.rate_limiter = limiter
    stats: dict[str, Any] = {"queries": 0, "feedback": 0, "refused": {}}
    app.state.stats = stats

    @app.exception_handler(_Refusal)
    async def _on_refusal(request: Request, exc: _Refusal) -> JSONResponse:
        stats["refused"][exc.code] = stats["refused"].get(exc.code, 0) + 1
        log.debug("refused %s %s: %s %s", request.method, request.url.path, exc.status, exc.message)
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(
            exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}", getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        return _error(500, "internal_error", f"the miner failed: {type(exc).__name__}; see its log")

    async def _admit(request: Request) -> tuple[str, bytes]:
        """Run every check that needs no parsing; returns (caller hotkey, raw body)."""
        version = request.headers.get(P.PROTOCOL_HEADER)
        if version is not None:
            try:
                P.check_version(version)
            except P.UnsupportedVersion as e:
                raise _Refusal(426, e.code, e.message, {"Upgrade": f"bitagent/{P.PROTOCOL_VERSION}"}) from None
        body = await _read_capped(request, max_body)
        try:
            hotkey = verifier(request.headers, body, request.method, _target(request))
        except AuthRejected as e:
            raise _Refusal(
                401, "unauthorized", f"signature check failed: {e}", {"WWW-Authenticate": "btauth/1"}
            ) from None
        except Exception as e:  # noqa: BLE001 fail closed on a verifier bug, but say so in the log
            log.warning("verifier failed unexpectedly: %s: %s", type(e).__name__, e)
            raise _Refusal(
                401, "unauthorized", "the request signature could not be verified", {"WWW-Authenticate": "btauth/1"}
            ) from None
        neuron = neuron_lookup(hotkey)
        if neuron is None:
            raise _Refusal(403, "not_registered", f"hotkey {hotkey} is not registered on this subnet")
        stake, permit = neuron
        if not permit:
            raise _Refusal(403, "no_validator_permit", f"hotkey {hotkey} has no validator permit")
        if float(stake) < min_stake:
            raise _Refusal(
                403,
                "insufficient_stake",
                f"hotkey {hotkey} has stake {float(stake):g}, below this miner's "
                f"minimum of {min_stake:g} (miner.min_validator_stake)",
            )
        wait = limiter.check(hotkey)
        if wait > 0:
            raise _Refusal(
                429,
                "rate_limited",
                f"more than {limiter.per_min} requests in 60 s from {hotkey} "
                f"(miner.rate_limit_per_min); retry in {math.ceil(wait)} s",
                {"Retry-After": str(math.ceil(wait))},
            )
        return hotkey, body

    def _parse(model: type, body: bytes, hotkey: str) -> Any:
        try:
            return P.parse_body(model, body)
        except P.ProtocolError as e:
            # signed by a permitted validator, so worth one line (no traceback; repeats are rate limited)
            log.warning("refused a %s from %s: %d %s: %s", model.__name__, hotkey, e.status, e.code, e.message[:200])
            headers = {"Upgrade": f"bitagent/{P.PROTOCOL_VERSION}"} if e.status == 426 else None
            raise _Refusal(e.status, e.code, e.message, headers) from None

    @app.get(P.HEALTH_PATH)
    async def health() -> dict[str, Any]:
        return {"status": "ok", "protocol_version": P.PROTOCOL_VERSION}

    @app.get(P.INFO_PATH)
    async def info(request: Request) -> JSONResponse:
        await _admit(request)
        return JSONResponse(
            P.InfoResponse(
                model_served=getattr(model_client, "model_name", "") or "", model_submitted=submitted
            ).model_dump()
        )

    @app.post(P.FEEDBACK_PATH)
    async def feedback(request: Request) -> JSONResponse:
        hotkey, body = await _admit(request)
        fb: P.FeedbackRequest = _parse(P.FeedbackRequest, body, hotkey)
        stats["feedback"] += 1
        log.debug(
            "feedback from %s on task %s: score=%.3f correct=%s%s\n%s",
            hotkey,
            fb.task_id,
            fb.score,
            fb.correct,
            f" error={fb.error}" if fb.error else "",
            fb.feedback,
        )
        return JSONResponse(P.FeedbackResponse().model_dump())

    @app.post(P.QUERY_PATH)
    async def query(request: Request) -> Response:
        hotkey, body = await _admit(request)
        req: P.QueryRequest = _parse(P.QueryRequest, body, hotkey)
        tools = req.normalised_tools()  # also types the XML formats' string values when parsing (Qwen3, GLM-4.5)
        t0 = time.perf_counter()
        try:
            completion = await _within(model_client(req.message_dicts(), tools, max_tokens=req.max_tokens), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise _Refusal(504, "model_timeout", f"the model did not answer within {timeout:g} s") from None
        except Exception as e:  # noqa: BLE001 - any model-side failure is the model server's
            raise _Refusal(502, "model_error", f"the model server failed: {type(e).__name__}: {e}") from None
        latency_ms = (time.perf_counter() - t0) * 1000.0
        err = getattr(completion, "error", None)
        if err:
            if getattr(completion, "kind", None) == "timeout":
                raise _Refusal(504, "model_timeout", f"the model did not answer in time: {err}")
            raise _Refusal(502, "model_error", f"the model server failed: {err}")
        text = getattr(completion, "text", None) or ""
        raw_calls = getattr(completion, "tool_calls", None)
        if len(text) > 8192:  # parsing is bounded, but keep long texts off the event loop
            parsed = await asyncio.to_thread(parse_fn, text, raw_calls, tools)
        else:
            parsed = parse_fn(text, raw_calls, tools)
        calls: Sequence[FunctionCall] = getattr(parsed, "calls", None) or []
        stats["queries"] += 1
        log.debug("answered %s for %s in %.0f ms: %d call(s)", req.task_id, hotkey, latency_ms, len(calls))
        resp = P.QueryResponse(
            task_id=req.task_id,
            response=text,
            tool_calls=[P.WireCall.from_call(c) for c in calls],
            model=getattr(model_client, "model_name", "") or "",
            latency_ms=latency_ms,
        )
        return Response(resp.model_dump_json(), media_type=P.CONTENT_TYPE)

    return app


# ---------------------------------------------------------------- production parts
def make_verifier(self_hotkey: str, *, started_ns: int | None = None) -> Verifier:
    """The ``btauth/1`` verifier for requests addressed to ``self_hotkey`` (via ``chain.auth``).

    Its replay cache is its own and refuses nonces older than ``started_ns`` (default: now), the moment
    this miner started listening: the cache is in memory, and without that bound a request captured
    just before a restart could be replayed once after it (docs/protocol.md, Authentication).
    """
    from ..chain import auth

    cache = auth.ReplayCache(not_before_ns=time.time_ns() if started_ns is None else int(started_ns))

    def verify(headers: Mapping[str, str], body: bytes, method: str, path: str) -> str:
        try:
            return auth.verify_request(
                headers, body, method=method, path=path, self_hotkey=self_hotkey, replay_cache=cache
            )
        except auth.AuthError as e:
            raise AuthRejected(str(e)) from None

    return verify


class OpenAIModelClient:
    """The model client over an OpenAI-compatible server (``serving.client.chat``).

    httpx's connection pool spends time quadratic in the requests it holds (encode/httpx#3215: with
    200 in flight on one client, about 1 s per request goes to pool bookkeeping), so the connections
    are spread over ``shards`` small pools of ``per_shard`` connections each, and every call goes to
    the least busy one. A plain-HTTP server on this machine is reached through serving's lighter
    ``local_transport``; anything else through ``httpx.AsyncClient``. ``benchmarks/miner_load.py``
    measures the hop.
    """

    def __init__(
        self,
        base_url: str,
        model_name: str,
        *,
        max_tokens: int = 512,
        request_timeout: float = 60.0,
        prompt_mode: bool = False,
        shards: int = 16,
        per_shard: int = 16,
    ):
        self.base_url = base_url
        self.model_name = model_name
        self.max_tokens = max_tokens
        self.request_timeout = request_timeout
        self.prompt_mode = prompt_mode  # the server cannot take `tools`: put them in the prompt
        from ..serving.client import client_pool  # the same pools as evaluate's (local_transport on this machine)

        self._clients: list[Any] = client_pool(base_url, clients=shards, per_client=per_shard, timeout=request_timeout)
        self._busy = [0] * len(self._clients)

    async def __call__(self, messages: list[dict[str, Any]], tools: list[Tool], *, max_tokens: int | None) -> Any:
        from ..serving.client import chat

        i = min(range(len(self._clients)), key=self._busy.__getitem__)
        self._busy[i] += 1
        try:
            # one retry: it covers a kept-alive connection the server closed meanwhile
            return await chat(
                self._clients[i],
                self.base_url,
                self.model_name,
                messages,
                tools,
                temperature=0,
                max_tokens=min(max_tokens or self.max_tokens, self.max_tokens),
                timeout=self.request_timeout,
                retries=1,
                prompt_mode=self.prompt_mode,
            )
        finally:
            self._busy[i] -= 1

    async def aclose(self) -> None:
        for c in self._clients:
            await c.aclose()


@dataclass
class MetagraphCache:
    """``neuron_lookup`` backed by periodic metagraph snapshots (``chain.metagraph_snapshot``).

    Until the first successful refresh every caller is unknown (403). A failed refresh keeps the
    previous snapshot and is logged.
    """

    chain: Any
    netuid: int
    _by_hotkey: dict[str, tuple[float, bool]] = field(default_factory=dict)
    neurons: list[Any] = field(default_factory=list)
    refreshed_at: float | None = None

    def refresh(self) -> list[Any]:
        neurons = list(self.chain.metagraph_snapshot(self.netuid))
        self._by_hotkey = {n.hotkey: (float(n.stake), bool(n.validator_permit)) for n in neurons}
        self.neurons = neurons
        self.refreshed_at = time.time()
        return neurons

    def __call__(self, hotkey: str) -> tuple[float, bool] | None:
        return self._by_hotkey.get(hotkey)

    def find(self, hotkey: str) -> Any | None:
        return next((n for n in self.neurons if n.hotkey == hotkey), None)

    async def keep_fresh(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await asyncio.to_thread(self.refresh)
                log.debug("metagraph refreshed: %d neurons", len(self.neurons))
            except Exception as e:  # noqa: BLE001 - keep serving on the last snapshot
                log.warning("metagraph refresh failed (%s: %s); keeping the previous snapshot", type(e).__name__, e)


# ---------------------------------------------------------------- connections
#: File descriptors kept free beside the miner's connections: the model client's pools (16 x 16), one
#: accept burst (``_ACCEPT_BURST``), logs, the listening socket and whatever the model backend opens.
_FD_RESERVE = 448
#: Connections asyncio accepts per event-loop tick (its ``backlog`` argument); the kernel queue is longer.
_ACCEPT_BURST = 128
_LISTEN_QUEUE = 2048


def raise_fd_limit(target: int = 65536) -> tuple[int, int]:
    """Raise the soft ``RLIMIT_NOFILE`` toward the hard limit (at most ``target``); returns (soft, hard)
    as they are afterwards, ``(-1, -1)`` where the platform has no such limit (Windows)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return -1, -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if soft != resource.RLIM_INFINITY and want > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError) as e:  # e.g. macOS caps the soft limit below the hard one
            log.debug("could not raise the open-file limit to %d: %s", want, e)
    return int(soft), int(hard)


def connection_cap(configured: int) -> int:
    """``miner.max_connections`` lowered so that the connections, one accept burst and the model client
    fit in the soft open-file limit (the cap never runs the process out of descriptors)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except ImportError:  # pragma: no cover - Windows
        return max(1, configured)
    if soft == resource.RLIM_INFINITY:
        return max(1, configured)
    return max(1, min(configured, soft - _FD_RESERVE, 65536))


class _ConnectionGuard:
    """What uvicorn leaves unbounded, bounded per server (see :func:`_guarded_protocol`):

    * at most ``cap`` connections: past it the connection idle the longest (waiting for a request,
      a slowloris included) is closed to make room; when every connection is busy answering, the new
      one is closed;
    * a connection that is idle (new, or after a response) sends nothing for ``keep_alive_s``: closed;
    * once a request's first byte arrives, its headers and body must all arrive in ``request_timeout_s``.
    """

    def __init__(self, cap: int, request_timeout_s: float, keep_alive_s: float):
        self.cap = max(1, int(cap))
        self.request_timeout_s = float(request_timeout_s)
        self.keep_alive_s = float(keep_alive_s)
        self.live: set[Any] = set()
        self.idle: dict[Any, None] = {}  # insertion order: the longest idle first
        self.stats = {"cap": self.cap, "evicted": 0, "shed": 0, "timed_out": 0, "peak": 0}

    def opened(self, p: Any) -> None:
        self.live.add(p)
        if len(self.live) > self.cap:
            victim = next((c for c in self.idle if c is not p), None)
            if victim is None:  # everyone is busy answering: the newcomer waits its turn elsewhere
                self.stats["shed"] += 1
                self._close(p)
                return
            self.stats["evicted"] += 1
            self._close(victim)
        self.stats["peak"] = max(self.stats["peak"], len(self.live))
        self._become_idle(p)

    def _become_idle(self, p: Any) -> None:
        self.idle.pop(p, None)
        self.idle[p] = None
        p._guard_started = False
        self._arm(p, self.keep_alive_s)

    def update(self, p: Any, *, response_done: bool = False) -> None:
        """After data arrived, or a response went out: follow the request's progress."""
        import h11

        if p not in self.live or p.transport is None or p.transport.is_closing():
            return
        theirs = p.conn.their_state
        waiting = theirs is h11.IDLE and (p.cycle is None or p.cycle.response_complete)
        if waiting and response_done:
            self._become_idle(p)
        elif waiting:
            if not p._guard_started and p.conn.trailing_data[0]:  # a request's first bytes: the clock starts
                p._guard_started = True
                self._arm(p, self.request_timeout_s)
        elif theirs is h11.SEND_BODY:  # headers in, body still coming: busy, but still on the clock
            self.idle.pop(p, None)
            if not p._guard_started:
                p._guard_started = True
                self._arm(p, self.request_timeout_s)
        else:  # the whole request is in (or the connection is ending): the app answers it
            self.idle.pop(p, None)
            self._disarm(p)

    def closed(self, p: Any) -> None:
        self.live.discard(p)
        self.idle.pop(p, None)
        self._disarm(p)

    def _arm(self, p: Any, seconds: float) -> None:
        self._disarm(p)
        p._guard_timer = p.loop.call_later(seconds, self._expire, p)

    @staticmethod
    def _disarm(p: Any) -> None:
        timer = getattr(p, "_guard_timer", None)
        if timer is not None:
            timer.cancel()
            p._guard_timer = None

    def _expire(self, p: Any) -> None:
        p._guard_timer = None
        if p in self.live:
            self.stats["timed_out"] += 1
            self._close(p)

    def _close(self, p: Any) -> None:
        self.live.discard(p)
        self.idle.pop(p, None)
        self._disarm(p)
        if p.transport is not None and not p.transport.is_closing():
            p.transport.abort()  # no lingering: the descriptor is freed on the next loop tick


def _guarded_protocol(guard: _ConnectionGuard) -> type:
    """uvicorn's h11 protocol with ``guard`` watching each connection. uvicorn's own ``limit_concurrency``
    does not fit: it counts idle connections, so 1,100 idle sockets would turn every real query into a
    503; and uvicorn has no timeout for a request's headers (a slowloris holds its socket forever)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _guard_timer: Any = None
        _guard_started = False

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            guard.opened(self)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            guard.update(self)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            guard.update(self, response_done=True)

        def connection_lost(self, exc: Exception | None) -> None:
            guard.closed(self)
            super().connection_lost(exc)

    return GuardedH11Protocol


class _RepeatFilter(logging.Filter):
    """Lets through ``burst`` records per (logger, message template) in each ``window`` seconds; the first
    record after a quiet spell says how many were held back. A flood of the same error (an accept loop
    out of descriptors, a client sending garbage) costs a few lines a minute, not thousands."""

    def __init__(self, burst: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.burst, self.window, self.clock = burst, window, clock
        self._seen: dict[tuple[str, Any], list[float | int]] = {}  # key -> [window start, passed, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg if isinstance(record.msg, str) else type(record.msg).__name__)
        now = self.clock()
        entry = self._seen.get(key)
        if entry is None or now - entry[0] >= self.window:
            held = int(entry[2]) if entry else 0
            if len(self._seen) > 1024:
                self._seen.clear()
            self._seen[key] = [now, 1, 0]
            if held:
                record.msg = (
                    f"{record.getMessage()} ({held} more like this held back in the last {self.window:g} s)".replace(
                        "%", "%%"
                    )
                )
                record.args = None
            return True
        if entry[1] < self.burst:
            entry[1] = int(entry[1]) + 1
            return True
        entry[2] = int(entry[2]) + 1
        return False


@contextlib.contextmanager
def limit_repeated_logs(burst: int = 5, window: float = 60.0) -> Iterator[_RepeatFilter]:
    """Rate-limit repeated records of the loggers a flood reaches: asyncio's, uvicorn's and the miner's."""
    flt = _RepeatFilter(burst, window)
    loggers = [logging.getLogger(n) for n in ("asyncio", "uvicorn.error", log.name)]
    for lg in loggers:
        lg.addFilter(flt)
    try:
        yield flt
    finally:
        for lg in loggers:
            lg.removeFilter(flt)


# ---------------------------------------------------------------- serving
class _Server:
    """A uvicorn server that leaves signals to its owner (uvicorn's own handling re-raises SIGTERM
    after shutdown, which would kill the process before the model server is stopped), with the
    connections bounded by a :class:`_ConnectionGuard` (``miner.max_connections``,
    ``miner.request_timeout_s``, ``miner.keep_alive_s``) and WebSocket upgrades off."""

    def __init__(
        self,
        app: FastAPI,
        *,
        host: str,
        port: int,
        log_level: str = "warning",
        settings: Mapping[str, Any] | None = None,
    ):
        import uvicorn

        class _Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:  # type: ignore[override]
                yield

        settings = settings or {}
        cfg = section(settings, "miner")
        keep_alive = float(cfg.keep_alive_s)
        self.guard = _ConnectionGuard(
            connection_cap(int(cfg.max_connections)), float(cfg.request_timeout_s), keep_alive
        )
        self.config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=5,
            backlog=_ACCEPT_BURST,
            http=_guarded_protocol(self.guard),
            ws="none",
            timeout_keep_alive=max(1, math.ceil(keep_alive)),
            h11_max_incomplete_event_size=16 * 1024,
        )
        self.server = _Quiet(self.config)

    async def serve(self, sock: socket.socket) -> None:
        """Serve on ``sock``. asyncio accepts ``backlog`` connections per tick, so uvicorn gets a small
        one (a burst never outruns the descriptors the cap leaves free); the kernel's queue is then
        lengthened so that a flood waits there rather than having its SYNs dropped and retried."""
        serving = asyncio.ensure_future(self.server.serve(sockets=[sock]))
        try:
            while not self.server.started and not serving.done():
                await asyncio.sleep(0.01)
            if self.server.started:
                with contextlib.suppress(OSError):
                    sock.listen(_LISTEN_QUEUE)
        except BaseException:
            serving.cancel()
            raise
        await serving


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on host:port (0 = a free port); raises :class:`MinerError`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is IPPROTO_TCP,
    # and without it Nagle + delayed ACK hold every response's body back ~40 ms
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise MinerError(
            f"cannot listen on {host}:{port} ({e.strerror or e}); pick another --port or stop what is using it"
        ) from None
    return sock


class ThreadedServer:
    """Run an app with uvicorn on a background thread (tests, benchmarks, the e2e harness).

    ``port=0`` picks a free port; ``base_url`` is ``http://host:port``. Use as a context manager.
    """

    def __init__(
        self,
        app: FastAPI,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
        settings: Mapping[str, Any] | None = None,
    ):
        self._srv = _Server(app, host=host, port=port, log_level=log_level, settings=settings)
        self._sock = bind_socket(host, port)
        self.host, self.port = host, self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name=f"miner-{self.port}", daemon=True)
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        try:
            asyncio.run(self._srv.serve(self._sock))
        except BaseException as e:  # noqa: BLE001 - reported by start()
            self._error = e

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._srv.server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"miner server did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"miner server did not start within {timeout:g} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._srv.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# ---------------------------------------------------------------- run_miner
def plan_miner(settings: Mapping[str, Any]) -> dict[str, Any]:
    """What ``run_miner`` would do with these settings (no I/O). Raises :class:`MinerError` when the
    settings cannot work (no model to serve)."""
    cfg = section(settings, "miner")
    model = str(cfg.model or "")
    base = str(cfg.openai_api_base or "")
    if not model and not base:
        raise MinerError(
            "no model to serve: pass --hf-model-name-to-run ORG/NAME (started here) "
            "or --openai-api-base URL (an OpenAI-compatible server already running)"
        )
    backend = "endpoint" if base else str(section(settings, "eval").backend)
    return {
        "model": model or None,
        "backend": backend,
        "openai_api_base": base or None,
        "host": section(settings, "miner").host,
        "port": int(section(settings, "miner").port),
        "external_ip": section(settings, "miner").external_ip or None,
        "network": section(settings, "chain").endpoint or section(settings, "chain").network,
        "netuid": int(section(settings, "chain").netuid),
        "wallet": f"{section(settings, 'wallet').name}/{section(settings, 'wallet').hotkey}",
        "wallet_path": section(settings, "wallet").path,
        "submit_model": section(settings, "miner").submit_model or None,
        "min_validator_stake": float(section(settings, "miner").min_validator_stake),
        "rate_limit_per_min": int(section(settings, "miner").rate_limit_per_min),
        "max_body_bytes": int(section(settings, "miner").max_body_bytes),
        "model_timeout_s": float(section(settings, "validator").query_timeout),
        "protocol_version": P.PROTOCOL_VERSION,
        "endpoints": [
            f"POST {P.QUERY_PATH}",
            f"POST {P.FEEDBACK_PATH}",
            f"GET {P.INFO_PATH}",
            f"GET {P.HEALTH_PATH} (unauthenticated)",
        ],
    }


def vet_models(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Vet the model to run (unless attaching to a server) and the model to submit, with the
    ``eval.max_params_b`` / ``eval.max_download_gb`` caps validators apply. Nothing is downloaded.
    Raises ``serving.ModelRefused`` (one line)."""
    from ..serving import vet_model

    ev = section(settings, "eval")

    def vet(ref: str) -> dict[str, Any]:
        return vet_model(ref, max_params_b=float(ev.max_params_b), max_download_gb=float(ev.max_download_gb)).to_dict()

    plan = plan_miner(settings)
    out: dict[str, Any] = {"model": None, "submit_model": None}
    if not plan["openai_api_base"]:
        out["model"] = vet(str(plan["model"]))
    if plan["submit_model"]:
        out["submit_model"] = vet(str(plan["submit_model"]))
    return out


def _prepare_model(plan: Mapping[str, Any], settings: Mapping[str, Any]) -> tuple[str, str | None]:
    """(what start_server serves, served name): attach as is, else vet and fetch the vetted files."""
    if plan["openai_api_base"]:
        return str(plan["model"] or ""), None
    from ..serving import download_model, vet_model

    vet = vet_model(
        str(plan["model"]),
        max_params_b=float(section(settings, "eval").max_params_b),
        max_download_gb=float(section(settings, "eval").max_download_gb),
    )
    path = download_model(vet)
    return str(path), (None if vet.is_local else vet.repo)


def _local_network(settings: Mapping[str, Any]) -> bool:
    net = str(section(settings, "chain").endpoint or section(settings, "chain").network)
    return net == "local" or "127.0.0.1" in net or "localhost" in net


def resolve_external_ip(settings: Mapping[str, Any]) -> str:
    """The IP published on chain: ``miner.external_ip`` as given, else a specific ``miner.host``,
    else this host's address from its own name (no traffic is sent). A detected address that is
    not globally routable is only accepted on a local chain; elsewhere the fix is to set
    ``miner.external_ip``."""
    explicit = str(section(settings, "miner").external_ip or "")
    ip = explicit
    if not ip:
        host = str(section(settings, "miner").host or "")
        if host and host not in ("0.0.0.0", "::"):
            ip = host
        else:
            try:
                ip = socket.gethostbyname(socket.gethostname())
            except OSError:
                ip = ""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise MinerError(
            f"cannot tell which IP to publish ({ip!r}); set miner.external_ip "
            f"(BITAGENT_MINER_EXTERNAL_IP) to the address validators reach you at"
        ) from None
    if not explicit and not addr.is_global and not _local_network(settings):
        raise MinerError(
            f"the detected address {ip} is not reachable by validators; set miner.external_ip "
            f"(--external-ip, BITAGENT_MINER_EXTERNAL_IP) to your public IP"
        )
    return ip


def _submit_if_needed(
    chain: Any,
    wallet: Any,
    settings: Mapping[str, Any],
    netuid: int,
    status: Callable[[str], None],
    vet: Callable[..., Any] | None = None,
) -> dict[str, Any] | None:
    """``--miner-hf-model-name-to-submit``: commit the model (``chain.submit_model``) unless this hotkey
    already committed exactly it. A model that cannot be committed stops the start (a setup error); a
    chain that refuses the write now (space or rate limit, connection) is reported and mining goes on."""
    ref = str(section(settings, "miner").submit_model or "")
    if not ref:
        return None
    from .. import chain as chain_mod  # lazy: pulls bittensor

    try:
        out = chain_mod.submit_model(chain, wallet, netuid, ref, settings=settings, vet=vet, skip_if_committed=True)
    except (chain_mod.CommitmentError, chain_mod.ChainUnavailable) as e:
        status(f"warning: could not commit {ref}: {e} Mining goes on; retry with `bitagent submit-model`.")
        return {"model": ref, "committed": False, "error": str(e)}
    status(f"model {out.model.ref}: " + ("already committed" if out.already_committed else "committed"))
    return out.to_dict()


def run_miner(
    settings: Mapping[str, Any],
    *,
    chain: Any = None,
    wallet: Any = None,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    refresh_s: float = 300.0,
    status: Callable[[str], None] = lambda m: log.info(m),
    vet_submission: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Serve until SIGINT/SIGTERM; returns a summary. Raises :class:`MinerError` for setup problems.

    Order: plan -> listening socket (fails fast on a busy port) -> wallet -> chain and registration
    check -> submit model (if asked; skipped when already committed) -> model server (start, or
    attach with ``miner.openai_api_base``) -> HTTP server -> publish the endpoint (ServeAxon,
    skipped when the chain already has it) -> serve. On the way out the HTTP server, the metagraph
    refresher and the model server are stopped in reverse order. ``chain``, ``wallet`` and
    ``vet_submission`` (the vetting ``chain.submit_model`` uses) may be injected; by default they
    come from the settings.
    """
    from .. import chain as chain_mod
    from ..serving.backends import start_server

    plan = plan_miner(settings)
    netuid = plan["netuid"]
    ip = resolve_external_ip(settings)
    soft, hard = raise_fd_limit()
    log.debug(
        "open-file limit %d (hard %d): at most %d connections",
        soft,
        hard,
        connection_cap(int(section(settings, "miner").max_connections)),
    )
    sock = bind_socket(plan["host"], plan["port"])
    listening_since_ns = time.time_ns()  # the previous process on this port is gone: what it accepted is older
    try:
        wallet = wallet if wallet is not None else chain_mod.load_wallet(settings)
        hotkey = _hotkey_of(wallet)
        chain = chain if chain is not None else chain_mod.connect(settings)
        cache = MetagraphCache(chain, netuid)
        cache.refresh()
        me = cache.find(hotkey)
        if me is None:
            raise MinerError(f"hotkey {hotkey} is not registered on netuid {netuid}; run `bitagent register` first")
        submitted = _submit_if_needed(chain, wallet, settings, netuid, status, vet_submission)

        status(
            f"model server: attaching to {plan['openai_api_base']}"
            if plan["openai_api_base"]
            else f"model server: starting {plan['model']} ({plan['backend']})"
        )
        model_ref, served_name = _prepare_model(plan, settings)
        kwargs: dict[str, Any] = {"backend": plan["backend"], "settings": settings, "served_name": served_name}
        if plan["openai_api_base"]:
            kwargs["base_url"] = plan["openai_api_base"]
        with start_server(model_ref, **kwargs) as model_server:
            client = OpenAIModelClient(
                model_server.base_url,
                model_server.model_name,
                max_tokens=int(section(settings, "eval").max_tokens),
                request_timeout=float(section(settings, "validator").query_timeout),
                prompt_mode=getattr(model_server, "supports_tools", None) is False,
            )
            app = create_app(
                model_client=client,
                verifier=make_verifier(hotkey, started_ns=listening_since_ns),
                neuron_lookup=cache,
                settings=settings,
            )
            summary: dict[str, Any] = {
                "hotkey": hotkey,
                "uid": getattr(me, "uid", None),
                "netuid": netuid,
                "model_served": model_server.model_name,
                "model_base_url": model_server.base_url,
                "endpoint": f"{ip}:{plan['port']}",
                "listen": f"{plan['host']}:{plan['port']}",
                "submitted": submitted,
            }

            async def publish() -> None:
                if (getattr(me, "axon_ip", None), getattr(me, "axon_port", None)) == (ip, plan["port"]):
                    status(f"endpoint {ip}:{plan['port']} already on chain")
                    return
                await asyncio.to_thread(chain.serve_endpoint, wallet, netuid, ip, plan["port"])
                status(f"published endpoint {ip}:{plan['port']} on netuid {netuid}")

            def ready() -> None:
                status(f"serving on {plan['host']}:{plan['port']} as {hotkey}")
                if on_ready is not None:
                    on_ready(summary)

            with limit_repeated_logs():
                asyncio.run(_serve(app, sock, cache, refresh_s, publish, ready, client, settings))
            summary["stats"] = app.state.stats
            summary["stopped_by"] = getattr(app.state, "stopped_by", None)
        return summary
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def _hotkey_of(wallet: Any) -> str:
    direct = getattr(wallet, "ss58_address", None)  # a raw keypair
    if isinstance(direct, str):
        return direct
    from .. import chain as chain_mod

    return chain_mod.hotkey_ss58(wallet)  # raises WalletError (one line) when the hotkey is missing


async def _serve(
    app: FastAPI,
    sock: socket.socket,
    cache: MetagraphCache,
    refresh_s: float,
    publish: Callable[[], Awaitable[None]],
    on_ready: Callable[[], None],
    client: OpenAIModelClient,
    settings: Mapping[str, Any] | None = None,
) -> None:
    host, port = sock.getsockname()[:2]
    server = _Server(app, host=host, port=port, log_level="warning", settings=settings)
    srv = server.server
    app.state.stats["connections"] = server.guard.stats
    loop = asyncio.get_running_loop()

    def _stop(sig: int) -> None:
        if srv.should_exit:
            srv.force_exit = True
        srv.should_exit = True
        app.state.stopped_by = signal.Signals(sig).name  # the CLI exits 130 (SIGINT) or 143 (SIGTERM)
        log.info("received %s; stopping", signal.Signals(sig).name)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, _stop, sig)
    refresher = asyncio.create_task(cache.keep_fresh(refresh_s))
    serving = asyncio.create_task(server.serve(sock))
    try:
        while not srv.started and not serving.done():
            await asyncio.sleep(0.05)
        if serving.done():
            serving.result()
            raise MinerError(f"the HTTP server on {host}:{port} stopped during start-up; see the log")
        await publish()
        on_ready()
        await serving
    finally:
        if not serving.done():
            srv.should_exit = True
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(serving, 15)
        refresher.cancel()
        with contextlib.suppress(BaseException):
            await refresher
        await client.aclose()
        for sig, handler in previous.items():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
                signal.signal(sig, handler)  # remove_signal_handler leaves SIG_DFL behind
