"""Parse a model's output into one canonical list of :class:`FunctionCall`.

Every common tool-call format is read (see ``docs/scoring.md``): pythonic ``[f(a=1), g(b="x")]`` (with or
without brackets, fenced, after prose, dotted names), JSON lists/objects of ``{"name", "arguments"}`` (or
``"parameters"``/``"args"``, arguments possibly a JSON string), xLAM ``{"thought", "tool_calls": [...]}``,
Hermes/Qwen ``<tool_call>{...}</tool_call>``, Llama 3.1 ``<|python_tag|>{"name", "parameters"}`` joined by ``;``,
Mistral ``[TOOL_CALLS][...]`` and ``[TOOL_CALLS]f[ARGS]{...}``, Glaive ``<functioncall> {...}``, BFCL's
``<TOOLCALL>[...]</TOOLCALL>`` and the OpenAI ``tool_calls`` list.

Safety: nothing is ever evaluated. Pythonic text is read by a small literal-only tokenizer (the fast path) or,
when that declines, by :func:`ast.parse` whose tree is converted node by node, accepting only literal nodes
(constants, lists, tuples, dicts, sets, ``-``/``+`` on numbers; a bare name is read as its own string, as BFCL
does). Input size, nesting depth and the work spent looking for calls inside prose are bounded, so hostile input
(a megabyte of brackets, deep nesting, ``__import__(...)`` chains, lambdas, f-strings...) is a quick, clean
"unparseable".
"""

from __future__ import annotations

import ast
import json
import keyword
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..tasks import FunctionCall

__all__ = ["MAX_DEPTH", "MAX_INPUT_CHARS", "ParseResult", "parse_calls"]

#: Outputs longer than this are unparseable without being read (a model answer is a few hundred characters).
MAX_INPUT_CHARS = 256 * 1024
#: Deepest bracket nesting accepted in a call's arguments.
MAX_DEPTH = 64
#: At most this many calls in one output.
MAX_CALLS = 512
#: Pythonic text longer than this is not handed to ``ast.parse`` (the literal-only fast path and JSON take up
#: to MAX_INPUT_CHARS): building a syntax tree for hundreds of kilobytes costs up to a second.
MAX_AST_CHARS = 64 * 1024
#: At most this many places in prose are tried as the start of a call.
MAX_CANDIDATES = 32


@dataclass(slots=True)
class ParseResult:
    """The calls found in one output.

    ``ok`` is False when the output tried to make calls but they could not be read (``error`` says why);
    an empty output or prose without any call is ``ok=True`` with no calls (a refusal).
    ``format`` names the format the calls were read in (``pythonic``, ``json``, ``xlam``, ``hermes``,
    ``llama``, ``mistral``, ``glaive``, ``openai``...), or None when there were none.
    """

    calls: list[FunctionCall] = field(default_factory=list)
    ok: bool = True
    error: str | None = None
    format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"calls": [c.to_dict() for c in self.calls], "ok": self.ok, "error": self.error,
                "format": self.format}


class _Bad(Exception):
    """The text is not a readable call list (message says why)."""


class _Fatal(_Bad):
    """A limit was exceeded: no other reading of the text is tried."""


def _no_calls() -> ParseResult:
    """A readable output without calls (a fresh object: results are mutable)."""
    return ParseResult([], True, None, None)


def _bad(msg: str) -> ParseResult:
    return ParseResult([], False, msg, None)


# --------------------------------------------------------------------------------------------- entry point
def parse_calls(text: str | None, tool_calls: list | None = None) -> ParseResult:
    """Read the calls in a model's output (``text``) or in its OpenAI ``tool_calls`` list.

    Structured ``tool_calls`` win when present and non-empty; otherwise ``text`` is parsed. Never raises.
    """
    r = _read(text, tool_calls)
    if r is None:
        return ParseResult([], True, None, None)
    if type(r) is list:
        return ParseResult(r, True, None, "pythonic" if r else None)
    return r


