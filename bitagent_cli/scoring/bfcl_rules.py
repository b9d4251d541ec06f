"""``--rules bfcl``: BFCL's own decoder and AST-checker rules, its flaws included, so a miner can predict the
leaderboard's verdict (``bfcl_eval`` 2026.3.23: ``default_decode_ast_prompting`` and ``ast_checker``).

The same engine as the default rules (``score_task``, the same results, error codes, criteria and
feedback); only the rules differ, and none of the fixes of ``docs/scoring.md`` §4 apply:

* reading: BFCL's prompt-mode decoder. The text, stripped of backticks, newlines and spaces at both ends and
  wrapped in ``[...]`` when it is not already, must be a Python list of calls; nothing else is read (no
  prose, fences with a language tag, JSON, tool-call markers, reasoning). Positional arguments are dropped,
  ``...`` is the string ``"..."``, a tuple stays a tuple, a call without keywords inside an argument is its
  source text, one with keywords a ``{name: {args}}`` dict. Structured OpenAI ``tool_calls`` are read as
  the default rules read them (BFCL's function-calling mode).
* a text that cannot be decoded is a correct refusal on an irrelevance task (BFCL issue #443).
* checking: ``simple_function_checker`` as written: exact function name (no ``functions.`` prefix, no
  ``.`` -> ``_`` spelling), the schema's required arguments, an argument the ground truth does not list is
  unexpected (``null`` included), Python types checked exactly (``int`` -> ``float`` promoted at the top
  level only; one level of element types for arrays; BFCL's "variable" escape), strings normalised at the
  top level, inside lists one level deep and in dict values; other values compared with Python's ``==``
  (so ``1 == 1.0 == True`` inside lists and dicts); parallel calls matched greedily, first fit.

Deliberate differences, because nothing here evaluates model output: BFCL ``eval``s arithmetic (``2*5``)
and lambdas in arguments; here they make the output undecodable. Output over ``parse.MAX_AST_CHARS`` is not
decoded either (a syntax tree for hundreds of kilobytes takes up to a second).
"""

from __future__ import annotations

import ast
from typing import Any

from ..tasks import ExpectedCall, FunctionCall, Task, Tool
from . import parse as _parse
from .check import (
    _ALL_TRUE,
    _FMT_HINT,
    _NO_CALL_OK,
    _PROGRESS,
    Response,
    ScoreResult,
    _criteria,
    _criteria_for,
    _feedback_for,
    _is_relevance,
    _Miss,
    _offered,
    _result,
    _score,
    normalise_string,
)

__all__ = ["decode", "score_bfcl"]

# A value nested deeper than this is not decoded (Python's own parser stops at 200 nested brackets).
_MAX_DEPTH = 300


class _Undecodable(Exception):
    pass


# --------------------------------------------------------------------------------------------- decoding
def decode(text: str | None) -> list[FunctionCall] | None:
    """BFCL's ``default_decode_ast_prompting`` (Python): the calls, or None where BFCL's decoder fails."""
    calls, _odd = _decode(text)
    return calls


def _decode(text: str | None) -> tuple[list[FunctionCall] | None, bool]:
    """(calls or None, whether a value is not JSON: bytes or complex, kept for the check as BFCL has them)."""
    s = (text or "").strip("`\n ")
    if len(s) > _parse.MAX_AST_CHARS:
        return None, False
    if not s.startswith("["):
        s = "[" + s
    if not s.endswith("]"):
        s = s + "]"
    s = s.strip().strip("'")
    # The parser's literal-only fast path, where it reads exactly what ast would give BFCL: no tuples or
    # parenthesised values (one "(" a call) and no "+" (BFCL reads "+5" as -5).
    if "+" not in s:
        try:
            fast = _parse._fast_pythonic(s)
        except _parse._Bad:
            fast = None
        if fast is not None and s.count("(") == len(fast):
            return fast, False
    odd: list[bool] = []
    try:
        body = ast.parse(s, mode="eval").body
        nodes = [body] if isinstance(body, ast.Call) else body.elts  # type: ignore[attr-defined]
        calls = []
        for node in nodes:
            if not isinstance(node, ast.Call):
                return None, False
            name, args = _call(node, 0, odd)
            calls.append(FunctionCall(name, args))
        return calls, bool(odd)
    except Exception:  # noqa: BLE001 - SyntaxError, ValueError, AttributeError...: BFCL's decoder fails too
        return None, False


def _call(node: ast.Call, depth: int, odd: list[Any]) -> tuple[str, dict[str, Any]]:
    """BFCL's ``resolve_ast_call``."""
    parts = []
    f = node.func
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if isinstance(f, ast.Name):
        parts.append(f.id)
    args: dict[str, Any] = {}
    for kw in node.keywords:  # positional arguments are dropped, as BFCL does
        args[kw.arg if kw.arg is not None else "**"] = _value(kw.value, depth + 1, odd)
    return ".".join(reversed(parts)), args


