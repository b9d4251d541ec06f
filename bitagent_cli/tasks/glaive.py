"""Glaive function-calling conversations -> contract tasks.

Two input forms are read:

* ShareGPT (LLaMA-Factory's ``glaive_toolcall_*_demo.json``, ``hiyouga/glaive-function-calling-v2-sharegpt``):
  ``{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value": str}], "tools": "<JSON list>"}``,
  optionally with a ``system`` string.
* Glaive v2's own text form (``glaiveai/glaive-function-calling-v2``): ``{"system": "SYSTEM: ... Use them if
  required -\\n{...}\\n\\n{...}", "chat": "USER: ...\\n\\n\\nASSISTANT: <functioncall> {...} <|endoftext|>..."}``;
  :func:`parse_glaive_v2` turns it into the ShareGPT form first.

Each function call becomes one task whose messages are the conversation before it, in OpenAI chat form:

* ``human`` -> ``{"role": "user", "content": ...}``; ``gpt`` -> ``{"role": "assistant", "content": ...}``;
* an earlier ``function_call`` -> ``{"role": "assistant", "content": "", "tool_calls": [{"id": "call00000",
  "type": "function", "function": {"name": ..., "arguments": "<JSON string>"}}]}`` (ids are 9 alphanumeric
  characters, which every chat template accepts, Mistral's included);
* ``observation`` -> ``{"role": "tool", "tool_call_id": <the id of the call it answers>, "name": ..., "content": ...}``.

The expected call is the call made, each argument's value being its single acceptable value; the
category is ``simple`` with one tool offered, ``multiple`` with several (``parallel``/``parallel_multiple``
when several calls follow each other without a response in between). A call to a function the record
does not declare is skipped (a known Glaive data error). Glaive's system prompt only lists the tools, so
it is dropped (tools travel in ``tools``); any other system text is kept as a system message.

No-call tasks: when tools are offered and the assistant's *first* answer is plain text, the record
gives one ``irrelevance`` task (``expected: []``) with the first user message. In the demo file these
are either refusals of an unrelated request ("Can you order a pizza?") or questions for a missing
required argument; ``meta.no_call_reason`` says which (``unrelated_request`` / ``missing_arguments``),
and a first answer that looks like neither is not used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ._types import ExpectedCall, Task, TaskFormatError, Tool, normalise_tool

__all__ = ["convert_glaive_sharegpt", "parse_glaive_v2", "parse_tools_field", "sharegpt_to_tasks"]

_REFUSAL = re.compile(
    r"\b(sorry|unable|can't|cannot|can not|not able|don't have the (capability|ability)|"
    r"do not have the (capability|ability))\b",
    re.IGNORECASE,
)
_ASKS = re.compile(r"\?|\bplease (provide|tell|share|give|let me know)\b", re.IGNORECASE)


def _call_id(k: int) -> str:
    return f"call{k:05d}"


def parse_tools_field(raw: Any) -> list[dict[str, Any]]:
    """The ``tools`` field: a JSON string or a list, of tool dicts (None/"" = no tools)."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise TaskFormatError(f"'tools' is not valid JSON ({e.msg})") from None
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise TaskFormatError("'tools' must be a list")
    return [t for t in raw if t is not None]


def _decode_call(value: Any) -> dict[str, Any]:
    call = value
    if isinstance(value, str):
        try:
            call = json.loads(value)
        except json.JSONDecodeError as e:
            raise TaskFormatError(f"function_call is not valid JSON ({e.msg})") from None
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        raise TaskFormatError("function_call needs a string 'name'")
    args = call.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as e:
            raise TaskFormatError(f"function_call arguments are not valid JSON ({e.msg})") from None
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise TaskFormatError("function_call 'arguments' must be an object")
    return {"name": call["name"], "arguments": args}


def _category(n_tools: int, n_calls: int) -> str:
    if n_calls > 1:
        return "parallel_multiple" if n_tools > 1 else "parallel"
    return "multiple" if n_tools > 1 else "simple"