def _read(text: str | None, tool_calls: list | None) -> ParseResult | list[FunctionCall] | None:
    """:func:`parse_calls` without a result object on the two common paths (for the scorer): None for an
    output without calls, a list for calls read by the pythonic fast path (format ``pythonic``), else the
    ParseResult. Never raises."""
    try:
        if tool_calls:
            return _parse_tool_calls(tool_calls)
        if text is None:
            return None
        if not isinstance(text, str):
            return _bad(f"the response must be text, got {type(text).__name__}")
        if len(text) > MAX_INPUT_CHARS:
            return _bad(f"the output is longer than {MAX_INPUT_CHARS} characters")
        if "<" in text:
            s = _clean(text)
        else:
            s = text.strip()
            if "(" not in s and "[" not in s and "{" not in s:
                return None  # prose (or nothing): no call can be written without brackets
        if not s:
            return None
        if _FAST_START_RE.match(s) is not None:
            calls = _fast_pythonic(s)
            if calls is not None:
                return calls
        return _parse_text(s)
    except _Bad as e:
        return _bad(str(e))
    except (RecursionError, MemoryError):
        return _bad("the output is nested too deeply")
    except Exception as e:  # noqa: BLE001 - the parser never raises; anything unforeseen is "unparseable"
        return _bad(f"could not read the output ({type(e).__name__})")


# --------------------------------------------------------------------------------------------- cleaning
_SPECIAL_TOKENS = ("<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<|endoftext|>", "</s>", "<eos>",
                   "<end_of_turn>", "<|end_of_text|>", "<|return|>", "<|call|>")


def _clean(text: str) -> str:
    """Drop reasoning blocks and trailing end-of-turn special tokens; strip whitespace."""
    text = text.strip()
    if "</think>" in text:
        # reasoning comes first; "</think>" inside a call list's string value is just text
        if text.startswith("<think>") or not _looks_like_calls(text):
            text = text[text.rfind("</think>") + 8:].strip()
    elif text.startswith("<think>"):
        return ""  # reasoning that never finished: no call was made
    # Trailing end-of-turn tokens only (never inside an argument value). Bounded by construction: each round
    # either removes a listed token or stops, and there are at most as many rounds as the text has characters.
    for _ in range(len(text)):
        for tok in _SPECIAL_TOKENS:
            if text.endswith(tok):
                text = text[: -len(tok)].rstrip()
                break
        else:
            break
    return text


# --------------------------------------------------------------------------------------------- fast path
# A literal-only tokenizer for the pythonic format. It accepts a strict subset of what ast.parse accepts and
# returns exactly what the ast path would; whenever it meets anything else it declines (returns None) and the
# ast path decides. Tokens are plain strings, classified by their first character.
_TOKEN_RE = re.compile(
    r"""[ \t\n]*("""
    r"""[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"""          # name, possibly dotted
    r"""|[\[\](){}=,:]"""                                                # punctuation
    r"""|'[^'\\\n\r\x00\ud800-\udfff]*'|"[^"\\\n\r\x00\ud800-\udfff]*\""""  # a string without escapes
    r"""|[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"""        # a number, possibly signed
    r"""|.)""",                                                          # anything else: decline
    re.S)
_FAST_START_RE = re.compile(r"\[\s*(?:\]|[A-Za-z_])|[A-Za-z_][\w.]*\s*\(")
_CONSTS = {"True": True, "False": False, "None": None}
_KEYWORDS = frozenset(keyword.kwlist)
_NON_FINITE_NAMES = frozenset({"nan", "inf", "infinity"})
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NUM_START = frozenset("0123456789.-+")
_GOOD_KW: set[str] = set()  # keyword names already found valid (a bounded cache)
_GOOD_NAMES: set[str] = set()  # function names already found valid (a bounded cache)


def _call_maker():
    """``FunctionCall(name, args)`` for the fast path, without the frozen dataclass's ``__init__`` (which sets
    each field through ``object.__setattr__``: ~0.3 us a call, half the cost of a short call's parse). Used
    only while FunctionCall is exactly a slotted (name, arguments) pair with nothing run at construction;
    otherwise the class itself."""
    import dataclasses

    try:
        names = tuple(f.name for f in dataclasses.fields(FunctionCall))
        slots = FunctionCall.__slots__
    except (TypeError, AttributeError):
        return FunctionCall
    if names != ("name", "arguments") or tuple(slots) != names or hasattr(FunctionCall, "__post_init__"):
        return FunctionCall
    new, set_name, set_args = object.__new__, FunctionCall.name.__set__, FunctionCall.arguments.__set__

    def make(name: str, args: dict) -> FunctionCall:
        c = new(FunctionCall)
        set_name(c, name)
        set_args(c, args)
        return c

    return make


_call = _call_maker()


class _Decline(Exception):
    pass


