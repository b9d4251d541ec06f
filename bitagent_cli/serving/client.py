"""The one chat-completions client every backend is reached through (vLLM, our transformers server, endpoints).

``chat(client, base_url, model, messages, tools)`` POSTs ``{base_url}/chat/completions`` with the tools in
OpenAI form and ``tool_choice: "auto"`` at temperature 0 and returns a :class:`Completion`; it never raises
for a failed request: the error is in ``Completion.error`` with ``Completion.kind`` saying whose fault it
is, so a caller can tell a dead server (``transport``) from one bad task (``http``, ``timeout``).

- Retries (with exponential backoff) only for transport errors and 5xx answers; never for 4xx, and never
  for a read timeout (a model that ran out of time once runs out again at temperature 0).
- A 400 that says the server cannot take tools (vLLM without ``--enable-auto-tool-choice``, servers
  without tool support) switches to *prompt mode* for this request: BFCL's system prompt listing the
  functions in JSON and asking for ``[func(param=value)]``, no ``tools`` field. ``Completion.prompt_mode``
  tells the caller to keep sending the model that way.
- The response body is read up to ``max_bytes`` (1 MB): a hostile or broken server cannot make us buffer
  more than that.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from ..tasks import Tool
from ..tasks._types import HINT_KEYS

__all__ = [
    "BFCL_PROMPT_VERSION",
    "BFCL_SYSTEM_PROMPT",
    "MAX_RESPONSE_BYTES",
    "Completion",
    "bfcl_function_docs",
    "chat",
    "client_pool",
    "is_loopback",
    "local_transport",
    "prompt_mode_messages",
    "request_body",
    "tools_unsupported",
]

MAX_RESPONSE_BYTES = 1_000_000
_HEADERS = {"content-type": "application/json", "accept": "application/json"}
_BACKOFF_S = 0.5

#: bfcl-eval's version whose prompt-mode system prompt :func:`prompt_mode_messages` reproduces byte for byte.
BFCL_PROMPT_VERSION = "2026.3.23"

#: BFCL's default prompt-mode system prompt, as bfcl-eval 2026.3.23 builds it (``formulate_system_prompt`` with
#: ``DEFAULT_SYSTEM_PROMPT_FORMAT``: ``ret_fmt=python&tool_call_tag=False&func_doc_fmt=json&prompt_fmt=plaintext
#: &style=classic``; the ``plaintext`` template joins persona and task with no space, and the empty
#: ``{param_types}`` of the python return format leaves two spaces before "You SHOULD NOT").
BFCL_SYSTEM_PROMPT = (
    "You are an expert in composing functions."
    "You are given a question and a set of possible functions. Based on the question, you will need to make one "
    "or more function/tool calls to achieve the purpose. If none of the functions can be used, point it out. If "
    "the given question lacks the parameters required by the function, also point it out.\n\n"
    "You should only return the function calls in your response.\n\n"
    "If you decide to invoke any of the function(s), you MUST put it in the format of "
    "[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)].  "
    "You SHOULD NOT include any other text in the response.\n\n"
    "At each turn, you should try your best to complete the tasks requested by the user within the current "
    "turn. Continue to output functions to call until you have fulfilled the user's request to the best of "
    "your ability. Once you have no more functions to call, the system will consider the current turn "
    "complete and proceed to the next turn or task.\n\n"
    "Here is a list of functions in json format that you can invoke.\n{functions}\n"
)

#: The language notes BFCL appends to every function description (``_get_language_specific_hint``); the
#: bfcl suite's Java and JavaScript tools carry theirs already, every other tool gets the Python one.
_LANGUAGE_NOTES = (
    " Note that the provided function is in Python 3 syntax.",
    " Note that the provided function is in Java 8 SDK syntax.",
    " Note that the provided function is in JavaScript syntax.",
)
_PY_NOTE = _LANGUAGE_NOTES[0]


@dataclass(slots=True)
class Completion:
    """One model answer, or why there is none.

    ``kind``: ``None`` (an answer), ``transport`` (the server could not be reached or dropped the
    connection, after retries), ``timeout`` (no answer in time), ``http`` (an error status; ``status``
    holds it) or ``bad_response`` (200 but not a chat completion).
    """

    text: str | None
    tool_calls: list | None
    latency_s: float
    error: str | None = None
    finish_reason: str | None = None
    kind: str | None = None
    status: int | None = None
    prompt_mode: bool = False
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "tool_calls": self.tool_calls,
            "latency_s": round(self.latency_s, 4),
            "error": self.error,
            "finish_reason": self.finish_reason,
            "kind": self.kind,
            "status": self.status,
            "prompt_mode": self.prompt_mode,
        }


# ---------------------------------------------------------------- prompt mode
def _bfcl_schema(schema: Any) -> Any:
    """A parameter schema as BFCL's data spells it, key order kept: our JSON-schema names put back
    (``object`` -> ``dict``; ``x-python-type`` -> ``float``, ``tuple``, ``any``, the last in the place of the
    ``type`` key that :func:`~bitagent_cli.tasks.normalise_schema` dropped) and our hint keys left out."""
    if not isinstance(schema, dict):
        return schema
    hint = schema.get("x-python-type")
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k == "type":
            t = hint if isinstance(hint, str) else v
            out["type"] = "dict" if t == "object" else t
        elif k == "x-python-type":
            if "type" not in schema and isinstance(v, str):
                out["type"] = v
        elif k in HINT_KEYS:
            continue
        elif k == "properties" and isinstance(v, dict):
            out[k] = {pk: _bfcl_schema(pv) for pk, pv in v.items()}
        elif k in ("items", "additionalProperties") and isinstance(v, dict):
            out[k] = _bfcl_schema(v)
        elif k in ("anyOf", "oneOf", "allOf") and isinstance(v, list):
            out[k] = [_bfcl_schema(x) for x in v]
        else:
            out[k] = v
    return out


def _tool_doc(tool: Tool | dict) -> dict[str, Any]:
    """One function document as BFCL puts it in the prompt: ``name``, ``description`` (with BFCL's language
    note), ``parameters`` in BFCL's spelling."""
    if isinstance(tool, Tool):
        name, desc, params = tool.name, tool.description, tool.parameters
    else:  # already in OpenAI form
        fn = tool.get("function", tool)
        name, desc, params = fn.get("name", ""), fn.get("description") or "", fn.get("parameters") or {}
    desc = desc if isinstance(desc, str) else str(desc or "")
    if not desc.endswith(_LANGUAGE_NOTES):  # Java/JS tasks carry BFCL's own note
        desc += _PY_NOTE
    return {"name": name, "description": desc, "parameters": _bfcl_schema(params)}