def _value(node: ast.AST, depth: int, odd: list[Any]) -> Any:
    """BFCL's ``resolve_ast_by_type``, except that nothing is evaluated."""
    if depth > _MAX_DEPTH:
        raise _Undecodable
    t = type(node)
    if t is ast.Constant:
        v = node.value  # type: ignore[attr-defined]
        if v is Ellipsis:
            return "..."
        if type(v) is bytes or type(v) is complex:
            odd.append(True)
        return v
    if t is ast.UnaryOp:  # BFCL: -operand.value, whatever the operator ("+5" is -5)
        v = -node.operand.value  # type: ignore[attr-defined]
        if type(v) is complex:
            odd.append(True)
        return v
    if t is ast.List:
        return [_value(e, depth + 1, odd) for e in node.elts]  # type: ignore[attr-defined]
    if t is ast.Dict:
        return {
            _value(k, depth + 1, odd): _value(v, depth + 1, odd)  # type: ignore[arg-type]
            for k, v in zip(node.keys, node.values, strict=False)  # type: ignore[attr-defined]
        }
    if t is ast.Name:
        return node.id  # type: ignore[attr-defined]
    if t is ast.Call:
        if not node.keywords:  # type: ignore[attr-defined]
            return ast.unparse(node)
        name, args = _call(node, depth, odd)  # type: ignore[arg-type]
        return {name: args}
    if t is ast.Tuple:
        return tuple(_value(e, depth + 1, odd) for e in node.elts)  # type: ignore[attr-defined]
    if t is ast.Subscript:
        return ast.unparse(node.value) + "[" + ast.unparse(node.slice) + "]"  # type: ignore[attr-defined]
    raise _Undecodable  # BinOp and Lambda (which BFCL evaluates), sets, f-strings, attributes...


def _jsonable(v: Any) -> Any:
    t = type(v)
    if t is bytes or t is complex:
        return repr(v)
    if t is list or t is tuple:
        return [_jsonable(x) for x in v]
    if t is dict:
        return {(k if type(k) in (str, int, float, bool) or k is None else repr(k)): _jsonable(x) for k, x in v.items()}
    return v


# --------------------------------------------------------------------------------------------- checking
_PY_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}


def _bfcl_type(schema: Any) -> tuple[str | None, type | None]:
    """BFCL's type name and Python type for a normalised schema (``x-python-type`` keeps float/tuple/any)."""
    if type(schema) is not dict:
        return None, None
    hint = schema.get("x-python-type")
    if hint == "float":
        return "float", float
    if hint == "tuple":
        return "tuple", list
    if hint == "any":
        return "any", str
    t = schema.get("type")
    if t == "number":
        return "float", float
    if type(t) is str and t in _PY_TYPES:
        return t, _PY_TYPES[t]
    return None, None


def _answer_type(answers: list[Any]) -> type | None:
    for a in answers:
        if a != "":
            return type(a)
    return None


def _type_ok(v: Any, answers: list[Any], exp: type[Any], nested: type | None) -> tuple[bool, bool]:
    """BFCL's ``type_checker``: (valid, is_variable)."""
    pat = _answer_type(answers)
    is_var = pat is not None and pat is not exp
    if type(v) is exp:
        if nested is None:
            return True, is_var
        for item in answers:
            if type(item) is not list or all(_type_ok(x, item, nested, None)[0] for x in v):
                return True, is_var
        return False, False
    if pat is not None and type(v) is pat:
        return True, True
    return False, False


def _std(x: Any) -> Any:
    return normalise_string(x) if type(x) is str else x


def _dict_ok(v: dict[str, Any], answers: list[Any]) -> bool:
    """BFCL's ``dict_checker``."""
    for pa in answers:
        if pa == "":
            continue
        ok = True
        for key, value in v.items():
            if key not in pa:
                ok = False
                break
            alts = pa[key]
            if _std(value) not in [_std(alts[i]) for i in range(len(alts))]:
                ok = False
                break
        if ok:
            for key, alts in pa.items():
                if key not in v and "" not in alts:
                    ok = False
                    break
        if ok:
            return True
    return False


def _list_dict_ok(v: list[Any], answers: list[Any]) -> bool:
    """BFCL's ``list_dict_checker``."""
    for pa in answers:
        if len(v) == len(pa) and all(_dict_ok(v[i], [pa[i]]) for i in range(len(v))):
            return True
    return False


def _list_ok(v: list[Any], answers: list[Any]) -> bool:
    """BFCL's ``list_checker``: strings normalised one level deep, then Python ``==``, in order."""
    got = [_std(x) for x in v]
    return any(got == [_std(a[j]) for j in range(len(a))] for a in answers)


def _find(tools: tuple[Tool, ...], name: str) -> Tool | None:
    for t in tools:
        if t.name == name:
            return t
    return None


