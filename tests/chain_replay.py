"""A JSON-RPC websocket server on loopback that answers from real chain recordings (tests only).

The recordings (``tests/data/chain/``, origin and license in its ``SOURCES.md``) are the JSON-RPC replies the
bittensor maintainers recorded from a real Bittensor node for their v9/v10 integration tests, grouped by the SDK
call that made them ("get_balance", "metagraph", ...), plus the real metadata of two runtimes. The SDK's own
transport (``bittensor._transport``, websockets) connects to ``ws://127.0.0.1:PORT`` and decodes what comes back
with its own codec, exactly as against a node.

Every reply says where it came from (``ReplayServer.log``):

- ``recorded``: the recorded reply to this method and params (the scenario's group first, then any group);
- ``head``: a request for "the best block" (``null`` block hash, or none) answered with the recorded reply at
  the group's recorded head, which is what a node answers (the v10 SDK pinned the head hash; v11 sends ``null``);
- ``metadata``: the runtime's real metadata (V15 at spec 343 through ``Metadata_metadata_at_version``; V14 at
  spec 475 through ``state_getMetadata``, the call a runtime without the V15 API answers);
- ``synthetic``: a reply the test supplied by name (``synthetic={method: fn}``), for what was never recorded
  (nonces, fees, genesis hash); the test lists them, so nothing is faked silently;
- ``missing``: nothing; the server answers a JSON-RPC error naming the request, and ``missing`` lists it so the
  test can say which reply the recordings lack (pytest.xfail with the reason), not pass on a made-up value.

Submitted extrinsics (``author_submitExtrinsic`` / ``author_submitAndWatchExtrinsic``) are kept in
``submitted`` (raw bytes) and refused with a JSON-RPC error: inclusion and events were never recorded.

The recordings file is Python source; it is read with ``ast`` (``cycle(x)`` taken as ``x``) and
``ast.literal_eval``, never imported or executed.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import gzip
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "chain"
RECORDINGS = DATA / "integration_websocket_data.py.gz"
METADATA_V15_343 = DATA / "metadata_v15_spec343.hex.gz"
METADATA_V14_475 = DATA / "metadata_spec475.scale.gz"

#: The largest frame the server accepts from a client (a signed extrinsic is a few hundred bytes).
MAX_FRAME = 1 << 20
#: The server's websockets logger: silent (a client that goes away mid-frame would log a traceback: noise here).
_QUIET = logging.getLogger("tests.chain_replay.websockets")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False
_QUIET.setLevel(logging.CRITICAL + 1)
SUBMIT_METHODS = ("author_submitExtrinsic", "author_submitAndWatchExtrinsic")

Synthetic = Callable[[list[Any]], Any]

#: Not in the recordings, and asked by every connection (the metadata cache key; signed into every extrinsic's
#: payload, never into its bytes): a made-up genesis hash, spelled so that nobody takes it for a real one.
SYNTHETIC_GENESIS = "0x" + b"bitagent replay: not a genesis!!".hex()
GENESIS = {"chain_getBlockHash [0]": lambda params: SYNTHETIC_GENESIS}


class _Cycle(ast.NodeTransformer):
    """``cycle(x)`` -> ``x``; any other call is refused (the file must stay a literal)."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "cycle" and len(node.args) == 1 and not node.keywords:
            return node.args[0]
        raise ValueError(f"unexpected call at line {node.lineno} of the recordings")


@functools.lru_cache(maxsize=1)
def recordings() -> dict[str, dict[str, dict[str, Any]]]:
    """``{group: {method: {params_json: reply}}}``; a reply recorded as ``cycle((a, b))`` is the tuple ``(a, b)``."""
    tree = ast.parse(gzip.decompress(RECORDINGS.read_bytes()).decode())
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(getattr(t, "id", None) == "WEBSOCKET_RESPONSES" for t in stmt.targets):
            value = ast.literal_eval(_Cycle().visit(stmt.value))
            assert isinstance(value, dict)
            return value
    raise ValueError("WEBSOCKET_RESPONSES not found in the recordings")


