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
* checking: ``simple_function_checker`` as written: exact function name (no ``functions.`` prefix; the
  ``.`` -> ``_`` spelling is the right one, and the only one, under BFCL's ``underscore_to_dot``), the schema's
  required arguments, an argument the ground truth does not list is
  unexpected (``null`` included), Python types checked exactly (``int`` -> ``float`` promoted at the top
  level only; one level of element types for arrays; BFCL's "variable" escape), strings normalised at the
  top level, inside lists one level deep and in dict values; other values compared with Python's ``==``
  (so ``1 == 1.0 == True`` inside lists and dicts); parallel calls matched greedily, first fit.

* Java/JavaScript: each argument must be a string, converted by BFCL's ``java_type_converter`` /
  ``js_type_converter`` rules (reproduced below, regular expressions included), then checked as above without
  the int -> float promotion; prompt-mode text is read as BFCL's tree-sitter decoders hand it on.

Deliberate differences, because nothing here evaluates model output: BFCL ``eval``s arithmetic (``2*5``)
and lambdas in arguments; here they make the output undecodable. Output over ``parse.MAX_AST_CHARS`` is not
decoded either (a syntax tree for hundreds of kilobytes takes up to a second).
"""

from __future__ import annotations

import ast
import re
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
# What a call list starts with: the fast path is only worth trying on such text.
_CALL_START = re.compile(r"\[\s*(?:\]|[A-Za-z_][\w.]*\s*\()")


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
    if "+" not in s and _CALL_START.match(s):  # (prose goes straight to ast, which stops at its first word)
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


# --------------------------------------------------------------------------------------------- Java/JS values
# BFCL's ``java_type_converter`` / ``js_type_converter`` (bfcl_eval/eval_checker/ast_eval/type_convertor), rule by
# rule: each string the model gave is read by regular expressions for its declared type, a literal that does not
# fit stays the string. None of the fixes of javalike.py (F1-F7 in docs/scoring.md) apply: `new String[]{"a"}`
# keeps the quotes on its elements, `5` is no `long`, `Arrays.asList(...)` alone is a string.
_JAVA_PY = {
    "byte": int,
    "short": int,
    "integer": int,
    "float": float,
    "double": float,
    "long": int,
    "boolean": bool,
    "char": str,
    "Array": list,
    "ArrayList": list,
    "Set": set,
    "HashMap": dict,
    "Hashtable": dict,
    "Queue": list,
    "Stack": list,
    "String": str,
    "any": str,
}
_JS_PY = {
    "String": str,
    "integer": int,
    "float": float,
    "Bigint": int,
    "Boolean": bool,
    "dict": dict,
    "array": list,
    "any": str,
}
_NESTED_CONVERSION = ("Array", "ArrayList", "array")

#: A Java/JS argument longer than this is not converted under BFCL's rules (it stays a string, so it fails):
#: BFCL's lazy regular expressions cost time quadratic in the length, and no right answer comes near it.
MAX_LITERAL_CHARS = 4096


class _Crash(Exception):
    """Where BFCL's checker raises (an unknown type, Set/Hashtable/Queue/Stack, a list without item type)."""


def _convert(v: str, schema: Any, lang: str) -> tuple[Any, type | None, type | None]:
    """(converted value, BFCL's Python type for the declared type, the element type) as ``simple_function_checker``
    gets them for Java/JavaScript."""
    table = _JAVA_PY if lang == "java" else _JS_PY
    desc = schema.get("x-bfcl-type") if type(schema) is dict else None
    if desc not in table:
        raise _Crash
    exp = table[desc]
    nested = None
    item = None
    if desc in _NESTED_CONVERSION:
        item = schema.get("x-bfcl-items-type")
        if item not in table:
            raise _Crash
        nested = table[item]
    if len(v) > MAX_LITERAL_CHARS:
        return v, exp, nested
    return (_java(v, desc, item) if lang == "java" else _js(v, desc, item)), exp, nested


_J_INT = re.compile(r"^-?\d+$")
_J_FLOAT = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$")
_J_DOUBLE = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_J_LONG = re.compile(r"^-?\d+[lL]$")
_J_AS_LIST = re.compile(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)")
_J_ADD_BLOCK = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", re.DOTALL)
_J_ADD = re.compile(r"add\((.+?)\)")
_J_EMPTY_LIST = re.compile(r"new\s+ArrayList<\w*>\(\)")
_J_ARRAY = re.compile(r"new\s+\w+\[\]\s*\{(.*?)\}")
_J_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", re.DOTALL)
_J_PUT = re.compile(r"put\(\"(.*?)\",\s*(.*?)\)")
_J_EMPTY_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)")
_FSUFFIX = re.compile(r"[fF]$")
_LSUFFIX = re.compile(r"[lL]$")


def _java(v: str, t: str, item: str | None = None) -> Any:
    """BFCL's ``java_type_converter``."""
    if t in ("byte", "short", "integer"):
        return int(v) if _J_INT.match(v) else v
    if t == "float":
        return float(_FSUFFIX.sub("", v)) if _J_FLOAT.match(v) else v
    if t == "double":
        return float(v) if _J_DOUBLE.match(v) else v
    if t == "long":
        return int(_LSUFFIX.sub("", v)) if _J_LONG.match(v) else v
    if t == "boolean":
        return (v == "true") if v in ("true", "false") else v
    if t == "ArrayList":
        return _java_arraylist(v, item)
    if t == "Array":
        m = _J_ARRAY.search(v)
        if not m:
            return v
        parts = [x.strip() for x in m.group(1).split(",") if x.strip()]
        return [_java(x, item) for x in parts] if item else [_java_value(x) for x in parts]
    if t == "HashMap":
        m = _J_MAP.search(v)
        if m:
            out: dict[str, Any] = {}
            if m.group(1).strip():
                for key, val in _J_PUT.findall(m.group(1)):
                    out[key] = _java_value(val.strip())
            return out
        return {} if _J_EMPTY_MAP.search(v) else v
    if t in ("Set", "Hashtable", "Queue", "Stack"):
        raise _Crash
    return v  # char (BFCL's pattern never matches), String, any


def _java_element(x: str, item: str | None) -> Any:
    if item in ("char", "String"):
        return x[1:-1]
    return _java(x, item) if item else _java_value(x)


def _java_arraylist(v: str, item: str | None) -> Any:
    m = _J_AS_LIST.search(v)
    if m:
        return [_java_element(x.strip(), item) for x in m.group(1).split(",")]
    m = _J_ADD_BLOCK.search(v)
    if m:
        return [_java_element(x.strip(), item) for x in _J_ADD.findall(m.group(1))]
    return [] if _J_EMPTY_LIST.search(v) else v


def _java_value(x: str) -> Any:
    """BFCL's ``parse_java_value``: a literal without a declared type."""
    if x == "true":
        return True
    if x == "false":
        return False
    if x.startswith('"') and x.endswith('"'):
        return x[1:-1]
    if _J_LONG.match(x):
        return int(x[:-1])
    if _J_FLOAT.match(x):
        return float(_FSUFFIX.sub("", x))
    return _py_number(x)


def _py_number(x: str) -> Any:
    """``int(x)``, else ``float(x)``, else the text (as BFCL's converters try them)."""
    try:
        return int(x)
    except ValueError:
        try:
            return float(x)
        except ValueError:
            return x


_JS_INT = re.compile(r"^-?\d+$")
_JS_FLOAT = re.compile(r"^-?\d+(\.\d+)?$")
_JS_BIGINT = re.compile(r"^-?\d+n$")
_JS_2D = re.compile(r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)")
_JS_1D = re.compile(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)")
_JS_INNER = re.compile(r"\[(.*?)\]")
_JS_DICT = re.compile(r"\{(.*?)\}")
_JS_PAIRS = re.compile(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)")


def _js(v: str, t: str, item: str | None = None) -> Any:
    """BFCL's ``js_type_converter``."""
    if t not in _JS_PY:
        raise ValueError(t)
    if t == "String":
        if (v.startswith('"') and v.endswith('"')) or (v.startswith("'") and v.endswith("'")):
            return v[1:-1]
        return v
    if t == "integer":
        return int(v) if _JS_INT.match(v) else v
    if t == "float":
        return float(v) if _JS_FLOAT.match(v) else v
    if t == "Bigint":
        return int(v[:-1]) if _JS_BIGINT.match(v) else v
    if t == "Boolean":
        return (v == "true") if v in ("true", "false") else v
    if t == "dict":
        return _js_collection(v, "dict", item)
    if t == "array":
        return _js_collection(v, "array", item)
    return v  # any


def _js_collection(code: str, kind: str, item: str | None = None) -> Any:
    """BFCL's ``parse_js_collection``."""
    code = code.strip()
    if kind == "array":
        try:
            m2 = _JS_2D.match(code)
            if m2:
                out = []
                for idx, inner in enumerate(_JS_INNER.findall(m2.group(0))):
                    inner = inner.strip()
                    if idx == 0 and inner.startswith("["):
                        inner = inner[1:]
                    out.append([_js_value(x.strip()) for x in inner.split(",")])
                return out
            m = _JS_1D.match(code)
            if not m:
                return code
            body = m.group(1) if m.group(1) is not None else m.group(2)
            body = body.strip() if body is not None else ""
            elements = body.split(",") if body else []
            if item:
                return [_js(x.strip(), item) for x in elements]
            return [_js_value(x.strip()) for x in elements]
        except Exception:  # noqa: BLE001 - BFCL returns the text on any error here
            return code
    if code == "{}":
        return {}
    m = _JS_DICT.match(code)
    if not m:
        return code
    try:
        d: dict[str, Any] = {}
        for key, value in _JS_PAIRS.findall(m.group(1)):
            key = key.strip().strip("'\"")
            value = value.strip()
            if value.startswith("[") and value.endswith("]"):
                d[key] = _js_collection(value, "array")
            elif value.startswith("{") and value.endswith("}"):
                d[key] = _js_collection(value, "dict")
            else:
                d[key] = _js_value(value.strip("'\""))
        return d
    except Exception:  # noqa: BLE001
        return code


def _js_value(x: str) -> Any:
    """BFCL's ``parse_js_value``."""
    x = x.strip()
    if x == "true":
        return True
    if x == "false":
        return False
    if (x.startswith('"') and x.endswith('"')) or (x.startswith("'") and x.endswith("'")):
        return x[1:-1]
    return _py_number(x)


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


def _check(
    tool: Tool | None, e: ExpectedCall, call: FunctionCall, lang: str = "python", u2d: bool = False
) -> _Miss | None:
    """BFCL's ``simple_function_checker`` for one call (``lang``: python, java or javascript; ``u2d``: BFCL's
    ``underscore_to_dot``, the expected name wanted with ``_`` for ``.``)."""
    name = call.name
    if tool is None:  # BFCL itself fails on a task that does not offer the tool
        return _Miss("wrong_func_name", name)
    want = tool.name.replace(".", "_") if u2d else tool.name
    if name != want:
        return _Miss("wrong_func_name", name, want)
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
        try:
            if lang == "python":
                desc, exp = _bfcl_type(schema)
                nested = None
                if desc == "array" or desc == "tuple":
                    nested = _bfcl_type(schema.get("items"))[1]
                if desc == "tuple" and type(v) is tuple:
                    v = list(v)
                if desc == "float" and type(v) is int:
                    v = float(v)
            else:  # Java/JavaScript: the string converted by its declared type, as BFCL's type converters do
                if type(v) is not str:  # BFCL's type_error:java / type_error:js
                    return _Miss("wrong_type", name, k, v, schema)
                v, exp, nested = _convert(v, schema, lang)
        except Exception:  # noqa: BLE001 - where BFCL's checker raises: an unknown or unimplemented type, float(10**400)
            return _Miss("wrong_value", name, k, v, schema)
        try:
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


def _greedy(task: Task, calls: list[FunctionCall], lang: str = "python", u2d: bool = False) -> _Miss | None:
    """BFCL's ``parallel_function_checker_no_order``: each expected call, in order, takes the first unused
    call that passes (first fit, not a matching)."""
    used = [False] * len(calls)
    for e in task.expected:
        tool = _find(task.tools, e.name)
        best: _Miss | None = None
        for j, call in enumerate(calls):
            if used[j]:
                continue
            m = _check(tool, e, call, lang, u2d)
            if m is None:
                used[j] = True
                break
            if best is None or _PROGRESS[m.code] > _PROGRESS[best.code]:
                best = m
        else:
            return best or _Miss("wrong_value", e.name)
    return None


def score_bfcl(task: Task, response: Response | None, underscore_to_dot: bool = False) -> ScoreResult:
    """Score one response under BFCL's rules (see the module docs). ``underscore_to_dot``: BFCL's model setting
    of that name (on for its FC handlers of APIs that forbid ``.`` in function names: OpenAI-, Mistral-,
    Google-style), under which a dotted function must be called with ``_`` for ``.`` (``math_factorial`` for
    ``math.factorial``) and the dotted spelling is a wrong name; off, only the dotted spelling is right."""
    if response is None:
        return _score(task, None)
    lang = "python" if task.single_python else task.language
    odd = False
    if response.tool_calls:
        parsed = _parse.parse_calls(None, response.tool_calls)
        calls: list[FunctionCall] | None = parsed.calls if parsed.ok else None
    elif lang == "python":
        calls, odd = _decode(response.text)
    else:
        calls = _decode_javalike(response.text, lang)
    shown = calls or []
    if odd:
        shown = [FunctionCall(c.name, _jsonable(c.arguments)) for c in shown]
    fmt = ("pythonic" if lang == "python" else lang) if calls else None
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
        miss = _greedy(task, calls, lang, underscore_to_dot)
    else:
        e = expected[0]
        tool = _find(task.tools, e.name) if "multiple" in cat else (task.tools[0] if task.tools else None)
        miss = _check(tool, e, calls[0], lang, underscore_to_dot)
    if miss is None:
        return ScoreResult(task.id, task.category, True, 1.0, None, _ALL_TRUE.copy(), "Correct.", shown, fmt)
    feedback = _feedback_for(miss, _offered(task))
    if miss.code == "wrong_func_name" and miss.param and miss.call.replace(".", "_") == miss.param.replace(".", "_"):
        setting = "on" if underscore_to_dot else "off"
        feedback = (
            f"You called `{miss.call}`; with BFCL's underscore_to_dot {setting}, this function must be called "
            f"`{miss.param}`."
        )
    return _result(task, False, miss.code, _criteria_for(miss.code), feedback, shown, fmt)


def _decode_javalike(text: str | None, lang: str) -> list[FunctionCall] | None:
    """BFCL's prompt-mode decoder for Java/JavaScript: the text stripped of backticks, newlines and spaces and
    wrapped in ``[...]``, the inside read as calls (each named argument's source text, a lone string literal
    unquoted; our grammar stands in for BFCL's tree-sitter decoders). None where it cannot be read."""
    from .javalike import JavaLikeError, parse_call_text

    s = (text or "").strip("`\n ")
    if not s.startswith("["):
        s = "[" + s
    if not s.endswith("]"):
        s = s + "]"
    try:
        calls = parse_call_text(s, lang, bfcl=True)
    except (JavaLikeError, RecursionError):
        return None
    return calls[:1] if lang == "java" else calls  # BFCL's Java decoder returns the first call only


_UNDECODABLE = (
    "Your output could not be read by BFCL's decoder, which reads only a Python list of calls "
    "and nothing around it; " + _FMT_HINT.split(" or ")[0] + "."
)