def bfcl_function_docs(tools: Iterable[Tool | dict]) -> str:
    """The function documents of BFCL's prompt: ``json.dumps(docs, indent=4)``, as bfcl-eval's
    ``format_function_doc`` writes them (non-ASCII escaped, keys in the data's order)."""
    return json.dumps([_tool_doc(t) for t in tools], indent=4)


def prompt_mode_messages(messages: Sequence[dict[str, Any]], tools: Iterable[Tool | dict]) -> list[dict[str, Any]]:
    """The messages as BFCL's prompt mode sends them (bfcl-eval's ``system_prompt_pre_processing_chat_model``):
    its system prompt, the functions as JSON, prepended to the first message when that is a system message
    (``prompt + "\\n\\n" + content``), else inserted as one; the input is not modified."""
    system = BFCL_SYSTEM_PROMPT.replace("{functions}", bfcl_function_docs(tools))
    out = [dict(m) for m in messages]
    if out and out[0].get("role") == "system":
        first = out[0].get("content")
        out[0]["content"] = system + "\n\n" + (first if isinstance(first, str) else "")
    else:
        out.insert(0, {"role": "system", "content": system})
    return out


# ---------------------------------------------------------------- request / response
def request_body(
    model: str,
    messages: Sequence[dict[str, Any]],
    tools: Sequence[Tool | dict] | None,
    *,
    temperature: float = 0.0,
    max_tokens: int | None = None,
    prompt_mode: bool = False,
) -> bytes:
    """The JSON body of one chat-completions request (``tools`` + ``tool_choice: auto``, or prompt mode)."""
    body: dict[str, Any] = {"model": model, "temperature": temperature}
    if max_tokens:
        body["max_tokens"] = int(max_tokens)
    if prompt_mode and tools:
        body["messages"] = prompt_mode_messages(messages, tools)
    else:
        body["messages"] = list(messages)
        if tools:
            body["tools"] = [t.to_openai() if isinstance(t, Tool) else t for t in tools]
            body["tool_choice"] = "auto"
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_TOOLS_UNSUPPORTED = re.compile(
    r"tool[_ ]?choice|tool[_ -]?call(?:ing|s)?[^.]{0,40}(?:not|un)[ -]?(?:supported|enabled|available)"
    r"|(?:not|un)[ -]?supported[^.]{0,40}tool|does not support tool|tools? (?:are|is) not supported"
    r"|enable-auto-tool-choice|tool-call-parser|unrecognized request argument[^.]{0,40}tool"
    r"|extra fields? not permitted[^.]{0,40}tool|unexpected keyword[^.]{0,40}tool",
    re.I,
)


