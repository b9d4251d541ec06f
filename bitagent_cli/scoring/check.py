"""Check parsed calls against a task's expected calls, as BFCL's AST checker does, with its known flaws fixed.

The rules (``docs/scoring.md`` has the examples):

* function name: exact, dotted names included; the ``.`` -> ``_`` spelling some APIs force is accepted too,
  and a leading ``functions.`` is ignored. A wrong name scores 0, never partial credit.
* required arguments (the tool schema's ``required`` plus every expected argument whose acceptable values do
  not include ``""``) must be present; arguments the expected call does not list are unexpected.
* values: one of the acceptable values. Strings compare after BFCL's normalisation (spaces and ``,./-_*^``
  removed, lower case, ``'`` -> ``"``), at any depth; an int stands for a float at any depth (``20`` for
  ``20.0``), but a float where the schema's type is not a number (an ``integer``, at any depth of arrays) is
  a type error, as in BFCL (``math.factorial(number=5.0)``); booleans only with booleans; lists are
  ordered, tuples are lists; dicts compare key by key, where a BFCL-style expected dict maps each key to its
  own list of acceptable values.
* an explicit ``null`` for an argument that may be omitted counts as omitted.
* ``simple``/``multiple``: exactly one call; ``parallel``/``parallel_multiple``: the same number of calls as
  expected, matched in any order (a real bipartite matching, not BFCL's greedy first fit);
  ``irrelevance`` (or ``expected: []``): no call, and the output must be readable: a malformed call is not a
  refusal; ``relevance``: at least one readable call to one of the offered tools.

``score_task(..., rules="bfcl")`` applies BFCL's own rules instead (``bfcl_rules``). ``score_task`` never
raises on model output; every loop here is bounded by the sizes of the output (capped by the parser) and of
the task.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..tasks import ExpectedCall, FunctionCall, Task, TaskFormatError
from .parse import _read

__all__ = ["ERROR_CODES", "RULES", "Response", "ScoreResult", "normalise_string", "score_task", "summarise"]

#: Every error code a result can carry, roughly in the order the checks run. ``scoring_error`` is the scorer's
#: own failure on an output it did not foresee (a bug to report): the answer scores 0, nothing raises.
ERROR_CODES = (
    "no_response",
    "unparseable",
    "should_not_call",
    "no_call",
    "wrong_count",
    "wrong_func_name",
    "missing_required",
    "unexpected_param",
    "wrong_type",
    "wrong_value",
    "scoring_error",
)

#: The rule sets: ``bitagent`` (BFCL's checker with its known flaws fixed, docs/scoring.md) and ``bfcl``
#: (BFCL's own decoder and checker rules, flaws included: the leaderboard's verdict).
RULES = ("bitagent", "bfcl")

# How far a candidate call got through the checks (used to report the closest miss among parallel calls).
_PROGRESS = {"wrong_func_name": 0, "missing_required": 1, "unexpected_param": 2, "wrong_type": 3, "wrong_value": 4}

# --------------------------------------------------------------------------------------------- strings
_DELETE = str.maketrans("", "", " ,./-_*^")


def normalise_string(s: str) -> str:
    """BFCL's ``standardize_string``: drop spaces and ``,./-_*^``, lower-case, ``'`` -> ``"``."""
    return s.translate(_DELETE).lower().replace("'", '"')


# --------------------------------------------------------------------------------------------- responses
@dataclass(slots=True)
class Response:
    """One line of a responses file: the model's raw ``text`` and/or its OpenAI ``tool_calls``."""

    id: str
    text: str | None = None
    tool_calls: list[Any] | None = None

    @classmethod
    def from_dict(cls, d: Any) -> Response:
        if not isinstance(d, dict):
            raise TaskFormatError("a response must be a JSON object")
        rid = d.get("id")
        if not isinstance(rid, str) or not rid:
            raise TaskFormatError("a response needs a non-empty string 'id'")
        text: Any = d.get("response", d.get("text", d.get("content")))
        tool_calls: Any = d.get("tool_calls")
        if isinstance(text, (list, dict)):  # structured calls given as the response itself
            if tool_calls is None:
                tool_calls = text if isinstance(text, list) else [text]
            text = None
        if text is not None and not isinstance(text, str):
            raise TaskFormatError(f"response {rid!r}: 'response' must be a string")
        if tool_calls is None and isinstance(d.get("function_call"), dict):  # legacy OpenAI field
            tool_calls = [{"function": d["function_call"]}]
        if isinstance(tool_calls, str):
            import json

            try:
                tool_calls = json.loads(tool_calls) if tool_calls.strip() else None
            except ValueError:
                raise TaskFormatError(f"response {rid!r}: 'tool_calls' is a string that is not JSON") from None
        if tool_calls is not None and not isinstance(tool_calls, list):
            raise TaskFormatError(f"response {rid!r}: 'tool_calls' must be a list")
        return cls(id=rid, text=text, tool_calls=tool_calls)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "response": self.text}
        if self.tool_calls is not None:
            d["tool_calls"] = self.tool_calls
        return d


