"""The subnet's wire protocol: versioned JSON over HTTP, every request signed with ``btauth/1``.

bittensor 11 has no axon/dendrite/synapse, so the miner is a small FastAPI app and the validator an
httpx client. This module holds what both sides must agree on (``docs/protocol.md`` is the prose):

* the endpoints (``POST /v1/query``, ``POST /v1/feedback``, ``GET /v1/info``; ``GET /health`` is the
  only unauthenticated one);
* the bodies (:class:`QueryRequest`, :class:`QueryResponse`, :class:`FeedbackRequest`,
  :class:`FeedbackResponse`, :class:`InfoResponse`, :class:`ErrorBody`), pydantic models that ignore
  unknown fields, so a minor version may add fields without breaking older peers;
* :data:`PROTOCOL_VERSION` and :func:`check_version` (an unknown *major* version is refused);
* :func:`build_signed`, which the validator uses to sign a request for one miner.

The old synapses map as: ``QueryTask`` -> ``/v1/query``, ``QueryResult`` -> ``/v1/feedback``,
``IsAlive`` -> ``/health``, ``GetHFModelName`` / ``GetHFRunModelName`` -> ``/v1/info``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import BitagentError
from ..tasks import FunctionCall, Task, Tool, normalise_tool

__all__ = [
    "CONTENT_TYPE",
    "FEEDBACK_PATH",
    "HEALTH_PATH",
    "INFO_PATH",
    "PROTOCOL_HEADER",
    "PROTOCOL_VERSION",
    "QUERY_PATH",
    "ChatMessage",
    "ErrorBody",
    "FeedbackRequest",
    "FeedbackResponse",
    "InfoResponse",
    "ProtocolError",
    "QueryRequest",
    "QueryResponse",
    "UnsupportedVersion",
    "WireCall",
    "WireTool",
    "build_signed",
    "check_version",
    "dumps",
    "major_of",
    "parse_body",
]

#: ``MAJOR.MINOR``. A minor bump only adds optional fields (peers ignore what they do not know);
#: a major bump changes meaning, and a peer with another major answers 426.
PROTOCOL_VERSION = "1.0"

QUERY_PATH = "/v1/query"
FEEDBACK_PATH = "/v1/feedback"
INFO_PATH = "/v1/info"
HEALTH_PATH = "/health"

#: Sent by :func:`build_signed` on every request, so a GET (no body) is version-checked too.
PROTOCOL_HEADER = "X-BitAgent-Protocol"
CONTENT_TYPE = "application/json"

_MAX_ID = 256


class ProtocolError(BitagentError, ValueError):
    """A body that does not follow the protocol; ``status`` is the HTTP status to answer with."""

    status = 422
    code = "invalid_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnsupportedVersion(ProtocolError):
    status = 426
    code = "unsupported_protocol_version"


def major_of(version: Any) -> int | None:
    """``"1.2"`` -> 1; ``None`` for anything that is not ``MAJOR[.MINOR...]`` with a numeric major."""
    if not isinstance(version, str):
        return None
    head = version.strip().split(".", 1)[0]
    return int(head) if head.isdigit() else None


def check_version(version: Any) -> None:
    """Raise :class:`UnsupportedVersion` unless ``version`` has this protocol's major version."""
    ours = major_of(PROTOCOL_VERSION)
    theirs = major_of(version)
    if theirs != ours:
        raise UnsupportedVersion(
            f"protocol version {version!r} is not supported: this peer speaks bitagent protocol "
            f"{PROTOCOL_VERSION} (major {ours}); upgrade the older side (pip install -U bitagent-cli)"
        )


class _Model(BaseModel):
    # Unknown fields are ignored: a newer minor version may add some.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ChatMessage(BaseModel):
    """One message. ``role`` is free text: the subnet also sends ``"tool call"`` / ``"tool response"``."""

    model_config = ConfigDict(extra="allow")

    role: str = Field(min_length=1, max_length=64)
    content: Any = None


class WireTool(_Model):
    """A tool in the subnet's wire style: ``arguments`` maps each argument to
    ``{"required": bool, "type": str, "description": str, ...}`` (extra schema keys kept)."""

    name: str = Field(min_length=1, max_length=_MAX_ID)
    description: str = ""
    arguments: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @classmethod
    def from_tool(cls, tool: Tool | Mapping[str, Any]) -> WireTool:
        """From a :class:`Tool` or any style :func:`normalise_tool` accepts."""
        return cls.model_validate(normalise_tool(tool).to_wire())

    def to_tool(self) -> Tool:
        return normalise_tool(self.model_dump())


class WireCall(_Model):
    """One function call in a response."""

    name: str = Field(min_length=1, max_length=_MAX_ID)
    arguments: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_call(cls, call: FunctionCall | Mapping[str, Any]) -> WireCall:
        if isinstance(call, FunctionCall):
            return cls(name=call.name, arguments=dict(call.arguments))
        return cls.model_validate(call)

    def to_call(self) -> FunctionCall:
        return FunctionCall(self.name, dict(self.arguments))


class _Versioned(_Model):
    protocol_version: str = PROTOCOL_VERSION

    @field_validator("protocol_version")
    @classmethod
    def _major_matches(cls, v: str) -> str:
        check_version(v)
        return v