def _fast_pythonic(s: str) -> list[FunctionCall] | None:
    """``[f(a=1), g(b='x')]``, ``f(a=1)`` or ``f(a=1), g(b='x')`` with literal arguments, or None."""
    t = _TOKEN_RE.findall(s)
    t.append("")  # end marker
    try:
        calls: list[FunctionCall] = []
        if t[0] == "[":
            pos = 1
            if t[1] == "]":
                return calls if t[2] == "" else None
            close = "]"
        else:
            pos = 0
            close = ""
        while True:
            call, pos = _fast_call(t, pos)
            calls.append(call)
            if len(calls) > MAX_CALLS:
                raise _Fatal(f"more than {MAX_CALLS} calls")
            tok = t[pos]
            if tok == ",":
                pos += 1
                if t[pos] == close:
                    break
                continue
            if tok == close:
                break
            return None
        if close:
            pos += 1
        if t[pos] != "":
            return None
        return calls
    except (_Decline, IndexError, ValueError):
        return None


def _fast_call(t: list[str], pos: int) -> tuple[FunctionCall, int]:
    name = t[pos]
    if t[pos + 1] != "(":
        raise _Decline
    if name not in _GOOD_NAMES:
        if name[:1] not in _NAME_START or any(part in _KEYWORDS for part in name.split(".")):
            raise _Decline
        if len(_GOOD_NAMES) < 100_000:
            _GOOD_NAMES.add(name)
    pos += 2
    args: dict[str, Any] = {}
    if t[pos] == ")":
        return _call(name, args), pos + 1
    while True:
        kw = t[pos]
        if t[pos + 1] != "=" or kw in args:
            raise _Decline
        if kw not in _GOOD_KW:
            if kw[:1] not in _NAME_START or "." in kw or kw in _KEYWORDS:
                raise _Decline
            if len(_GOOD_KW) < 100_000:
                _GOOD_KW.add(kw)
        v = t[pos + 2]
        nxt = t[pos + 3]
        if nxt == "," or nxt == ")":  # the common cases: a plain string or a small integer, then , or )
            c = v[0]
            if c == "'" or c == '"':
                if len(v) < 2:
                    raise _Decline
                args[kw] = v[1:-1]
            elif v.isdigit() and (c != "0" or len(v) == 1) and len(v) < 20:
                args[kw] = int(v)
            else:
                args[kw], pos = _fast_value(t, pos + 2, 1)
                nxt = t[pos]
                pos -= 3
            if nxt == ")":
                return _call(name, args), pos + 4
            pos += 4
            if t[pos] == ")":
                return _call(name, args), pos + 1
            continue
        args[kw], pos = _fast_value(t, pos + 2, 1)
        tok = t[pos]
        if tok == ",":
            pos += 1
            if t[pos] == ")":
                return _call(name, args), pos + 1
            continue
        if tok == ")":
            return _call(name, args), pos + 1
        raise _Decline


def _fast_value(t: list[str], pos: int, depth: int) -> tuple[Any, int]:
    v = t[pos]
    c = v[:1]
    if c == "'" or c == '"':
        if len(v) < 2:
            raise _Decline
        return v[1:-1], pos + 1
    if c in _NUM_START:
        if len(v) == 1 and not ("0" <= c <= "9"):  # a lone ".", "-" or "+"
            raise _Decline
        if "." in v or "e" in v or "E" in v:
            f = float(v)
            if f - f != 0.0:  # inf or nan
                raise _Decline
            return f, pos + 1
        digits = v.lstrip("+-")
        if (len(digits) > 1 and digits[0] == "0") or len(digits) > 4000:
            raise _Decline
        return int(v), pos + 1
    if c in _NAME_START:
        if t[pos + 1] == "(":
            raise _Decline
        if v in _CONSTS:
            return _CONSTS[v], pos + 1
        if "." in v or v in _KEYWORDS or v.lower() in _NON_FINITE_NAMES:
            raise _Decline
        return v, pos + 1
    if depth > MAX_DEPTH:
        raise _Decline
    if c == "[":
        return _fast_seq(t, pos + 1, "]", depth)
    if c == "(":
        pos += 1
        if t[pos] == ")":
            return [], pos + 1
        first, pos = _fast_value(t, pos, depth + 1)
        if t[pos] == ")":
            return first, pos + 1  # a parenthesised value, not a tuple
        if t[pos] != ",":
            raise _Decline
        items, pos = _fast_seq(t, pos + 1, ")", depth)
        return [first, *items], pos
    if c == "{":
        pos += 1
        out: dict[Any, Any] = {}
        if t[pos] == "}":
            return out, pos + 1
        while True:
            key, pos = _fast_value(t, pos, depth + 1)
            if t[pos] != ":" or not (type(key) in (str, int, float, bool) or key is None):
                raise _Decline  # sets and odd keys go to the ast path
            out[key], pos = _fast_value(t, pos + 1, depth + 1)
            tok = t[pos]
            if tok == ",":
                pos += 1
                if t[pos] == "}":
                    return out, pos + 1
                continue
            if tok == "}":
                return out, pos + 1
            raise _Decline
    raise _Decline