# --------------------------------------------------------------------------------------------- results
@dataclass(slots=True)
class ScoreResult:
    """The verdict on one task."""

    id: str
    category: str
    correct: bool
    score: float
    error: str | None
    criteria: dict[str, bool | None]
    feedback: str
    calls: list[FunctionCall] = field(default_factory=list)
    format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "correct": self.correct,
            "score": self.score,
            "error": self.error,
            "criteria": self.criteria,
            "feedback": self.feedback,
            "calls": [c.to_dict() for c in self.calls],
            "format": self.format,
        }


def _criteria(
    parsed: bool | None = None,
    call_count: bool | None = None,
    function_names: bool | None = None,
    required_args: bool | None = None,
    no_unexpected_args: bool | None = None,
    arg_types: bool | None = None,
    arg_values: bool | None = None,
) -> dict[str, bool | None]:
    """Per-criterion breakdown; ``None`` = not checked (an earlier criterion already failed, or n/a)."""
    return {
        "parsed": parsed,
        "call_count": call_count,
        "function_names": function_names,
        "required_args": required_args,
        "no_unexpected_args": no_unexpected_args,
        "arg_types": arg_types,
        "arg_values": arg_values,
    }


_ALL_TRUE = _criteria(True, True, True, True, True, True, True)
_NO_CALL_OK = _criteria(True, True)


def _criteria_for(error: str | None) -> dict[str, bool | None]:
    if error is None:
        return _ALL_TRUE.copy()
    p = _PROGRESS[error]
    vals: list[bool | None] = [True, True]
    for i in range(5):
        vals.append(True if i < p else False if i == p else None)
    return _criteria(*vals)


# --------------------------------------------------------------------------------------------- compiled tasks
def _prep(v: Any) -> Any:
    """An acceptable value with its strings normalised (deeply), ready for :func:`_eq`."""
    t = type(v)
    if t is str:
        return normalise_string(v)
    if t is list or t is tuple:
        return [_prep(x) for x in v]
    if t is dict:
        return {k: _prep(x) for k, x in v.items()}
    return v


@dataclass(slots=True)
class _Param:
    """One expected argument's acceptable values, prepared for the slower comparisons."""

    optional: bool  # "" is acceptable: the argument may be left out
    strs: frozenset[str]  # normalised acceptable strings
    nums: tuple[Any, ...]  # acceptable numbers (int/float, not bool)
    none_ok: bool
    structured: tuple[Any, ...]  # acceptable lists/dicts, strings normalised


class _Expected:
    """One expected call, compiled: name spellings, required arguments, acceptable values per argument
    (prepared lazily: an exact hit on a listed value needs no preparation)."""

    __slots__ = ("_params", "name", "names", "props", "required", "values")

    def __init__(self, name: str, values: dict[str, list[Any]], required: tuple[str, ...], props: dict[str, Any]):
        self.name = name
        self.names = (name, name.replace(".", "_")) if "." in name else (name,)
        self.values = values
        self.required = required
        self.props = props
        self._params: dict[str, _Param] | None = None

    def param(self, k: str) -> _Param:
        if self._params is None:
            self._params = {}
        p = self._params.get(k)
        if p is None:
            p = self._params[k] = _compile_param(self.values[k])
        return p


class _Compiled:
    __slots__ = ("_task", "expected")

    def __init__(self, expected: tuple[_Expected, ...], task: Task):
        self.expected = expected
        self._task = task  # keeps id(task) from being reused while this entry is cached