class QueryRequest(_Versioned):
    """Validator -> miner: one task (``QueryTask`` in the old protocol)."""

    task_id: str = Field(min_length=1, max_length=_MAX_ID)
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[WireTool] = Field(default_factory=list)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)

    @classmethod
    def from_task(cls, task: Task, *, task_id: str | None = None, max_tokens: int | None = None) -> QueryRequest:
        """The request for ``task`` (tools converted to the wire style). ``task_id`` defaults to the
        task's id; a validator that must not reveal which suite task it is sends its own id."""
        return cls(
            task_id=task_id or task.id,
            messages=[ChatMessage.model_validate(m) for m in task.messages],
            tools=[WireTool.from_tool(t) for t in task.tools],
            max_tokens=max_tokens,
        )

    def normalised_tools(self) -> list[Tool]:
        """The tools in the JSON-schema style the rest of bitagent speaks."""
        return [t.to_tool() for t in self.tools]

    def message_dicts(self) -> list[dict[str, Any]]:
        return [m.model_dump() for m in self.messages]


class QueryResponse(_Versioned):
    """Miner -> validator: the model's raw text and the calls parsed from it."""

    task_id: str
    response: str = ""
    tool_calls: list[WireCall] = Field(default_factory=list)
    model: str = ""
    latency_ms: float = Field(default=0.0, ge=0)

    def calls(self) -> list[FunctionCall]:
        return [c.to_call() for c in self.tool_calls]


class FeedbackRequest(_Versioned):
    """Validator -> miner: how a query was scored (the subnet's transparent feedback; ``QueryResult``)."""

    task_id: str = Field(min_length=1, max_length=_MAX_ID)
    score: float
    correct: bool
    error: str | None = None
    feedback: str = ""


class FeedbackResponse(_Versioned):
    ok: bool = True


class InfoResponse(_Versioned):
    """``GET /v1/info``: the model the miner runs online and the one it submitted for offline scoring."""

    model_served: str = ""
    model_submitted: str = ""


class ErrorBody(_Model):
    """Every refusal: ``error`` is a stable code, ``message`` one sentence (with the fix when there is one)."""

    error: str
    message: str
    protocol_version: str = PROTOCOL_VERSION


def dumps(obj: BaseModel | Mapping[str, Any] | None) -> bytes:
    """The exact body bytes sent (compact JSON, UTF-8); ``None`` -> empty body."""
    if obj is None:
        return b""
    data = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else dict(obj)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_body(model: type[_Versioned], body: bytes) -> Any:
    """Decode and validate a request or response body.

    Raises :class:`UnsupportedVersion` (426) for another major version, checked before the other
    fields so an old peer gets the upgrade message rather than field errors, and
    :class:`ProtocolError` (400/422) for anything else: a hostile body (nested a thousand deep, an
    integer of 5,000 digits) is a 400 ``bad_json`` like any other body that is not JSON, never a crash.
    """
    try:
        data = json.loads(body)
    except RecursionError:  # "[[[[..." a thousand deep: json's C scanner gives up, cheaply
        raise _bad_json("body nests too deeply to decode; send a flatter JSON object") from None
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError, or an integer past 4300 digits
        raise _bad_json(f"body is not JSON ({str(e)[:200]}); send a JSON object") from None
    if not isinstance(data, dict):
        err = ProtocolError("body must be a JSON object")
        err.status, err.code = 400, "bad_json"
        raise err
    check_version(data.get("protocol_version", PROTOCOL_VERSION))
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ProtocolError(f"{model.__name__}: {_first_errors(e)}") from None
    except RecursionError:  # nesting under json's limit can still exhaust the validator's stack
        raise _bad_json("body nests too deeply to validate; send a flatter JSON object") from None


def _bad_json(message: str) -> ProtocolError:
    err = ProtocolError(message)
    err.status, err.code = 400, "bad_json"
    return err


def _first_errors(e: ValidationError, limit: int = 3) -> str:
    parts = []
    for err in e.errors()[:limit]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = len(e.errors()) - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


Signer = Callable[..., Mapping[str, str]]


def build_signed(
    wallet_or_keypair: Any,
    receiver_hotkey: str,
    path: str,
    payload: BaseModel | Mapping[str, Any] | None = None,
    *,
    method: str | None = None,
    sign: Signer | None = None,
) -> tuple[dict[str, str], bytes]:
    """Sign a request for the miner whose hotkey is ``receiver_hotkey``; returns ``(headers, body)``.

    Send ``body`` byte for byte with ``headers`` (httpx: ``content=body, headers=headers``) to
    ``path`` exactly as given here (query string included). ``method`` defaults to POST when there
    is a payload, GET otherwise. ``wallet_or_keypair`` is anything the chain layer signs with (a
    ``bittensor.Wallet`` or a raw keypair); its hotkey signs. ``sign`` defaults to
    ``chain.auth.sign_request``. Each call signs a fresh nonce, so a retry must call this again.
    """
    if sign is None:
        from ..chain import auth  # lazy: chain/ is the only importer of bittensor

        sign = auth.sign_request
    body = dumps(payload)
    method = (method or ("POST" if payload is not None else "GET")).upper()
    headers = dict(sign(wallet_or_keypair, method=method, path=path, body=body, receiver_hotkey=receiver_hotkey))
    headers[PROTOCOL_HEADER] = PROTOCOL_VERSION
    if body:
        headers["Content-Type"] = CONTENT_TYPE
    return headers, body