def tools_unsupported(status: int, body: str) -> bool:
    """Whether an error answer says that the server cannot take ``tools`` / ``tool_choice``."""
    return status in (400, 422, 501) and bool(_TOOLS_UNSUPPORTED.search(body[:4000]))


def _error_text(raw: bytes) -> str:
    """The ``error.message`` (or ``detail``) of an error body, else its start; one line, bounded."""
    text = raw[:4000].decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            text = err if isinstance(err, str) else json.dumps(err)
    return " ".join(text.split())[:300]


def _parse_completion(raw: bytes) -> tuple[str | None, list | None, str | None]:
    """(content, tool_calls, finish_reason) of a chat completion; ValueError when it is not one."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    if "error" in data and "choices" not in data:
        raise ValueError(f"the server answered with an error: {_error_text(raw)}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("the answer has no choices")
    choice = choices[0]
    msg = choice.get("message")
    if not isinstance(msg, dict):
        raise ValueError("the answer's first choice has no message")
    content = msg.get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    elif content is not None and not isinstance(content, str):
        content = json.dumps(content)
    tool_calls = msg.get("tool_calls")
    if tool_calls is not None and not isinstance(tool_calls, list):
        raise ValueError("the answer's tool_calls is not a list")
    if not tool_calls and isinstance(msg.get("function_call"), dict):  # legacy OpenAI field
        tool_calls = [{"type": "function", "function": msg["function_call"]}]
    finish = choice.get("finish_reason")
    return content, (tool_calls or None), (finish if isinstance(finish, str) else None)


async def _post(
    client: httpx.AsyncClient | httpx.AsyncBaseTransport, url: str, body: bytes, timeout: float, max_bytes: int
) -> tuple[int, bytes, bool]:
    """(status, body, truncated): POST and read at most ``max_bytes`` of the answer."""
    if isinstance(client, httpx.AsyncClient):
        req = client.build_request("POST", url, content=body, headers=_HEADERS, timeout=timeout)
        resp = await client.send(req, stream=True)
    else:  # a bare transport: no cookies, auth, redirects or env proxies, and about 0.2 ms less per request
        req = httpx.Request(
            "POST",
            url,
            content=body,
            headers=_HEADERS,
            extensions={"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}},
        )
        resp = await client.handle_async_request(req)
    try:
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                return resp.status_code, b"", True
        return resp.status_code, b"".join(chunks), False
    finally:
        await resp.aclose()


# ---------------------------------------------------------------- a lighter transport for local servers
if sys.version_info >= (3, 11):

    async def _within(aw: Any, timeout: float) -> Any:
        async with asyncio.timeout(timeout):  # no extra task per call, unlike wait_for before 3.12
            return await aw
else:  # pragma: no cover - Python 3.10
    _within = asyncio.wait_for


class _AsyncioStream(httpcore.AsyncNetworkStream):
    """httpcore's network stream on plain asyncio streams (httpcore's default goes through anyio, which
    costs about a third of the client's CPU per request at hundreds of requests in flight)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._r, self._w = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            if timeout is None:
                return await self._r.read(max_bytes)
            return await _within(self._r.read(max_bytes), timeout)
        except asyncio.TimeoutError:
            raise httpcore.ReadTimeout(f"no data within {timeout} s") from None
        except OSError as e:
            raise httpcore.ReadError(str(e) or type(e).__name__) from None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._w.write(buffer)
            await (self._w.drain() if timeout is None else _within(self._w.drain(), timeout))
        except asyncio.TimeoutError:
            raise httpcore.WriteTimeout(f"could not write within {timeout} s") from None
        except OSError as e:
            raise httpcore.WriteError(str(e) or type(e).__name__) from None

    async def aclose(self) -> None:
        self._w.close()

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # a kept-alive connection with data or EOF waiting was closed by the server
            return self._r.at_eof() or bool(getattr(self._r, "_buffer", b""))
        return self._w.get_extra_info({"client_addr": "sockname", "server_addr": "peername"}.get(info, info))