def _compile_param(values: list[Any]) -> _Param:
    strs, nums, structured = set(), [], []
    none_ok = optional = False
    for v in values:
        t = type(v)
        if t is str:
            if v == "":
                optional = True
            strs.add(normalise_string(v))
        elif t is int or t is float:
            nums.append(v)
        elif v is None:
            none_ok = True
        elif t is not bool:
            structured.append(_prep(v))
    return _Param(optional, frozenset(strs), tuple(nums), none_ok, tuple(structured))


_NO_PROPS: dict[str, Any] = {}


def _compile_task(task: Task) -> _Compiled:
    out = []
    for e in task.expected:
        tool = None
        for t in task.tools:
            if t.name == e.name:
                tool = t
                break
        if tool is not None:
            params = tool.parameters
            props = params.get("properties") or _NO_PROPS
            schema_req = params.get("required") or ()
        else:
            props, schema_req = _NO_PROPS, ()
        values = e.arguments
        if props:
            for k in values:
                if k not in props:  # an expected argument the tool does not define cannot be passed
                    values = {k: v for k, v in values.items() if k in props}
                    break
        required = [k for k, v in values.items() if "" not in v]
        for k in schema_req:
            if k not in values or "" in values[k]:
                required.append(k)
        out.append(_Expected(e.name, values, tuple(required), props))
    return _Compiled(tuple(out), task)


def _name_variants(name: str) -> tuple[str, ...]:
    return (name, name.replace(".", "_")) if "." in name else (name,)


# Compiled tasks by id(task); each entry holds its task, so an id cannot be reused while it is cached.
_CACHE: dict[int, _Compiled] = {}
_CACHE_MAX = 200_000


#: Tasks scored once so far, by id(task). Each entry holds its task, as _CACHE does, so that a dead task's id
#: reused by a new one is not taken for "seen" (which made first sights compile, at random).
_SEEN: dict[int, Task] = {}


def _compiled(task: Task) -> _Compiled:
    key = id(task)
    c = _CACHE.get(key)
    if c is not None and c._task is task:
        return c
    c = _compile_task(task)
    if _SEEN.get(key) is not task:  # scored once so far: caching would not pay off yet
        if len(_SEEN) >= _CACHE_MAX:
            _SEEN.clear()
        _SEEN[key] = task
        return c
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = c
    return c


# --------------------------------------------------------------------------------------------- values
def _num_eq(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if type(a) is float or type(b) is float:
        try:
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
        except OverflowError:  # an int beyond float range (1e400 digits written out) against a float
            return False
    return False


def _eq(v: Any, a: Any) -> bool:
    """Does model value ``v`` equal prepared acceptable value ``a``?"""
    ta, tv = type(a), type(v)
    if ta is str:
        return tv is str and normalise_string(v) == a
    if ta is bool or tv is bool:
        return ta is tv and v == a
    if ta is int or ta is float:
        return (tv is int or tv is float) and _num_eq(v, a)
    if a is None:
        return v is None
    if ta is list:
        return (tv is list or tv is tuple) and len(v) == len(a) and all(_eq(x, y) for x, y in zip(v, a, strict=False))
    if ta is dict:
        if tv is not dict:
            return False
        if a and all(type(x) is list for x in a.values()):  # BFCL's convention, as in every shipped suite
            return _alt_dict_eq(v, a)
        return v.keys() == a.keys() and all(_eq(v[k], a[k]) for k in a)
    return bool(v == a)


def _alt_dict_eq(v: dict[str, Any], a: dict[str, Any]) -> bool:
    """BFCL's dict convention: each expected key maps to a list of acceptable values ("" = may be left out).
    Only this reading applies to such a dict (``{"field": ["age"]}`` wants ``"age"``, not ``["age"]``, as in
    BFCL); a list value is written as a list in the list (``{"tags": [["a", "b"]]}``)."""
    for k, x in v.items():
        alts = a.get(k)
        if alts is None:
            return False
        if x is None and "" in alts:
            continue
        if not any(_eq(x, y) for y in alts):
            return False
    for k, alts in a.items():
        if k not in v and "" not in alts:
            return False
    return True


def _matches(v: Any, p: _Param) -> bool:
    """Slow path of the value comparison (the exact hits were tried already)."""
    tv = type(v)
    if tv is str:
        return normalise_string(v) in p.strs
    if tv is bool:
        return False
    if tv is int or tv is float:
        return any(_num_eq(v, a) for a in p.nums)
    if v is None:
        return p.none_ok
    return any(_eq(v, a) for a in p.structured)


def _exact_hit(v: Any, values: list[Any]) -> bool:
    """Is ``v`` literally one of the listed values (bools never standing in for numbers)?"""
    tv = type(v)
    if tv is str:
        return v in values
    if tv is int or tv is float:
        if v in values:
            for a in values:
                if a == v and type(a) is not bool:
                    return True
        return False
    if tv is bool:
        for a in values:
            if a is v:
                return True
    return False


_TYPE_OK = {
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
    "array": lambda v: type(v) is list or type(v) is tuple,
    "object": lambda v: type(v) is dict,
    "null": lambda v: v is None,
}


def _conforms(v: Any, schema: Any, depth: int = 0) -> bool:
    """Does ``v`` have the type the (normalised) schema asks for (element types included)?"""
    if not isinstance(schema, dict) or depth > 32:
        return True
    t = schema.get("type")
    if t is None:
        alts = schema.get("anyOf") or schema.get("oneOf")
        return not isinstance(alts, list) or any(_conforms(v, s, depth + 1) for s in alts)
    types = t if isinstance(t, list) else [t]
    ok = False
    for ty in types:
        check = _TYPE_OK.get(ty)
        if check is None or check(v):
            ok = True
            break
    if not ok:
        return False
    if type(v) in (list, tuple) and isinstance(schema.get("items"), dict):
        return all(_conforms(x, schema["items"], depth + 1) for x in v)
    return True


def _no_float(schema: dict[str, Any]) -> bool:
    """Does the schema give a type that is not a number (``integer``, ``string``...)?"""
    t = schema.get("type")
    if type(t) is str:
        return t != "number"
    return type(t) is list and "number" not in t


def _float_for_int(v: Any, schema: Any, depth: int = 0) -> bool:
    """Is ``v`` a float where the schema's type is not a number (an integer, say), or an array (of arrays...)
    holding one? BFCL checks these types (``math.factorial(number=5.0)`` is a type error); values inside
    dicts are not type-checked, as in BFCL."""
    if type(schema) is not dict or depth > 32:
        return False
    tv = type(v)
    if tv is float:
        return _no_float(schema)
    if tv is list or tv is tuple:
        items = schema.get("items")
        return type(items) is dict and any(_float_for_int(x, items, depth + 1) for x in v)
    return False


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "a list",
    "object": "a dict",
    "null": "null",
}