def _no_call_reason(text: str) -> str | None:
    if _REFUSAL.search(text):
        return "unrelated_request"
    if _ASKS.search(text):
        return "missing_arguments"
    return None


def sharegpt_to_tasks(
    conversations: list[dict[str, Any]],
    tools_raw: Any,
    *,
    id_prefix: str,
    system: str | None = None,
    meta: dict[str, Any] | None = None,
    no_call_tasks: bool = True,
) -> list[Task]:
    """Tasks from one ShareGPT conversation (see the module doc). ``id_prefix`` + ``/<k>`` for the k-th
    call group, ``/no_call`` for the no-call task."""
    tools: tuple[Tool, ...] = tuple(normalise_tool(t) for t in parse_tools_field(tools_raw))
    names = {t.name for t in tools}
    base_meta = dict(meta or {})
    history: list[dict[str, Any]] = []
    if system and system.strip():
        history.append({"role": "system", "content": system.strip()})
    tasks: list[Task] = []
    n_calls = 0
    group = 0
    pending: list[str] = []  # ids of calls awaiting an observation, in order
    turns = list(conversations)
    i = 0
    first_assistant_seen = False
    while i < len(turns):
        turn = turns[i]
        who = turn.get("from") or turn.get("role")
        value = turn.get("value", turn.get("content"))
        if who == "function_call":
            j = i
            calls = []
            while j < len(turns) and (turns[j].get("from") or turns[j].get("role")) == "function_call":
                calls.append(_decode_call(turns[j].get("value", turns[j].get("content"))))
                j += 1
            if all(c["name"] in names for c in calls):
                expected = tuple(ExpectedCall(c["name"], {k: [v] for k, v in c["arguments"].items()}) for c in calls)
                tasks.append(
                    Task(
                        id=f"{id_prefix}/{group}",
                        category=_category(len(tools), len(calls)),
                        messages=tuple(dict(m) for m in history),
                        tools=tools,
                        expected=expected,
                        meta={**base_meta, "turn": i},
                    )
                )
            group += 1
            tool_calls = []
            for c in calls:
                cid = _call_id(n_calls)
                n_calls += 1
                pending.append(cid)
                tool_calls.append(
                    {
                        "id": cid,
                        "type": "function",
                        "function": {"name": c["name"], "arguments": json.dumps(c["arguments"], ensure_ascii=False)},
                    }
                )
            history.append({"role": "assistant", "content": "", "tool_calls": tool_calls})
            first_assistant_seen = True
            i = j
            continue
        if who in ("observation", "tool", "function_response"):
            cid = pending.pop(0) if pending else _call_id(max(n_calls - 1, 0))
            name = next(
                (
                    tc["function"]["name"]
                    for m in reversed(history)
                    for tc in m.get("tool_calls", ())
                    if tc["id"] == cid
                ),
                "",
            )
            msg: dict[str, Any] = {"role": "tool", "tool_call_id": cid}
            if name:
                msg["name"] = name
            msg["content"] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            history.append(msg)
        elif who in ("human", "user"):
            history.append({"role": "user", "content": value if isinstance(value, str) else str(value)})
        elif who in ("gpt", "assistant"):
            text = value if isinstance(value, str) else str(value)
            if no_call_tasks and not first_assistant_seen and tools and history and history[-1]["role"] == "user":
                reason = _no_call_reason(text)
                if reason is not None:
                    tasks.append(
                        Task(
                            id=f"{id_prefix}/no_call",
                            category="irrelevance",
                            messages=tuple(dict(m) for m in history),
                            tools=tools,
                            expected=(),
                            meta={**base_meta, "turn": i, "no_call_reason": reason},
                        )
                    )
            first_assistant_seen = True
            history.append({"role": "assistant", "content": text})
        elif who == "system":
            history.append({"role": "system", "content": value})
        else:
            raise TaskFormatError(f"unknown conversation role {who!r}")
        i += 1
    return tasks