def _fast_seq(t: list[str], pos: int, close: str, depth: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    if t[pos] == close:
        return items, pos + 1
    while True:
        v, pos = _fast_value(t, pos, depth + 1)
        items.append(v)
        tok = t[pos]
        if tok == ",":
            pos += 1
            if t[pos] == close:
                return items, pos + 1
            continue
        if tok == close:
            return items, pos + 1
        raise _Decline


# --------------------------------------------------------------------------------------------- ast path
_BRACKETS_RE = re.compile(r"[\[\](){}]")


_NOT_BRACKETS_RE = re.compile(r"[^\[\](){}]+")
_BRACKET_STEPS = str.maketrans("[({])}", "\x02\x02\x02\x00\x00\x00")


def _check_depth(s: str) -> None:
    """Reject text whose brackets nest deeper than MAX_DEPTH (conservative: ignores quoting)."""
    if s.count("[") + s.count("(") + s.count("{") <= MAX_DEPTH:
        return
    # The deepest running depth, in C-level steps (a Python loop over 256 KiB of brackets took ~50 ms):
    # each bracket as a byte, 2 opening and 0 closing; running sum minus position = depth.
    from itertools import accumulate, count
    from operator import sub

    steps = _NOT_BRACKETS_RE.sub("", s).translate(_BRACKET_STEPS).encode("latin-1")
    if max(map(sub, accumulate(steps), count(1))) > MAX_DEPTH:
        raise _Fatal(f"the output nests brackets deeper than {MAX_DEPTH} levels")


def _ast_calls(s: str) -> list[FunctionCall] | Any:  # noqa: C901
    """Parse pythonic text with ast. Returns a list of calls, or (for a plain literal such as a dict) the
    literal value so that the caller can read it as JSON-style calls. Raises _Bad."""
    _check_depth(s)
    if len(s) > MAX_AST_CHARS:
        raise _Fatal(f"the calls are longer than {MAX_AST_CHARS} characters (write them as JSON to send more)")
    src = s
    try:
        tree: ast.AST = ast.parse(src, mode="eval")
        body = tree.body  # type: ignore[attr-defined]
        nodes = [body]
    except SyntaxError:
        try:  # one call a line, without brackets
            mod = ast.parse(src, mode="exec")
        except SyntaxError as e:
            raise _Bad(f"not valid call syntax ({e.msg}, line {e.lineno})") from None
        except ValueError as e:
            raise _Bad(f"not valid call syntax ({e})") from None
        if not mod.body or not all(isinstance(st, ast.Expr) for st in mod.body):
            raise _Bad("not a list of calls (statements other than calls)") from None
        nodes = [st.value for st in mod.body]  # type: ignore[attr-defined]
        body = None
    except ValueError as e:  # null bytes, surrogates
        raise _Bad(f"not valid call syntax ({e})") from None
    calls: list[FunctionCall] = []
    for node in nodes:
        if isinstance(node, ast.Call):
            calls.append(_ast_call(node))
        elif isinstance(node, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Call) for e in node.elts):
            calls.extend(_ast_call(e) for e in node.elts)
        elif body is not None and isinstance(node, (ast.Dict, ast.List)):
            return _lit(node, 0, True)  # a literal (JSON-like dict/list with Python quoting): read as data
        else:
            raise _Bad("not a list of function calls")
        if len(calls) > MAX_CALLS:
            raise _Fatal(f"more than {MAX_CALLS} calls")
    return calls


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise _Bad("a call's function must be a plain (possibly dotted) name")
    parts.append(node.id)
    return ".".join(reversed(parts))


def _ast_call(node: ast.Call) -> FunctionCall:
    name = _dotted(node.func)
    if node.args:
        raise _Bad(f"call to {name!r} passes positional arguments; use keyword arguments (name=value)")
    args: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise _Bad(f"call to {name!r} uses ** unpacking; write each argument as name=value")
        if kw.arg in args:
            raise _Bad(f"call to {name!r} repeats argument {kw.arg!r}")
        args[kw.arg] = _lit(kw.value, 1)
    return FunctionCall(name, args)