def _type_word(v: Any) -> str:
    t = type(v)
    return {
        str: "a string",
        int: "an integer",
        float: "a float",
        bool: "a boolean",
        list: "a list",
        tuple: "a list",
        dict: "a dict",
    }.get(t, "null" if v is None else t.__name__)


# --------------------------------------------------------------------------------------------- one call
@dataclass(slots=True)
class _Miss:
    code: str
    call: str
    param: str | None = None
    value: Any = None
    schema: Any = None


def _model_name(name: str) -> str:
    return name[10:] if name.startswith("functions.") else name


def _check_call(e: _Expected, call: FunctionCall) -> _Miss | None:
    name = call.name
    if name not in e.names and _model_name(name) not in e.names:
        return _Miss("wrong_func_name", name)
    args = call.arguments
    for r in e.required:
        if r not in args:
            return _Miss("missing_required", name, r)
    expected = e.values
    for k, v in args.items():
        values = expected.get(k)
        if values is None:
            if v is None and k in e.props and k not in e.required:
                continue  # an explicit null for an optional argument = left out
            return _Miss("unexpected_param", name, k)
        tv = type(v)
        if tv is str:  # the exact hits, inline (the common case); bools never stand in for numbers
            if v in values:
                continue
        elif tv is int:
            if v in values and (True not in values or _exact_hit(v, values)):
                continue
        elif tv is float or tv is list or tv is tuple:
            schema = e.props.get(k)
            if schema is not None and _float_for_int(v, schema):  # 5.0 for an integer: as BFCL, unless the
                if any(_same(v, a) for a in values):  # expected value lists that float there (as _raw_ok)
                    continue
                return _Miss("wrong_type", name, k, v, schema)
            if tv is float and v in values and (True not in values or _exact_hit(v, values)):
                continue
        elif tv is bool:
            if _exact_hit(v, values):
                continue
        p = e.param(k)
        if _matches(v, p) or (v is None and p.optional):
            continue
        schema = e.props.get(k)
        if schema is not None and not _conforms(v, schema):
            return _Miss("wrong_type", name, k, v, schema)
        return _Miss("wrong_value", name, k, v, schema)
    return None