def convert_glaive_sharegpt(
    records: Iterable[dict[str, Any]], *, prefix: str = "glaive", source: str = "glaive_toolcall_en_demo"
) -> list[Task]:
    """Every record of a ShareGPT Glaive file -> tasks ``<prefix>/<record index>/<k>`` (and ``/no_call``)."""
    out: list[Task] = []
    for idx, rec in enumerate(records):
        out.extend(
            sharegpt_to_tasks(
                rec.get("conversations") or [],
                rec.get("tools"),
                id_prefix=f"{prefix}/{idx}",
                system=rec.get("system"),
                meta={"source": source, "record": idx},
            )
        )
    return out


# ---------------------------------------------------------------- glaive v2 text form
_TURN = re.compile(r"(?:^|\n)\s*(USER|ASSISTANT|FUNCTION RESPONSE):\s?")
_EOT = "<|endoftext|>"
_FUNCTIONS_MARK = "Use them if required -"


def _parse_v2_tools(system: str) -> list[dict[str, Any]]:
    at = system.find(_FUNCTIONS_MARK)
    if at < 0:
        return []
    text = system[at + len(_FUNCTIONS_MARK) :]
    dec = json.JSONDecoder()
    tools: list[dict[str, Any]] = []
    pos = 0
    seen: set[str] = set()
    while True:
        start = text.find("{", pos)
        if start < 0:
            break
        try:
            obj, end = dec.raw_decode(text, start)
        except json.JSONDecodeError:
            break
        pos = end
        if isinstance(obj, dict) and isinstance(obj.get("name"), str) and obj["name"] not in seen:
            seen.add(obj["name"])  # 351 rows of the full set declare a name twice: keep the first
            tools.append(obj)
    return tools


def _parse_v2_call(text: str) -> dict[str, Any] | None:
    """``<functioncall> {"name": "f", "arguments": '{"a": 1}'}`` (arguments in single quotes: not JSON)."""
    at = text.find("<functioncall>")
    if at < 0:
        return None
    body = text[at + len("<functioncall>") :].replace(_EOT, "").strip()
    m = re.match(r'\{\s*"name"\s*:\s*"([^"]+)"\s*,\s*"arguments"\s*:\s*', body)
    if not m:
        try:
            return _decode_call(body)
        except TaskFormatError:
            return None
    name, rest = m.group(1), body[m.end() :].rstrip()
    if rest.endswith("}"):
        rest = rest[:-1].rstrip()
    if len(rest) >= 2 and rest[0] == rest[-1] == "'":
        rest = rest[1:-1]
    try:
        args = json.loads(rest) if rest.strip() else {}
    except json.JSONDecodeError:
        return None
    if not isinstance(args, dict):
        return None
    return {"name": name, "arguments": args}


def parse_glaive_v2(system: str | None, chat: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Glaive v2's ``system``/``chat`` strings -> ``(tools, ShareGPT conversations)``.

    A turn that cannot be read (e.g. the stray ``AI to= name: {...}`` syntax) ends the conversation
    there: the tasks before it are kept.
    """
    tools = _parse_v2_tools(system or "")
    conv: list[dict[str, Any]] = []
    text = chat or ""
    marks = list(_TURN.finditer(text))
    for n, m in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(text)
        body = text[m.end() : end].replace(_EOT, "").strip()
        who = m.group(1)
        if who == "USER":
            conv.append({"from": "human", "value": body})
        elif who == "FUNCTION RESPONSE":
            conv.append({"from": "observation", "value": body})
        elif "<functioncall>" in body:
            call = _parse_v2_call(body)
            if call is None:
                break
            conv.append({"from": "function_call", "value": json.dumps(call, ensure_ascii=False)})
        elif body.startswith("AI to=") or "to=functions." in body:
            break
        else:
            conv.append({"from": "gpt", "value": body})
    return tools, conv
