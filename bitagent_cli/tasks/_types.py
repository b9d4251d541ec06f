"""The one task type and the one function-call type that flow through bitagent.

Everything else (suites, serving, scoring, the store, the miner and the validator) speaks in
these types. They are plain dataclasses with ``to_dict`` / ``from_dict`` so that they round-trip
through the JSONL contract in ``docs/task-format.md`` without loss.

Tool schemas are accepted in three styles and normalised to JSON-schema style:

* JSON schema: ``{"name", "description", "parameters": {"type": "object", "properties": {...}, "required": [...]}}``
* the subnet's wire style: ``{"name", "description", "arguments": {"x": {"required": true, "type": "number"}}}``
* BFCL's style: ``"type": "dict"`` and Python type names (``float``, ``tuple``, ``any``, ``str``...).

The Python type a schema was written with is kept where JSON schema is less precise (``float`` vs
``integer``, ``tuple``), so the scorer can check types exactly as BFCL does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import BitagentError

__all__ = [
    "CATEGORIES",
    "EXTRA_CATEGORIES",
    "ExpectedCall",
    "FunctionCall",
    "Task",
    "TaskFormatError",
    "Tool",
    "base_category",
    "normalise_schema",
    "normalise_tool",
]

#: The categories of the contract; each may carry a ``live_`` prefix.
CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance", "relevance")

#: BFCL's categories beyond the contract's: calls in Java / JavaScript syntax (one expected call, argument values
#: written as Java/JS literals in strings) and multi-turn conversations (``Task.multi_turn``). No ``live_`` prefix.
EXTRA_CATEGORIES = (
    "simple_java",
    "simple_javascript",
    "multi_turn_base",
    "multi_turn_miss_func",
    "multi_turn_miss_param",
    "multi_turn_long_context",
)

#: The language the calls of a category are written in (default ``python``).
_LANGUAGES = {"simple_java": "java", "simple_javascript": "javascript"}


class TaskFormatError(BitagentError, ValueError):
    """A task, tool or call that does not follow the contract."""


def base_category(category: str) -> str:
    """``live_parallel`` -> ``parallel``; unknown names are returned unchanged."""
    return category[5:] if category.startswith("live_") else category


# JSON-schema type for every spelling seen in the wild (BFCL's Python names, the subnet's wire names).
_TYPE_ALIASES: dict[str, str] = {
    "string": "string",
    "str": "string",
    "text": "string",
    "char": "string",
    "integer": "integer",
    "int": "integer",
    "long": "integer",
    "number": "number",
    "float": "number",
    "double": "number",
    "decimal": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "object": "object",
    "dict": "object",
    "dictionary": "object",
    "hashmap": "object",
    "map": "object",
    "null": "null",
    "none": "null",
    "any": "any",
}


def _norm_type(raw: Any) -> tuple[Any, str | None]:
    """Return (json-schema type, python-type hint or None)."""
    if isinstance(raw, list):  # union types: normalise each
        return [_norm_type(t)[0] for t in raw], None
    if not isinstance(raw, str):
        return raw, None
    key = raw.strip().lower()
    if key.startswith(("list[", "array[", "tuple[")):
        key = key.split("[", 1)[0]
    if key.startswith(("dict[", "object[")):
        key = key.split("[", 1)[0]
    mapped = _TYPE_ALIASES.get(key)
    if mapped is None:
        return raw, None
    hint = None
    if key in ("float", "double", "decimal"):
        hint = "float"
    elif key == "tuple":
        hint = "tuple"
    elif key == "any":
        hint = "any"
    return mapped, hint


def normalise_schema(schema: Any, _depth: int = 0) -> Any:
    """Normalise one (possibly nested) parameter schema to JSON-schema style.

    Python type names become JSON-schema names; the original Python name is kept under
    ``x-python-type`` where JSON schema would lose it (``float``, ``tuple``, ``any``).
    """
    if _depth > 32 or not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k == "type":
            t, hint = _norm_type(v)
            if t == "any":
                if hint:
                    out["x-python-type"] = hint
                continue
            out["type"] = t
            if hint:
                out["x-python-type"] = hint
        elif k == "properties" and isinstance(v, dict):
            out["properties"] = {pk: normalise_schema(pv, _depth + 1) for pk, pv in v.items()}
        elif k in ("items", "additionalProperties") and isinstance(v, dict):
            out[k] = normalise_schema(v, _depth + 1)
        elif k in ("anyOf", "oneOf", "allOf") and isinstance(v, list):
            out[k] = [normalise_schema(x, _depth + 1) for x in v]
        else:
            out[k] = v
    return out


def normalise_tool(raw: Any) -> Tool:
    """Accept a tool in JSON-schema, OpenAI (``{"type": "function", "function": {...}}``), wire or BFCL
    style and return the normalised :class:`Tool`."""
    if isinstance(raw, Tool):
        return raw
    if not isinstance(raw, dict):
        raise TaskFormatError(f"a tool must be a JSON object, got {type(raw).__name__}")
    if raw.get("type") == "function" and isinstance(raw.get("function"), dict):
        raw = raw["function"]
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise TaskFormatError("a tool needs a non-empty string 'name'")
    description = raw.get("description") or ""
    if not isinstance(description, str):
        description = str(description)
    if "parameters" in raw and raw["parameters"] is not None:
        params = raw["parameters"]
        if not isinstance(params, dict):
            raise TaskFormatError(f"tool {name!r}: 'parameters' must be an object")
        params = normalise_schema(params)
        params.setdefault("type", "object")
        params.setdefault("properties", {})
        if not isinstance(params.get("required", []), list):
            raise TaskFormatError(f"tool {name!r}: 'required' must be a list")
    elif isinstance(raw.get("arguments"), dict):  # the subnet's wire style
        props: dict[str, Any] = {}
        required: list[str] = []
        for arg, spec in raw["arguments"].items():
            spec = dict(spec) if isinstance(spec, dict) else {}
            if spec.pop("required", False) in (True, "true", "True"):
                required.append(arg)
            props[arg] = normalise_schema(spec)
        params = {"type": "object", "properties": props, "required": required}
    else:
        params = {"type": "object", "properties": {}, "required": []}
    return Tool(name=name, description=description, parameters=params)


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool the model may call, in normalised JSON-schema style."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    @property
    def properties(self) -> dict[str, Any]:
        return self.parameters.get("properties") or {}

    @property
    def required(self) -> list[str]:
        return list(self.parameters.get("required") or [])

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry (``x-python-type`` hints stripped)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": _strip_hints(self.parameters),
            },
        }

    def to_wire(self) -> dict[str, Any]:
        """The subnet's wire style (``arguments`` with per-argument ``required``)."""
        req = set(self.required)
        args = {k: {**_strip_hints(v), "required": k in req} for k, v in self.properties.items()}
        return {"name": self.name, "description": self.description, "arguments": args}