def _same(v: Any, a: Any) -> bool:
    """Python's ``==`` without letting booleans stand in for numbers (so ``_same`` implies :func:`_eq`); a tuple
    stands for a list. An expected dict in BFCL's convention (every value a list of acceptable values) is never
    "the same" as a model's dict: only :func:`_alt_dict_eq` reads it."""
    tv, ta = type(v), type(a)
    if tv is tuple:
        tv = list
    if tv is not ta:
        return tv is int and ta is float and v == a  # an int for a float (a float for an int: compiled check)
    if tv is list:
        return len(v) == len(a) and all(_same(x, y) for x, y in zip(v, a, strict=False))
    if tv is dict:
        if a and all(type(x) is list for x in a.values()):
            return False
        return v.keys() == a.keys() and all(_same(x, a[k]) for k, x in v.items())
    return bool(v == a)


def _same_in(v: Any, values: list[Any]) -> bool:
    for a in values:
        if a == v and _same(v, a):
            return True
    return False


def _raw_ok(task: Task, calls: list[FunctionCall]) -> bool:
    """True only if every call passes, in order, against the task's expected calls read as they are (no
    compiled data): the exact name, every argument an exact hit on a listed value, every required argument
    present. Whatever it cannot settle that way (a miss, a spelling, a value needing normalisation...) is
    False, and the compiled check decides; so True here implies the compiled check finds no miss."""
    tools = task.tools
    last = None
    for e, call in zip(task.expected, calls, strict=False):
        name = e.name
        if call.name != name:
            return False
        if name is not last:  # parallel calls to one function share its (identical) name: one lookup
            last = name
            for tool in tools:
                if tool.name == name:
                    params = tool.parameters
                    props = params.get("properties")
                    schema_req = params.get("required")
                    break
            else:
                props = schema_req = None
        args = call.arguments
        ev = e.arguments
        for k, v in args.items():
            values = ev.get(k)
            if values is None or (props and k not in props):
                return False
            tv = type(v)
            if tv is str:
                if v not in values:
                    return False
            elif tv is int:
                if v not in values or (True in values and not _exact_hit(v, values)):
                    return False
            elif tv is float:  # only a listed float: a float for an int is the compiled check's to judge
                for a in values:
                    if type(a) is float and a == v:
                        break
                else:
                    return False
            elif tv is bool:
                if not _exact_hit(v, values):
                    return False
            elif v is None:
                if None not in values:
                    return False
            elif v not in values or not _same_in(v, values):
                return False
        if len(args) != len(ev):  # an expected argument left out: it must be optional (or undefined)
            for k, values in ev.items():
                if k not in args and "" not in values and (not props or k in props):
                    return False
        if schema_req:
            for k in schema_req:
                if k not in args:
                    return False
    return True


def _match_all(exp: tuple[_Expected, ...], calls: list[FunctionCall]) -> _Miss | None:
    """A perfect matching of calls to expected calls, in any order. None when one exists, else the closest
    miss. The calls' own order is tried first (the common case); then Kuhn's augmenting paths over lazily
    checked pairs, which (unlike BFCL's greedy first fit) never misses a matching that exists. Bounded by the
    task: there are exactly as many calls as expected calls (checked before), so at most n*n pair checks."""
    n = len(exp)
    for i in range(n):
        m = _check_call(exp[i], calls[i])
        if m is not None:
            break
    else:
        return None
    memo: dict[tuple[int, int], _Miss | None] = {(i, i): m}
    return _kuhn(exp, calls, memo)


def _kuhn(exp: tuple[_Expected, ...], calls: list[FunctionCall], memo: dict[Any, Any]) -> _Miss | None:
    n = len(exp)

    def fits(i: int, j: int) -> bool:
        key = (i, j)
        if key not in memo:
            memo[key] = _check_call(exp[i], calls[j])
        return memo[key] is None

    owner = [-1] * n  # call j -> expected i

    def augment(i: int, seen: list[bool]) -> bool:
        for d in range(n):
            j = (i + d) % n  # call i first for expected i
            if not seen[j] and fits(i, j):
                seen[j] = True
                if owner[j] < 0 or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(n):
        if not augment(i, [False] * n):
            best: _Miss | None = None
            for j in range(n):
                fits(i, j)
                m = memo[(i, j)]
                if m is not None and (best is None or _PROGRESS[m.code] > _PROGRESS[best.code]):
                    best = m
            return best or _Miss("wrong_value", exp[i].name)
    return None