def _check(tool: Tool | None, e: ExpectedCall, call: FunctionCall) -> _Miss | None:
    """BFCL's ``simple_function_checker`` for one call."""
    name = call.name
    if tool is None or name != tool.name:  # BFCL itself fails on a task that does not offer the tool
        return _Miss("wrong_func_name", name)
    params = tool.parameters
    props = params.get("properties") or {}
    args = call.arguments
    for r in params.get("required") or ():
        if r not in args:
            return _Miss("missing_required", name, r)
    gt = e.arguments
    for k, v in args.items():
        if k not in props or k not in gt:
            return _Miss("unexpected_param", name, k)
        schema = props[k]
        answers = gt[k]
        desc, exp = _bfcl_type(schema)
        nested = None
        if desc == "array" or desc == "tuple":
            nested = _bfcl_type(schema.get("items"))[1]
        try:
            if desc == "tuple" and type(v) is tuple:
                v = list(v)
            if desc == "float" and type(v) is int:
                v = float(v)
            ok, is_var = (True, True) if exp is None else _type_ok(v, answers, exp, nested)
            if not ok:
                return _Miss("wrong_type", name, k, v, schema)
            if is_var:
                good = v in answers
            elif exp is dict:
                good = _dict_ok(v, answers)
            elif exp is list and nested is dict:
                good = _list_dict_ok(v, answers)
            elif exp is str:
                good = normalise_string(v) in [normalise_string(a) for a in answers if type(a) is str]
            elif exp is list:
                good = _list_ok(v, answers)
            else:
                good = v in answers
        except Exception:  # noqa: BLE001 - data BFCL's checker would stop on (an int beyond float range...)
            good = False
        if not good:
            return _Miss("wrong_value", name, k, v, schema)
    for k, answers in gt.items():
        if k not in args and "" not in answers:
            return _Miss("missing_required", name, k)
    return None


def _greedy(task: Task, calls: list[FunctionCall]) -> _Miss | None:
    """BFCL's ``parallel_function_checker_no_order``: each expected call, in order, takes the first unused
    call that passes (first fit, not a matching)."""
    used = [False] * len(calls)
    for e in task.expected:
        tool = _find(task.tools, e.name)
        best: _Miss | None = None
        for j, call in enumerate(calls):
            if used[j]:
                continue
            m = _check(tool, e, call)
            if m is None:
                used[j] = True
                break
            if best is None or _PROGRESS[m.code] > _PROGRESS[best.code]:
                best = m
        else:
            return best or _Miss("wrong_value", e.name)
    return None


def score_bfcl(task: Task, response: Response | None) -> ScoreResult:
    """Score one response under BFCL's rules (see the module docs)."""
    if response is None:
        return _score(task, None)
    odd = False
    if response.tool_calls:
        parsed = _parse.parse_calls(None, response.tool_calls)
        calls: list[FunctionCall] | None = parsed.calls if parsed.ok else None
    else:
        calls, odd = _decode(response.text)
    shown = calls or []
    if odd:
        shown = [FunctionCall(c.name, _jsonable(c.arguments)) for c in shown]
    fmt = "pythonic" if calls else None
    expected = task.expected
    relevance = _is_relevance(task)
    if relevance or not expected:
        if not relevance:
            if calls:
                return _result(
                    task,
                    False,
                    "should_not_call",
                    _criteria(True, False),
                    ("None of the offered tools fits this request, so the right answer is to call nothing and say so."),
                    shown,
                    fmt,
                )
            return ScoreResult(
                task.id, task.category, True, 1.0, None, _NO_CALL_OK.copy(), "Correct: you made no call.", shown, None
            )
        if calls:
            return _result(task, True, None, _criteria(True, True, True), "Correct: you made a call.", shown, fmt)
        if calls is None:
            return _result(task, False, "unparseable", _criteria(False), _UNDECODABLE)
        return _result(
            task,
            False,
            "no_call",
            _criteria(True, False),
            "This request needs a tool call, but your answer made none.",
            shown,
            fmt,
        )
    if calls is None:
        return _result(task, False, "unparseable", _criteria(False), _UNDECODABLE)
    n, ne = len(calls), len(expected)
    if n == 0:
        return _result(
            task,
            False,
            "no_call",
            _criteria(True, False),
            "This request needs a tool call, but your answer made none.",
            shown,
            fmt,
        )
    cat = task.category
    if "parallel" in cat or "multiple" in cat:
        need = ne
    else:
        need = 1
    if n != need:
        want = "exactly 1 call" if need == 1 else f"{need} calls"
        return _result(
            task,
            False,
            "wrong_count",
            _criteria(True, False),
            f"You made {n} call{'s' if n != 1 else ''}, but this request needs {want}.",
            shown,
            fmt,
        )
    if "parallel" in cat:
        miss = _greedy(task, calls)
    else:
        e = expected[0]
        tool = _find(task.tools, e.name) if "multiple" in cat else (task.tools[0] if task.tools else None)
        miss = _check(tool, e, calls[0])
    if miss is None:
        return ScoreResult(task.id, task.category, True, 1.0, None, _ALL_TRUE.copy(), "Correct.", shown, fmt)
    return _result(task, False, miss.code, _criteria_for(miss.code), _feedback_for(miss, _offered(task)), shown, fmt)


_UNDECODABLE = (
    "Your output could not be read by BFCL's decoder, which reads only a Python list of calls "
    "and nothing around it; " + _FMT_HINT.split(" or ")[0] + "."
)