_JSON_NAMES = {"true": True, "false": False, "null": None}


def _lit(node: ast.AST, depth: int, data: bool = False) -> Any:
    """Convert a literal node. In call arguments (``data=False``) a bare name reads as its own string, as
    in BFCL; inside JSON-like data (``data=True``) only ``true``/``false``/``null`` are names."""
    if depth > MAX_DEPTH:
        raise _Bad(f"an argument nests deeper than {MAX_DEPTH} levels")
    t = type(node)
    if t is ast.Constant:
        v = node.value  # type: ignore[attr-defined]
        tv = type(v)
        if tv is str or tv is int or tv is bool or v is None:
            return v
        if tv is float:
            if not math.isfinite(v):
                raise _Bad("an argument is not a finite number")
            return v
        raise _Bad(f"an argument is a {tv.__name__} literal, which is not a JSON value")
    if t is ast.List or t is ast.Tuple:
        return [_lit(e, depth + 1, data) for e in node.elts]  # type: ignore[attr-defined]
    if t is ast.Set:
        out: list[Any] = []
        for e in node.elts:  # type: ignore[attr-defined]
            v = _lit(e, depth + 1, data)
            if v not in out:
                out.append(v)
        return out
    if t is ast.Dict:
        d: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values):  # type: ignore[attr-defined]
            if k is None:
                raise _Bad("an argument uses ** unpacking")
            key = _lit(k, depth + 1, data)
            if not (type(key) in (str, int, float, bool) or key is None):
                raise _Bad("a dict key is not a string or number")
            d[key] = _lit(v, depth + 1, data)
        return d
    if t is ast.UnaryOp and type(node.op) in (ast.USub, ast.UAdd):  # type: ignore[attr-defined]
        operand = node.operand  # type: ignore[attr-defined]
        if type(operand) is ast.Constant and type(operand.value) in (int, float):
            v = operand.value
            if not math.isfinite(v):
                raise _Bad("an argument is not a finite number")
            return -v if type(node.op) is ast.USub else v  # type: ignore[attr-defined]
        raise _Bad("a sign applied to something other than a number")
    if t is ast.Name:
        name = node.id  # type: ignore[attr-defined]
        if data:
            if name in _JSON_NAMES:
                return _JSON_NAMES[name]
            raise _Bad(f"{name!r} is not a value (quote strings)")
        if name.lower() in _NON_FINITE_NAMES:
            raise _Bad("an argument is not a finite number")
        return name  # BFCL reads a bare name as its own string
    raise _Bad(f"an argument is an expression ({t.__name__}), not a literal value")


# --------------------------------------------------------------------------------------------- JSON path
def _no_constants(name: str) -> Any:
    raise _Bad(f"{name} is not a valid JSON value here")


_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _json_loads(s: str) -> Any:
    _check_depth(s)
    try:
        return _DECODER.decode(s)
    except json.JSONDecodeError as e:
        raise _Bad(f"invalid JSON ({e.msg} at column {e.colno})") from None


def _json_seq(s: str) -> list[Any]:
    """One or more JSON values separated by whitespace, ';' or ','."""
    _check_depth(s)
    out: list[Any] = []
    i, n = 0, len(s)
    while i < n:
        while i < n and s[i] in " \t\r\n;,":
            i += 1
        if i >= n:
            break
        try:
            obj, i = _DECODER.raw_decode(s, i)
        except json.JSONDecodeError as e:
            raise _Bad(f"invalid JSON ({e.msg} at column {e.colno})") from None
        out.append(obj)
        if len(out) > MAX_CALLS:
            raise _Fatal(f"more than {MAX_CALLS} calls")
    return out


def _literal_data(s: str) -> Any:
    """JSON, or failing that a Python literal (single quotes, True/None) read without evaluation."""
    try:
        return _json_loads(s)
    except _Fatal:
        raise
    except _Bad as first:
        try:
            v = _ast_calls(s)
        except _Bad:
            raise first from None
        if isinstance(v, list) and all(isinstance(c, FunctionCall) for c in v):
            raise first from None
        return v


_WRAPPER_KEYS = ("tool_calls", "actions", "calls", "function_calls")


