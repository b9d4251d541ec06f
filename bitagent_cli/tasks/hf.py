"""Tasks from Hugging Face datasets, through ``datasets.load_dataset`` (for users with network).

``load_hf_tasks("glaiveai/glaive-function-calling-v2", limit=500)`` or, for a local copy,
``load_hf_tasks("json", data_files="rows.jsonl")`` (a path ending in .json/.jsonl/.parquet/.csv is
taken as ``data_files`` of the matching builder). Each row is read by the first format it matches:

* Glaive v2 text: ``system`` + ``chat`` strings (see :func:`bitagent_cli.tasks.glaive.parse_glaive_v2`).
* ShareGPT: ``conversations`` (``from``/``value``) + ``tools`` (LLaMA-Factory / hiyouga sharegpt sets).
* BitAgent's own sets (``BitAgent/tool_calling``, ``BitAgent/tool_shuffle_small``...): ``conversation`` (a list
  or JSON string of ``{role, content}``) + ``tools`` (wire-style list or JSON string). The first
  ``tool call`` message holds the ground truth ``{"name", "arguments"}`` (``{}`` = irrelevance, values
  already lists when it carries ``is_ground_truth``); the task's messages are the ones before it.
* xLAM / APIGen: ``query`` + ``tools`` + ``answers`` (JSON strings; flat ``parameters`` maps).
* The contract itself: rows with ``messages`` and ``id``.

A row that cannot be read is skipped with one warning for all of them (count and first reason).
Arrow gives nested structs every key seen in any row, missing ones as ``None``: such ``None`` values are
dropped from tool schemas before normalising.
"""

from __future__ import annotations

import ast
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import BitagentError
from ._types import ExpectedCall, Task, TaskFormatError, Tool, normalise_tool
from .glaive import parse_glaive_v2, parse_tools_field, sharegpt_to_tasks

__all__ = ["DatasetsUnavailable", "convert_hf_record", "load_hf_tasks"]

log = logging.getLogger(__name__)

_LOCAL_BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv", ".arrow": "arrow"}


class DatasetsUnavailable(BitagentError, RuntimeError):
    """The optional ``datasets`` package is not installed."""


def _import_datasets() -> Any:  # the datasets module (untyped)
    try:
        import datasets
    except ImportError:
        raise DatasetsUnavailable(
            "loading Hugging Face datasets needs the `datasets` package: pip install 'bitagent-cli[data]'"
        ) from None
    return datasets


def _strip_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_none(v) for v in obj]
    return obj


def _maybe_json(value: Any) -> Any:
    """A JSON string's value (or a Python-literal dict/list, as some rows hold ``str(dict)``); else as is."""
    if isinstance(value, str):
        s = value.strip()
        if s[:1] in ("{", "["):
            try:
                return json.loads(s)
            except (json.JSONDecodeError, RecursionError):
                pass
            if len(s) <= 100_000:
                try:
                    return ast.literal_eval(s)  # literals only: never evaluates code
                except (ValueError, SyntaxError, RecursionError, MemoryError):
                    pass
    return value


def _tools(raw: Any) -> tuple[Tool, ...]:
    return tuple(normalise_tool(_strip_none(t)) for t in parse_tools_field(raw))


def _category(n_tools: int, n_calls: int) -> str:
    if n_calls == 0:
        return "irrelevance"
    if n_calls > 1:
        return "parallel_multiple" if n_tools > 1 else "parallel"
    return "multiple" if n_tools > 1 else "simple"


# ---------------------------------------------------------------- per format
_ROLE = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "system": "system",
    "tool response": "tool",
    "tool_response": "tool",
    "tool": "tool",
}


def _bitagent_row(row: dict[str, Any], prefix: str, meta: dict[str, Any]) -> list[Task]:
    conv = _maybe_json(row.get("conversation"))
    if not isinstance(conv, list):
        raise TaskFormatError("'conversation' must be a list (or a JSON string of one)")
    tools = _tools(row.get("tools"))
    messages: list[dict[str, Any]] = []
    call: Any = None
    for m in conv:
        m = _strip_none(m) if isinstance(m, dict) else m
        if not isinstance(m, dict):
            raise TaskFormatError("every conversation message must be an object")
        role = str(m.get("role", "")).lower()
        if role in ("tool call", "tool_call", "function_call"):
            call = _maybe_json(m.get("content"))
            break
        mapped = _ROLE.get(role)
        if mapped is None:
            raise TaskFormatError(f"unknown conversation role {m.get('role')!r}")
        content = m.get("content")
        messages.append(
            {
                "role": mapped,
                "content": content if isinstance(content, str) else json.dumps(content, ensure_ascii=False),
            }
        )
    if call is None:
        raise TaskFormatError("no 'tool call' message in the conversation")
    if not isinstance(call, dict):
        raise TaskFormatError("the 'tool call' content must be an object")
    expected: tuple[ExpectedCall, ...] = ()
    if call.get("name"):
        args = _maybe_json(call.get("arguments") or {})
        if not isinstance(args, dict):
            raise TaskFormatError("the tool call's 'arguments' must be an object")
        if call.get("is_ground_truth"):
            expected = (ExpectedCall.from_dict({"name": call["name"], "arguments": args}),)
        else:
            expected = (ExpectedCall(call["name"], {k: [v] for k, v in args.items()}),)
    if not messages:
        raise TaskFormatError("no message before the tool call")
    return [
        Task(
            id=prefix,
            category=_category(len(tools), len(expected)),
            messages=tuple(messages),
            tools=tools,
            expected=expected,
            meta=meta,
        )
    ]