# --------------------------------------------------------------------------------------------- feedback
_FMT_HINT = 'write calls as [func(arg=value)] or a JSON list of {"name": ..., "arguments": {...}}'


def _feedback_for(m: _Miss, tool_names: frozenset[str]) -> str:
    if m.code == "wrong_func_name":
        if tool_names and m.call not in tool_names and _model_name(m.call) not in tool_names:
            return f"You called `{m.call}`, which is not one of the offered tools; call only the tools listed."
        return f"You called `{m.call}`, but this request needs a different one of the offered tools."
    if m.code == "missing_required":
        return f"Your call to `{m.call}` leaves out the argument `{m.param}`, which this request needs."
    if m.code == "unexpected_param":
        return (
            f"Your call to `{m.call}` passes `{m.param}`, which the tool does not define or this request "
            f"does not need; leave it out."
        )
    if m.code == "wrong_type":
        want = None
        if isinstance(m.schema, dict):
            t = m.schema.get("type")
            want = _TYPE_WORDS.get(t) if isinstance(t, str) else None
        if want:
            return (
                f"Argument `{m.param}` of `{m.call}` must be {want} per the tool's schema, "
                f"but you passed {_type_word(m.value)}."
            )
        return f"Argument `{m.param}` of `{m.call}` has the wrong type for the tool's schema."
    return (
        f"Argument `{m.param}` of `{m.call}` has a value that does not match what the request asks for; "
        f"re-read the request for it."
        if m.param
        else f"One of your calls to `{m.call}` does not match what the request asks for."
    )


# --------------------------------------------------------------------------------------------- scoring
def _result(
    task: Task,
    correct: bool,
    error: str | None,
    criteria: dict[str, Any],
    feedback: str,
    calls: list[Any] | None = None,
    fmt: str | None = None,
) -> ScoreResult:
    return ScoreResult(
        task.id,
        task.category,
        correct,
        1.0 if correct else 0.0,
        error,
        criteria,
        feedback,
        [] if calls is None else calls,
        fmt,
    )


def _is_relevance(task: Task) -> bool:
    c = task.category
    return c.endswith("relevance") and not c.endswith("irrelevance")


def _offered(task: Task) -> frozenset[str]:
    return frozenset(n for t in task.tools for n in _name_variants(t.name))


def score_task(
    task: Task, response: Response | None, rules: str = "bitagent", underscore_to_dot: bool = False
) -> ScoreResult:
    """Score one response to one task (1.0 correct, 0.0 otherwise; see the module docs for the rules).

    ``rules``: ``"bitagent"`` (default) or ``"bfcl"`` (BFCL's own rules, see :mod:`.bfcl_rules`).
    ``underscore_to_dot`` (``bfcl`` rules only): BFCL's setting of that name for FC models of APIs that forbid
    ``.`` in function names, under which ``math_factorial`` is the right spelling of ``math.factorial`` and the
    dotted one is wrong (off: the other way round); the default rules accept both spellings. Never raises
    on any response: an error the scorer did not foresee scores 0 with the error ``scoring_error``."""
    try:
        if task.single_python and rules == "bitagent":  # the common case first
            return _score(task, response)
        if rules == "bfcl" and task.multi_turn is None:  # Python, Java and JavaScript alike
            from .bfcl_rules import score_bfcl

            return score_bfcl(task, response, underscore_to_dot)
        if not task.single_python:  # Java/JS literals, or a conversation (scoring/javalike.py)
            from .javalike import score_javalike

            return score_javalike(task, response, rules)
        if rules == "bitagent":
            return _score(task, response)
    except Exception as e:  # noqa: BLE001 - a scorer bug must not stop a run: the answer scores 0
        return _result(
            task,
            False,
            "scoring_error",
            _criteria(),
            (
                f"Your answer could not be scored ({type(e).__name__}); this is a bug in the scorer, please "
                f"report it with the output."
            ),
        )
    raise ValueError(f"unknown rules {rules!r}; use one of: {', '.join(RULES)}")