def _calls_from_data(obj: Any) -> tuple[list[FunctionCall], str]:
    """Calls from decoded JSON-like data; returns (calls, format)."""
    if isinstance(obj, list):
        return [_call_from_obj(o) for o in obj], "json"
    if isinstance(obj, dict):
        for key in _WRAPPER_KEYS:
            if key in obj and "name" not in obj:
                inner = obj[key]
                if inner is None:
                    return [], "xlam"
                if not isinstance(inner, list):
                    inner = [inner]
                return [_call_from_obj(o) for o in inner], "xlam"
        if "function_call" in obj and "name" not in obj:
            return [_call_from_obj(obj["function_call"])], "json"
        return [_call_from_obj(obj)], "json"
    raise _Bad("the output is JSON but not a function call")


def _call_from_obj(o: Any) -> FunctionCall:
    if not isinstance(o, dict):
        raise _Bad("a call must be an object with 'name' and 'arguments'")
    fn = o.get("function")
    if isinstance(fn, dict) and "name" not in o:
        o = fn
    name = o.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _Bad("a call is missing its 'name'")
    args: Any = None
    for key in ("arguments", "parameters", "args", "params"):
        if key in o:
            args = o[key]
            break
    return FunctionCall(name.strip(), _arguments(args, name))


def _arguments(args: Any, name: str) -> dict[str, Any]:
    if args is None:
        return {}
    if isinstance(args, str):
        a = args.strip()
        if not a:
            return {}
        if len(a) > MAX_INPUT_CHARS:
            raise _Bad(f"the arguments of {name!r} are too long")
        try:
            args = _literal_data(a)
        except _Bad as e:
            raise _Bad(f"the arguments of {name!r} are not a JSON object: {e}") from None
        if isinstance(args, str):  # double-encoded
            try:
                args = _literal_data(args.strip())
            except _Bad as e:
                raise _Bad(f"the arguments of {name!r} are not a JSON object: {e}") from None
    if not isinstance(args, dict):
        raise _Bad(f"the arguments of {name!r} are not an object")
    for k, v in args.items():
        if not isinstance(k, str):
            raise _Bad(f"call to {name!r} has a non-string argument name")
        _check_value(v, 1)
    return args


def _check_value(v: Any, depth: int) -> None:
    """Values that arrived already decoded (tool_calls dicts): JSON types only, bounded depth."""
    t = type(v)
    if t is str or t is int or t is bool or v is None:
        return
    if t is float:
        if not math.isfinite(v):
            raise _Bad("an argument is not a finite number")
        return
    if depth > MAX_DEPTH:
        raise _Bad(f"an argument nests deeper than {MAX_DEPTH} levels")
    if t is list:
        for x in v:
            _check_value(x, depth + 1)
        return
    if t is dict:
        for x in v.values():
            _check_value(x, depth + 1)
        return
    raise _Bad(f"an argument is a {t.__name__}, which is not a JSON value")


# --------------------------------------------------------------------------------------------- payloads
# A bare call: "name(" with no space, or "name (" followed by ")" or "kw=" (so that prose such as
# "Sure (I think) ..." is not mistaken for one).
_BARE_CALL_RE = re.compile(r"[A-Za-z_][\w.]*(?:\(|\s+\(\s*(?:\)|[A-Za-z_]\w*\s*=))")
_TUPLE_START_RE = re.compile(r"\(\s*[A-Za-z_][\w.]*\s*\(")


def _looks_like_calls(s: str) -> bool:
    c = s[0]
    if c == "[" or c == "{":  # structured output: it must read as calls (or as an empty list)
        return True
    if c == "(":
        return _TUPLE_START_RE.match(s) is not None
    return _BARE_CALL_RE.match(s) is not None


def _payload(s: str) -> tuple[list[FunctionCall], str]:
    """Calls from a piece of text that should be nothing but calls (JSON or pythonic). Raises _Bad."""
    s = s.strip()
    if not s:
        raise _Bad("empty tool call")
    if s[0] in "[{":
        try:
            obj = _json_loads(s)
        except _Bad as e:
            first = e
            obj = None
        else:
            return _calls_from_data(obj)
        if s[0] == "{":
            try:  # several objects separated by ';' (Llama 3.1) or newlines
                objs = _json_seq(s)
            except _Bad:
                objs = None
            if objs:
                calls: list[FunctionCall] = []
                for o in objs:
                    calls.extend(_calls_from_data(o)[0])
                return calls, "json"
        try:
            v = _ast_calls(s)
        except _Bad as e2:
            raise (first if s[0] == "{" else e2) from None
        if isinstance(v, list) and all(isinstance(c, FunctionCall) for c in v):
            return v, "pythonic"
        return _calls_from_data(v)
    fast = _fast_pythonic(s)
    if fast is not None:
        return fast, "pythonic"
    v = _ast_calls(s)
    if isinstance(v, list) and all(isinstance(c, FunctionCall) for c in v):
        return v, "pythonic"
    return _calls_from_data(v)