@functools.lru_cache(maxsize=1)
def metadata_v15_343_hex() -> str:
    """The recorded reply to ``state_call Metadata_metadata_at_version 0x0f000000``: an Option<OpaqueMetadata>."""
    return gzip.decompress(METADATA_V15_343.read_bytes()).decode().strip()


@functools.lru_cache(maxsize=1)
def metadata_v14_475() -> bytes:
    """Real V14 metadata (``meta`` magic, version 14) of mainnet runtime spec 475."""
    return gzip.decompress(METADATA_V14_475.read_bytes())


def _key(params: Any) -> str:
    # the recordings' keys are json.dumps of the params list with the default separators
    return json.dumps(params)


@dataclass
class Entry:
    method: str
    params: list[Any]
    source: str  # recorded | head | metadata | synthetic | missing | submitted
    group: str | None = None
    reply: Any = None


@dataclass
class ReplayServer:
    """Serve one recorded session (``group``) on ``ws://127.0.0.1:PORT``; see the module docstring.

    ``runtime``: ``"343"`` (the recorded runtime versions, V15 metadata of spec 343) or ``"475"`` (runtime
    version 475 and its V14 metadata; storage replies still the recorded ones, which were written by older
    runtimes: only for builds and decodes, not for values).
    """

    group: str
    runtime: str = "343"
    synthetic: dict[str, Synthetic] = field(default_factory=lambda: dict(GENESIS))
    log: list[Entry] = field(default_factory=list)
    submitted: list[bytes] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._rec = recordings()
        if self.group not in self._rec:
            raise KeyError(f"no recorded group {self.group!r}")
        self._cycles: dict[tuple[str, str], int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Future[None] | None = None

    # -- what the recordings say
    def _lookup(self, method: str, params: list[Any], groups: tuple[str, ...]) -> tuple[Any, str | None]:
        key = _key(params)
        for group in groups:
            reply = self._rec[group].get(method, {}).get(key)
            if reply is not None:
                if isinstance(reply, tuple):  # cycle((a, b)): successive replies
                    i = self._cycles.get((method, key), 0)
                    self._cycles[(method, key)] = i + 1
                    reply = reply[i % len(reply)]
                return reply, group
        return None, None

    @property
    def head(self) -> str:
        return str(self._rec[self.group]["chain_getHead"]["[]"]["result"])

    def _at_head(self, method: str, params: list[Any]) -> Any:
        """The group's recorded reply for a request about "the best block" (a ``null`` or absent block hash)."""
        own = (self.group,)
        head = self.head
        if method == "chain_getFinalizedHead":  # not recorded: the recorded head stands for it
            return {"result": head}
        if method == "chain_getHeader":
            return self._lookup(method, [head], own)[0]
        if method == "chain_getBlockHash" and params and isinstance(params[0], int):
            header = self._lookup("chain_getHeader", [head], own)[0]
            number = header.get("result", {}).get("number") if isinstance(header, dict) else None
            return {"result": head} if number is not None and int(number, 16) == params[0] else None
        if method == "state_getRuntimeVersion":
            # v10 asked for the runtime of the head's parent (the runtime that wrote the head's state)
            header = self._lookup("chain_getHeader", [head], own)[0]
            parent = header.get("result", {}).get("parentHash") if isinstance(header, dict) else None
            for cand in ([head], [parent]):
                reply = self._lookup(method, cand, own)[0]
                if reply is not None:
                    return reply
            versions = self._rec[self.group].get(method, {})
            return next(iter(versions.values()), None)
        if method in ("state_getStorageAt", "state_call", "state_queryStorageAt", "state_getKeysPaged") and params:
            stem = params[:-1] if params[-1] is None else params
            for cand in ([*stem, head], stem):
                reply = self._lookup(method, cand, own)[0]
                if reply is not None:
                    return reply
            # any block of the same recorded session (it pinned one block per call)
            for key, reply in self._rec[self.group].get(method, {}).items():
                p = json.loads(key)
                if p[: len(stem)] == stem and len(p) == len(stem) + 1:
                    return reply[0] if isinstance(reply, tuple) else reply
        return None

    def answer(self, method: str, params: list[Any]) -> dict[str, Any]:
        if method in SUBMIT_METHODS:
            self.submitted.append(bytes.fromhex(str(params[0]).removeprefix("0x")))
            self.log.append(Entry(method, params, "submitted"))
            return {"error": {"code": -32099, "message": "replay: inclusion was not recorded; extrinsic captured"}}
        fn = self.synthetic.get(f"{method} {_key(params)}") or self.synthetic.get(method)
        if fn is not None:
            self.log.append(Entry(method, params, "synthetic"))
            return {"result": fn(params)}
        meta = self._metadata(method, params)
        if meta is not None:
            self.log.append(Entry(method, params, "metadata"))
            return meta
        reply, group = self._lookup(method, params, (self.group,))
        source = "recorded"
        if reply is None and (
            not params or params[-1] is None or method in ("state_getRuntimeVersion", "chain_getBlockHash")
        ):
            reply, group, source = self._at_head(method, params), self.group, "head"
        if reply is None:
            reply, group = self._lookup(method, params, tuple(self._rec))
            source = "recorded"
        if reply is None:
            self.log.append(Entry(method, params, "missing"))
            return {"error": {"code": -32098, "message": f"replay: no recorded reply to {method} {_key(params)[:200]}"}}
        if self.runtime == "475" and method == "state_getRuntimeVersion" and "result" in reply:
            reply = {"result": {**reply["result"], "specVersion": 475}}
        reply = {k: v for k, v in reply.items() if k in ("result", "error")}
        self.log.append(Entry(method, params, source, group, reply))
        return reply

    def runtime_version(self) -> dict[str, Any]:
        """The runtime version this server gave for the head (what the client's codec and signatures use)."""
        for e in self.log:
            if e.method == "state_getRuntimeVersion" and e.params in ([], [None]) and e.reply:
                return dict(e.reply["result"])
        raise LookupError("the client never asked for the head's runtime version")

    def _metadata(self, method: str, params: list[Any]) -> dict[str, Any] | None:
        if method == "state_call" and params and params[0] == "Metadata_metadata_at_version":
            if self.runtime == "475":  # what a node whose runtime lacks the V15 API answers
                return {"error": {"code": 4003, "message": "Exported method Metadata_metadata_at_version is not found"}}
            return {"result": metadata_v15_343_hex()}
        if method == "state_getMetadata" and self.runtime == "475":
            return {"result": "0x" + metadata_v14_475().hex()}
        return None

    @property
    def missing(self) -> list[str]:
        return [f"{e.method} {_key(e.params)[:120]}" for e in self.log if e.source == "missing"]

    def sources(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.log:
            out[e.source] = out.get(e.source, 0) + 1
        return out

    # -- the websocket server
    async def _handle(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):  # a client going away is not an error here
            await self._pump(ws)

    async def _pump(self, ws: Any) -> None:
        async for frame in ws:
            try:
                msg = json.loads(frame)
            except ValueError:
                continue
            batch = msg if isinstance(msg, list) else [msg]
            replies = []
            for req in batch[:1000]:
                if not isinstance(req, dict):
                    continue
                params = req.get("params") or []
                body = self.answer(str(req.get("method")), params if isinstance(params, list) else [params])
                replies.append({"jsonrpc": "2.0", "id": req.get("id"), **body})
            await ws.send(json.dumps(replies if isinstance(msg, list) else replies[0]))

    async def _serve(self, ready: threading.Event) -> None:
        from websockets.asyncio.server import serve

        loop = asyncio.get_running_loop()
        self._stop = loop.create_future()
        server = await serve(self._handle, "127.0.0.1", 0, max_size=MAX_FRAME, close_timeout=1, logger=_QUIET)
        port = next(iter(server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        ready.set()
        try:
            await self._stop
        finally:
            server.close(close_connections=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)

    def start(self) -> ReplayServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._serve(ready),), daemon=True, name="chain-replay"
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the replay server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        if self._thread is not None:
            self._thread.join(10)
        if self._loop is not None and not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