def _score(task: Task, response: Response | None) -> ScoreResult:
    if response is None:
        return _result(task, False, "no_response", _criteria(), "No response was given for this task.", None)
    parsed = _read(response.text, response.tool_calls, task.tools)  # parse_calls, without its result object
    if parsed is None:
        calls: list[FunctionCall] = []
        fmt = None
    elif isinstance(parsed, list):
        calls = parsed
        fmt = "pythonic" if calls else None
    else:
        if not parsed.ok:
            return _result(
                task,
                False,
                "unparseable",
                _criteria(False),
                f"Your output could not be read as tool calls ({parsed.error}); {_FMT_HINT}.",
            )
        calls = parsed.calls
        fmt = parsed.format
    n = len(calls)
    expected = task.expected
    cat = task.category
    if expected and (not cat.endswith("relevance") or cat.endswith("irrelevance")):
        return _score_calls(task, expected, calls, fmt, n)
    relevance = _is_relevance(task)
    if relevance or not expected:  # relevance (any call to an offered tool) or irrelevance (no call)
        if not relevance:
            if n:
                return _result(
                    task,
                    False,
                    "should_not_call",
                    _criteria(True, False),
                    ("None of the offered tools fits this request, so the right answer is to call nothing and say so."),
                    calls,
                    fmt,
                )
            return ScoreResult(
                task.id, task.category, True, 1.0, None, _NO_CALL_OK.copy(), "Correct: you made no call.", calls, None
            )
        if n == 0:
            return _result(
                task,
                False,
                "no_call",
                _criteria(True, False),
                "This request needs a tool call, but your answer made none.",
                calls,
                fmt,
            )
        offered = _offered(task)
        if offered:
            for c in calls:
                if c.name not in offered and _model_name(c.name) not in offered:
                    return _result(
                        task,
                        False,
                        "wrong_func_name",
                        _criteria(True, True, False),
                        f"You called `{c.name}`, which is not one of the offered tools.",
                        calls,
                        fmt,
                    )
        return _result(
            task, True, None, _criteria(True, True, True), "Correct: you called one of the offered tools.", calls, fmt
        )
    raise AssertionError("unreachable: a task with expected calls is scored by _score_calls")


def _score_calls(
    task: Task, expected: tuple[ExpectedCall, ...], calls: list[FunctionCall], fmt: str | None, n: int
) -> ScoreResult:
    """A task with expected calls (not relevance): the calls against them."""
    if n == 0:
        return _result(
            task,
            False,
            "no_call",
            _criteria(True, False),
            "This request needs a tool call, but your answer made none.",
            calls,
            fmt,
        )
    ne = len(expected)
    if n != ne:
        need = "exactly 1 call" if ne == 1 else f"{ne} calls"
        return _result(
            task,
            False,
            "wrong_count",
            _criteria(True, False),
            f"You made {n} call{'s' if n != 1 else ''}, but this request needs {need}.",
            calls,
            fmt,
        )
    key = id(task)
    c = _CACHE.get(key)
    if c is None or c._task is not task:
        if _SEEN.get(key) is not task and _raw_ok(task, calls):  # first sight, and the raw check settles it
            if len(_SEEN) >= _CACHE_MAX:
                _SEEN.clear()
            _SEEN[key] = task
            return ScoreResult(task.id, task.category, True, 1.0, None, _ALL_TRUE.copy(), "Correct.", calls, fmt)
        c = _compiled(task)
    exp = c.expected
    miss = _check_call(exp[0], calls[0]) if n == 1 else _match_all(exp, calls)
    if miss is None:
        return ScoreResult(task.id, task.category, True, 1.0, None, _ALL_TRUE.copy(), "Correct.", calls, fmt)
    return _result(task, False, miss.code, _criteria_for(miss.code), _feedback_for(miss, _offered(task)), calls, fmt)


def summarise(results: Iterable[ScoreResult]) -> dict[str, Any]:
    """Totals overall, per category and per error code."""
    tasks = correct = 0
    by_cat: dict[str, dict[str, Any]] = {}
    errors: dict[str, int] = {}
    for r in results:
        tasks += 1
        c = by_cat.setdefault(r.category, {"tasks": 0, "correct": 0})
        c["tasks"] += 1
        if r.correct:
            correct += 1
            c["correct"] += 1
        elif r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    for c in by_cat.values():
        c["accuracy"] = round(c["correct"] / c["tasks"], 6) if c["tasks"] else 0.0
    return {
        "tasks": tasks,
        "correct": correct,
        "accuracy": round(correct / tasks, 6) if tasks else 0.0,
        "by_category": dict(sorted(by_cat.items())),
        "errors": dict(sorted(errors.items())),
    }