def _ok(calls: list[FunctionCall], fmt: str) -> ParseResult:
    if len(calls) > MAX_CALLS:
        return _bad(f"more than {MAX_CALLS} calls")
    return ParseResult(calls, True, None, fmt if calls else None)


def _parse_text(s: str) -> ParseResult:
    # 1. the whole text is calls (markers inside its string values are just text)
    whole_error: str | None = None
    if _looks_like_calls(s):
        try:
            return _ok(*_payload(s))
        except _Fatal as e:
            return _bad(str(e))
        except _Bad as e:
            whole_error = str(e)
    # 2. explicit tool-call markers: whatever follows them must be calls
    if "<" in s or "[TOOL_CALLS]" in s:
        r = _markers(s)
        if r is not None:
            return r
    # 3. code fences: the first fenced block that holds calls
    if "```" in s:
        r = _fenced(s)
        if r is not None:
            return r
    # 4. calls inside prose (or after a call list that does not read as a whole)
    r = _embedded(s)
    if whole_error is not None:
        return r if r is not None and r.calls else _bad(whole_error)
    return r if r is not None else _no_calls()


def _markers(s: str) -> ParseResult | None:
    if "<tool_call>" in s:
        return _ok(*_tagged(s, "<tool_call>", "</tool_call>", "hermes"))
    if "[TOOL_CALLS]" in s:
        return _ok(*_mistral(s))
    if "<|python_tag|>" in s:
        rest = s[s.index("<|python_tag|>") + 14:].replace("<|python_tag|>", ";")
        calls, _ = _payload(rest)
        return _ok(calls, "llama")
    if "<TOOLCALL>" in s:
        return _ok(*_tagged(s, "<TOOLCALL>", "</TOOLCALL>", "pythonic"))
    for tag in ("<functioncall>", "<function_call>"):
        if tag in s:
            rest = s[s.index(tag) + len(tag):]
            end = rest.find("</function_call>")
            if end >= 0:
                rest = rest[:end]
            calls, _ = _payload(rest)
            return _ok(calls, "glaive")
    return None


def _tagged(s: str, open_tag: str, close_tag: str, fmt: str) -> tuple[list[FunctionCall], str]:
    calls: list[FunctionCall] = []
    pos = s.find(open_tag)
    while pos >= 0:
        start = pos + len(open_tag)
        end = s.find(close_tag, start)
        nxt = s.find(open_tag, start)
        if end < 0 or (0 <= nxt < end):
            end = nxt if nxt >= 0 else len(s)
            body = s[start:end]
            pos = nxt
        else:
            body = s[start:end]
            pos = s.find(open_tag, end + len(close_tag))
        got, _ = _payload(body)
        calls.extend(got)
        if len(calls) > MAX_CALLS:
            raise _Fatal(f"more than {MAX_CALLS} calls")
    return calls, fmt


def _mistral(s: str) -> tuple[list[FunctionCall], str]:
    rest = s[s.index("[TOOL_CALLS]") + 12:]
    calls: list[FunctionCall] = []
    for seg in rest.split("[TOOL_CALLS]"):
        seg = seg.strip()
        if not seg:
            continue
        if "[ARGS]" in seg:
            name, _, args = seg.partition("[ARGS]")
            name = name.split("[CALL_ID]")[0].strip()
            if not name:
                raise _Bad("a [TOOL_CALLS] call has no name")
            objs = _json_seq(args)
            if len(objs) != 1:
                raise _Bad(f"the [ARGS] of {name!r} are not one JSON object")
            calls.append(FunctionCall(name, _arguments(objs[0], name)))
        else:
            calls.extend(_payload(seg)[0])
    if not calls:
        raise _Bad("[TOOL_CALLS] is followed by no call")
    return calls, "mistral"


_FENCE_LANG_RE = re.compile(r"[A-Za-z0-9_+\-]*[ \t]*\n")