#: Schema keys of ours (type hints for the checker), never sent to a model.
HINT_KEYS = frozenset({"x-python-type", "x-bfcl-type", "x-bfcl-items-type"})


def _strip_hints(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_hints(v) for k, v in schema.items() if k not in HINT_KEYS}
    if isinstance(schema, list):
        return [_strip_hints(v) for v in schema]
    return schema


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """One call a model made: a function name and its keyword arguments (already decoded)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}

    def to_openai(self, call_id: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments)},
        }
        if call_id:
            out["id"] = call_id
        return out

    def to_python(self) -> str:
        """``name(a=1, b='x')``: the pythonic form the subnet's miners traditionally answer with."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.name}({args})"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FunctionCall:
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise TaskFormatError("a call needs a string 'name'")
        args = d.get("arguments", {})
        if not isinstance(args, dict):
            raise TaskFormatError(f"call {d['name']!r}: 'arguments' must be an object")
        return cls(name=d["name"], arguments=args)


@dataclass(frozen=True, slots=True)
class ExpectedCall:
    """One call a correct answer makes: each argument maps to its list of acceptable values.

    ``""`` in a list means the argument may be left out (BFCL's convention).
    """

    name: str
    arguments: dict[str, list[Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}

    @classmethod
    def from_dict(cls, d: Any) -> ExpectedCall:
        if not isinstance(d, dict):
            raise TaskFormatError("each 'expected' entry must be an object")
        if "name" not in d and len(d) == 1:  # BFCL's {"fn": {"arg": [...]}} form
            ((name, args),) = d.items()
        else:
            name, args = d.get("name"), d.get("arguments", {})
        if not isinstance(name, str) or not name:
            raise TaskFormatError("each 'expected' entry needs a string 'name'")
        if not isinstance(args, dict):
            raise TaskFormatError(f"expected call {name!r}: 'arguments' must be an object")
        norm = {k: (v if isinstance(v, list) else [v]) for k, v in args.items()}
        return cls(name=name, arguments=norm)

    def first_answer(self, required: set[str] | frozenset[str] = frozenset()) -> FunctionCall:
        """The call made of each argument's first acceptable value, nested BFCL-style dicts included.

        ``""`` first means the argument may be left out, and it is, unless it is in ``required`` (BFCL's data marks
        some required arguments ``["", x]``): then the first real value is used."""
        args: dict[str, Any] = {}
        for k, values in self.arguments.items():
            if not values:
                continue
            if values[0] != "":
                args[k] = materialise(values[0])
            elif k in required:
                real = [v for v in values if v != ""]
                if real:
                    args[k] = materialise(real[0])
        return FunctionCall(self.name, args)


def materialise(value: Any) -> Any:
    """One concrete value from an acceptable value: a BFCL-style dict (each key -> list of acceptable
    values, ``""`` = may be left out) becomes a plain dict of each key's first acceptable value."""
    if isinstance(value, dict):
        if value and all(isinstance(v, list) for v in value.values()):
            return {k: materialise(alts[0]) for k, alts in value.items() if alts and alts[0] != ""}
        return {k: materialise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialise(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Task:
    """One tool-calling task: a conversation, the tools offered and the calls a correct answer makes."""

    id: str
    category: str
    messages: tuple[dict[str, Any], ...]
    tools: tuple[Tool, ...]
    expected: tuple[ExpectedCall, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    #: Multi-turn tasks only: BFCL's fields (``turns``, ``involved_classes``, ``initial_config``, ``ground_truth``,
    #: ``missed_function``, ``path``, ``excluded_function``); see docs/suites.md.
    multi_turn: dict[str, Any] | None = None
    #: Derived at construction: a single-turn task whose calls are written in Python (the scorer's common case,
    #: tested once per task there). ``meta["language"]`` is read when the task is made.
    single_python: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "single_python", self.multi_turn is None and self.language == "python")

    @property
    def base_category(self) -> str:
        return base_category(self.category)

    @property
    def language(self) -> str:
        """``python``, ``java`` or ``javascript``: the syntax of the calls (``meta["language"]`` or the category)."""
        lang = self.meta.get("language") if isinstance(self.meta, dict) else None
        return lang if lang in ("python", "java", "javascript") else _LANGUAGES.get(self.category, "python")

    def tool(self, name: str) -> Tool | None:
        for t in self.tools:
            if t.name == name:
                return t
        return None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "category": self.category,
            "messages": list(self.messages),
            "tools": [t.to_dict() for t in self.tools],
            "expected": [e.to_dict() for e in self.expected],
        }
        if self.meta:
            d["meta"] = self.meta
        if self.multi_turn is not None:
            d["multi_turn"] = self.multi_turn
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_dict(cls, d: Any) -> Task:
        if not isinstance(d, dict):
            raise TaskFormatError("a task must be a JSON object")
        tid = d.get("id")
        if not isinstance(tid, str) or not tid:
            raise TaskFormatError("a task needs a non-empty string 'id'")
        category = d.get("category", "simple")
        if not isinstance(category, str) or (
            base_category(category) not in CATEGORIES and category not in EXTRA_CATEGORIES
        ):
            raise TaskFormatError(
                f"task {tid!r}: unknown category {category!r} (one of {', '.join(CATEGORIES)}, optionally live_, "
                f"or {', '.join(EXTRA_CATEGORIES)})"
            )
        messages = d.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise TaskFormatError(f"task {tid!r}: 'messages' must be a list of objects")
        for m in messages:
            if not isinstance(m.get("role"), str):
                raise TaskFormatError(f"task {tid!r}: every message needs a string 'role'")
        tools_raw = d.get("tools", [])
        if isinstance(tools_raw, str):
            try:
                tools_raw = json.loads(tools_raw)
            except json.JSONDecodeError as e:
                raise TaskFormatError(f"task {tid!r}: 'tools' is a string that is not JSON") from e
        if not isinstance(tools_raw, list):
            raise TaskFormatError(f"task {tid!r}: 'tools' must be a list")
        try:
            tools = tuple(normalise_tool(t) for t in tools_raw)
            expected_raw = d.get("expected", [])
            if not isinstance(expected_raw, list):
                raise TaskFormatError("'expected' must be a list")
            expected = tuple(ExpectedCall.from_dict(e) for e in expected_raw)
        except TaskFormatError as e:
            raise TaskFormatError(f"task {tid!r}: {e}") from None
        meta = d.get("meta") or {}
        multi_turn = d.get("multi_turn")
        if multi_turn is not None:
            if (
                not isinstance(multi_turn, dict)
                or not isinstance(multi_turn.get("turns"), list)
                or not all(isinstance(t, list) and all(isinstance(m, dict) for m in t) for t in multi_turn["turns"])
            ):
                raise TaskFormatError(
                    f"task {tid!r}: 'multi_turn' must be an object whose 'turns' is a list of lists of messages"
                )
        elif category.startswith("multi_turn_"):
            raise TaskFormatError(f"task {tid!r}: a {category} task needs a 'multi_turn' object")
        return cls(
            id=tid,
            category=category,
            messages=tuple(messages),
            tools=tools,
            expected=expected,
            meta=meta if isinstance(meta, dict) else {},
            multi_turn=multi_turn,
        )

    @classmethod
    def from_json(cls, line: str) -> Task:
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise TaskFormatError(f"not valid JSON ({e.msg} at column {e.colno})") from None
        return cls.from_dict(d)