def _xlam_params(params: Any) -> dict[str, Any]:
    """xLAM's flat ``{param: {type: "int, optional", description, default}}`` -> JSON schema."""
    if isinstance(params, dict) and ("properties" in params or params.get("type") in ("object", "dict")):
        return params
    props: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in (params or {}).items():
        spec = dict(spec) if isinstance(spec, dict) else {}
        t = str(spec.get("type", "string"))
        optional = "optional" in t.lower()
        t = t.replace(", optional", "").replace(",optional", "").strip()
        low = t.lower()
        spec["type"] = "array" if low.startswith(("list", "tuple")) else "object" if low.startswith("dict") else t
        if not optional and "default" not in spec:
            required.append(name)
        props[name] = spec
    return {"type": "object", "properties": props, "required": required}


def _xlam_row(row: dict[str, Any], prefix: str, meta: dict[str, Any]) -> list[Task]:
    raw_tools = parse_tools_field(row.get("tools"))
    tools = tuple(
        normalise_tool({**_strip_none(t), "parameters": _xlam_params(_strip_none(t.get("parameters")))})
        for t in raw_tools
    )
    answers = _maybe_json(row.get("answers"))
    if not isinstance(answers, list):
        raise TaskFormatError("'answers' must be a list (or a JSON string of one)")
    expected = tuple(
        ExpectedCall(a["name"], {k: [v] for k, v in (_maybe_json(a.get("arguments")) or {}).items()}) for a in answers
    )
    return [
        Task(
            id=prefix,
            category=_category(len(tools), len(expected)),
            messages=({"role": "user", "content": str(row.get("query"))},),
            tools=tools,
            expected=expected,
            meta=meta,
        )
    ]


def convert_hf_record(row: dict[str, Any], *, id_prefix: str, meta: dict[str, Any] | None = None) -> list[Task]:
    """The tasks of one dataset row (see the module doc for the formats); raises ``TaskFormatError``."""
    meta = dict(meta or {})
    if isinstance(row.get("chat"), str) and "system" in row:
        tools, conv = parse_glaive_v2(row.get("system"), row["chat"])
        return sharegpt_to_tasks(conv, tools, id_prefix=id_prefix, meta=meta)
    if "conversations" in row:
        conv = _maybe_json(row["conversations"])
        if not isinstance(conv, list):
            raise TaskFormatError("'conversations' must be a list")
        system = row.get("system") if isinstance(row.get("system"), str) else None
        return sharegpt_to_tasks(
            [_strip_none(c) for c in conv],
            _strip_none(_maybe_json(row.get("tools"))),
            id_prefix=id_prefix,
            system=system,
            meta=meta,
        )
    if "conversation" in row:
        return _bitagent_row(row, id_prefix, meta)
    if "query" in row and "answers" in row:
        return _xlam_row(row, id_prefix, meta)
    if "messages" in row and "id" in row:
        return [Task.from_dict(_strip_none(row))]
    raise TaskFormatError(f"unrecognised row format (keys: {', '.join(sorted(row))})")


def load_hf_tasks(
    dataset: str,
    *,
    split: str = "train",
    data_files: str | list[str] | dict[str, Any] | None = None,
    limit: int | None = None,
    revision: str | None = None,
    streaming: bool | None = None,
    **load_kwargs: Any,
) -> list[Task]:
    """Load a dataset with ``datasets.load_dataset`` and convert its rows to tasks (at most ``limit``).

    With a ``limit`` the dataset is streamed (nothing beyond the rows needed is downloaded) unless
    ``streaming=False``. Raises :class:`DatasetsUnavailable` when ``datasets`` is missing.
    """
    ds_mod = _import_datasets()
    name = dataset
    suffix = Path(dataset).suffix.lower()
    if data_files is None and suffix in _LOCAL_BUILDERS and Path(dataset).exists():
        data_files, dataset = dataset, _LOCAL_BUILDERS[suffix]
    if data_files is not None and dataset in _LOCAL_BUILDERS.values():
        first = (
            data_files
            if isinstance(data_files, str)
            else (next(iter(data_files.values())) if isinstance(data_files, dict) else data_files[0])
        )
        first = first if isinstance(first, str) else first[0]
        name = Path(first).name.split(".")[0]
    if streaming is None:
        streaming = limit is not None
    kwargs: dict[str, Any] = dict(load_kwargs)
    if data_files is not None:
        kwargs["data_files"] = data_files
    if revision is not None:
        kwargs["revision"] = revision
    ds = ds_mod.load_dataset(dataset, split=split, streaming=streaming, **kwargs)
    return _convert_rows(ds, name=name, limit=limit)


def _convert_rows(rows: Iterable[dict[str, Any]], *, name: str, limit: int | None) -> list[Task]:
    out: list[Task] = []
    seen: set[str] = set()
    skipped = 0
    first_reason = ""
    for i, row in enumerate(rows):
        if limit is not None and len(out) >= limit:
            break
        try:
            tasks = convert_hf_record(row, id_prefix=f"{name}/{i}", meta={"source": name, "row": i})
        except (TaskFormatError, KeyError, TypeError, ValueError, AttributeError) as e:
            skipped += 1
            first_reason = first_reason or f"row {i}: {e}"
            continue
        for t in tasks:
            if t.id in seen:
                continue
            seen.add(t.id)
            out.append(t)
            if limit is not None and len(out) >= limit:
                break
    if skipped:
        log.warning("%s: skipped %d row(s) that could not be read (first: %s)", name, skipped, first_reason)
    return out