def _fenced(s: str) -> ParseResult | None:
    pos = s.find("```")
    error: str | None = None
    while pos >= 0:
        start = pos + 3
        m = _FENCE_LANG_RE.match(s, start)
        if m:
            start = m.end()
        end = s.find("```", start)
        body = s[start:] if end < 0 else s[start:end]
        body = body.strip()
        if body and _looks_like_calls(body) or body.startswith(("<tool_call>", "[TOOL_CALLS]", "<|python_tag|>")):
            try:
                if body[0] in "<[" and not _looks_like_calls(body):
                    r = _parse_text(body)
                    if r.ok:
                        return r
                    error = r.error
                else:
                    return _ok(*_payload(body))
            except _Bad as e:
                error = str(e)
        if end < 0:
            break
        pos = s.find("```", end + 3)
    if error is not None:
        return _bad(error)
    return None


# Where calls may start inside prose.
_EMBED_RE = re.compile(r"""\[\s*[A-Za-z_][\w.]*\s*\(         # [f(   pythonic list
                          |\[?\s*\{\s*["'](?:name|function|tool_calls)["']   # {"name": ...} JSON
                          |(?m:^)[ \t]*[A-Za-z_][\w.]*\s*\(\s*(?:\)|[A-Za-z_]\w*\s*=)   # f(a= at a line start
                       """, re.X)
_SCAN_RE = re.compile(r"[\[\](){}'\"\\\n]")
_CLOSE = {"[": "]", "(": ")", "{": "}"}


def _span_end(s: str, start: int, budget: list[int]) -> int:
    """End (exclusive) of the bracketed expression that starts at ``start`` (quote-aware), or -1."""
    stack: list[str] = []
    quote = ""
    i = start
    n = len(s)
    while i < n:
        m = _SCAN_RE.search(s, i)
        if m is None:
            return -1
        j = m.start()
        budget[0] -= j - i + 1
        if budget[0] < 0:
            raise _Bad("the output is too long to search for calls")
        ch = s[j]
        i = j + 1
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
            elif ch == "\n":
                return -1
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "[({":
            stack.append(_CLOSE[ch])
            if len(stack) > MAX_DEPTH:
                return -1
        elif ch in "])}":
            if not stack or stack.pop() != ch:
                return -1
            if not stack:
                return i
    return -1


def _embedded(s: str) -> ParseResult | None:
    """Calls written inside prose: the first bracketed/JSON call list that reads, else every line that is a
    call by itself. None when there is no call at all; unparseable when a call list was attempted but
    cannot be read."""
    budget = [4 * len(s) + 4096]  # characters scanned and parsed, over all candidates
    tried = 0
    error: str | None = None
    line_calls: list[FunctionCall] = []
    done = 0  # candidates inside a span already tried are not tried again
    for m in _EMBED_RE.finditer(s):
        start = m.start()
        if start < done:
            continue
        tried += 1
        if tried > MAX_CANDIDATES or budget[0] < 0:
            break
        text = m.group(0)
        stripped = text.lstrip()
        is_line = not stripped.startswith(("[", "{"))
        if is_line:
            start += len(text) - len(stripped)
            paren = s.index("(", start)
            end = _span_end(s, paren, budget)
            if end < 0:
                continue
            eol = s.find("\n", end)
            tail = s[end:eol if eol >= 0 else len(s)].strip()
            if tail not in ("", ".", ";", ","):
                continue
            done = end
            budget[0] -= end - start
            try:
                got, _ = _payload(s[start:end])
            except _Fatal as e:
                return _bad(str(e))
            except _Bad:
                continue
            line_calls.extend(got)
            if len(line_calls) > MAX_CALLS:
                return _bad(f"more than {MAX_CALLS} calls")
            continue
        if s[start] != "[" and s[start] != "{":
            start = s.index("{", start)
        end = _span_end(s, start, budget)
        if end < 0:
            error = error or "a call list in the text is not closed"
            continue
        done = end
        budget[0] -= end - start
        if budget[0] < 0:
            break
        try:
            calls, fmt = _payload(s[start:end])
        except _Fatal as e:
            return _bad(str(e))
        except _Bad as e:
            error = error or str(e)
            continue
        if calls:
            return _ok(calls, fmt)
    if line_calls:
        return _ok(line_calls, "pythonic")
    if error is not None:
        return _bad(error)
    return None


# --------------------------------------------------------------------------------------------- tool_calls
def _parse_tool_calls(tool_calls: Any) -> ParseResult:
    if not isinstance(tool_calls, list):
        return _bad("'tool_calls' must be a list")
    if len(tool_calls) > MAX_CALLS:
        return _bad(f"more than {MAX_CALLS} calls")
    try:
        calls = [_call_from_obj(tc) for tc in tool_calls]
    except _Bad as e:
        return _bad(str(e))
    return ParseResult(calls, True, None, "openai" if calls else None)