class _AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            conn = asyncio.open_connection(host, port, local_addr=(local_address, 0) if local_address else None)
            reader, writer = await (conn if timeout is None else _within(conn, timeout))
        except asyncio.TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection within {timeout} s") from None
        except OSError as e:
            raise httpcore.ConnectError(str(e) or type(e).__name__) from None
        return _AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def local_transport(max_connections: int = 1) -> httpx.AsyncBaseTransport:
    """An ``httpx`` transport for a plain-HTTP server on this machine: ``max_connections`` kept-alive
    connections, no env proxies, and plain asyncio sockets underneath (falls back to httpx's own
    network layer if this httpx keeps its pool elsewhere)."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport = httpx.AsyncHTTPTransport(limits=limits, verify=False)
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.AsyncConnectionPool):
        transport._pool = httpcore.AsyncConnectionPool(  # same settings, our network backend
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_AsyncioBackend(),
        )
    return transport


def is_loopback(url: str) -> bool:
    """The URL's host is this machine (127.0.0.0/8, localhost, ::1)."""
    from urllib.parse import urlparse

    host = (urlparse(url).hostname or "").lower()
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def client_pool(base_url: str, *, clients: int, per_client: int, timeout: float) -> list[Any]:
    """The connections a run (``evaluate``) or the miner keeps to a model server: ``clients`` small pools of
    ``per_client`` connections each (httpx's pool spends time quadratic in the requests it holds,
    encode/httpx#3215, so callers spread requests over several small ones; ``chat`` takes any of them).

    A plain-HTTP server on this machine gets serving's lighter ``local_transport`` (no env proxies); any other
    server an ``httpx.AsyncClient`` (env proxies unless the host is this machine). Close each with ``aclose()``.
    """
    n, per = max(1, int(clients)), max(1, int(per_client))
    if base_url.startswith("http://") and is_loopback(base_url):
        return [local_transport(per) for _ in range(n)]
    limits = httpx.Limits(max_connections=per, max_keepalive_connections=per)
    return [httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=not is_loopback(base_url)) for _ in range(n)]


def _transport_text(e: Exception) -> str:
    text = str(e).strip() or type(e).__name__
    return " ".join(text.split())[:200]


async def chat(
    client: httpx.AsyncClient | httpx.AsyncBaseTransport,
    base_url: str,
    model: str,
    messages: Sequence[dict[str, Any]],
    tools: Sequence[Tool | dict] | None,
    *,
    temperature: float = 0.0,
    max_tokens: int | None = 512,
    timeout: float = 120.0,
    retries: int = 2,
    prompt_mode: bool = False,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> Completion:
    """One chat completion (see the module docs). Never raises for a failed request, only for cancellation.

    ``client`` is an ``httpx.AsyncClient`` or a bare ``httpx.AsyncHTTPTransport`` (what the evaluator
    uses for a server on this machine: one connection per worker, none of a client's per-request work).
    """
    url = base_url.rstrip("/") + "/chat/completions"
    t0 = time.perf_counter()
    attempts = 0
    body = request_body(model, messages, tools, temperature=temperature, max_tokens=max_tokens, prompt_mode=prompt_mode)

    def done(**kw: Any) -> Completion:
        kw.setdefault("text", None)
        kw.setdefault("tool_calls", None)
        return Completion(latency_s=time.perf_counter() - t0, prompt_mode=prompt_mode, attempts=attempts, **kw)

    while True:
        attempts += 1
        try:
            status, raw, truncated = await _post(client, url, body, timeout, max_bytes)
        except httpx.TimeoutException as e:
            if isinstance(e, (httpx.ConnectTimeout, httpx.PoolTimeout)) and attempts <= retries:
                await asyncio.sleep(_BACKOFF_S * 2 ** (attempts - 1))
                continue
            return done(error=f"no answer within {timeout:g} s ({type(e).__name__})", kind="timeout")
        except (httpx.TransportError, OSError) as e:
            if attempts <= retries:
                await asyncio.sleep(_BACKOFF_S * 2 ** (attempts - 1))
                continue
            return done(error=f"cannot reach the model server at {base_url}: {_transport_text(e)}", kind="transport")
        if truncated:
            return done(error=f"the answer is larger than {max_bytes} bytes", kind="bad_response", status=status)
        if status >= 500 and attempts <= retries:
            await asyncio.sleep(_BACKOFF_S * 2 ** (attempts - 1))
            continue
        if status != 200:
            detail = _error_text(raw)
            if not prompt_mode and tools and tools_unsupported(status, detail):
                prompt_mode = True
                body = request_body(
                    model, messages, tools, temperature=temperature, max_tokens=max_tokens, prompt_mode=True
                )
                continue
            return done(error=f"HTTP {status}: {detail or 'no details'}", kind="http", status=status)
        try:
            text, tool_calls, finish = _parse_completion(raw)
        except ValueError as e:
            return done(error=f"not a chat completion ({str(e)[:200]})", kind="bad_response", status=status)
        return done(text=text, tool_calls=tool_calls, finish_reason=finish)
