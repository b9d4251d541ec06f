"""Parse a model's output into one canonical list of :class:`FunctionCall`.

Every common tool-call format is read (see ``docs/scoring.md``): pythonic ``[f(a=1), g(b="x")]`` (with or
without brackets, fenced, after prose, dotted names), JSON lists/objects of ``{"name", "arguments"}`` (or
``"parameters"``/``"args"``, arguments possibly a JSON string), xLAM ``{"thought", "tool_calls": [...]}``,
Hermes/Qwen ``<tool_call>{...}</tool_call>``, Llama 3.1 ``<|python_tag|>{"name", "parameters"}`` joined by ``;``,
Mistral ``[TOOL_CALLS][...]``, ``[TOOL_CALLS]f[ARGS]{...}`` and ``[TOOL_CALLS]f{...}``, Glaive
``<functioncall> {...}``, BFCL's ``<TOOLCALL>[...]</TOOLCALL>``, the OpenAI ``tool_calls`` list, and the formats
of vLLM's other tool parsers: Llama 4 ``<|python_start|>``, Qwen2.5-Coder ``<tools>``, Jamba ``<tool_calls>``,
Granite ``<|tool_call|>`` and ``<function_call>``, OLMo 3 ``<function_calls>``, Qwen3-Coder XML, GLM-4.5
``<arg_key>``/``<arg_value>``, DeepSeek V3/V3.1, Kimi K2 and MiniMax M2.

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
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, cast

from ..tasks import FunctionCall

__all__ = ["MAX_DEPTH", "MAX_INPUT_CHARS", "ParseResult", "parse_calls"]

#: Outputs longer than this are unparseable without being read (a model answer is a few hundred characters).
MAX_INPUT_CHARS = 256 * 1024
#: Deepest bracket nesting accepted in a call's arguments.
MAX_DEPTH = 64
#: At most this many calls in one output.
MAX_CALLS = 512
#: Pythonic text longer than this is not read by the literal-only fast path (tokenizing 256 KiB of one-character
#: tokens would take tens of milliseconds); JSON is read up to MAX_INPUT_CHARS.
MAX_FAST_CHARS = 64 * 1024
#: Pythonic text longer than this is not handed to ``ast.parse``: building a syntax tree costs up to ~2 ms a
#: kilobyte for dense literals.
MAX_AST_CHARS = 8 * 1024
#: At most this many characters in all go through ``ast.parse`` while reading one output (every reading tried).
MAX_AST_TOTAL = 2 * MAX_AST_CHARS
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
        return {"calls": [c.to_dict() for c in self.calls], "ok": self.ok, "error": self.error, "format": self.format}


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
def parse_calls(text: str | None, tool_calls: list[Any] | None = None, tools: Any = None) -> ParseResult:
    """Read the calls in a model's output (``text``) or in its OpenAI ``tool_calls`` list.

    Structured ``tool_calls`` win when present and non-empty; otherwise ``text`` is parsed. ``tools`` (the
    task's :class:`Tool` objects, or OpenAI/JSON-schema tool dicts) types the string values of the XML
    formats (Qwen3, MiniMax M2, GLM-4.5) the way vLLM's parsers do. Never raises.
    """
    r = _read(text, tool_calls, tools)
    if r is None:
        return ParseResult([], True, None, None)
    if isinstance(r, list):
        return ParseResult(r, True, None, "pythonic" if r else None)
    return r


class _State(threading.local):
    """Per-thread state of the parse in progress (set by :func:`_read` on its slow path)."""

    ast_left: int | None = None  # characters ast.parse may still read in the parse in progress (None: none)
    tools: Any = None  # the task's tools, for typing XML parameter values
    declined: str | None = None  # the text the literal-only fast path already declined
    depth_ok: str | None = None  # the last text whose bracket depth was checked


_ST = _State()


def _read(text: str | None, tool_calls: list[Any] | None, tools: Any = None) -> ParseResult | list[FunctionCall] | None:
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
        if len(s) <= 4096:  # the common case: no state to set up
            if _FAST_START_RE.match(s) is not None:
                calls = _fast_pythonic(s)
                if calls is not None:
                    return calls
                declined = s
            else:
                declined = None
        st = _ST
        st.ast_left, st.tools, st.declined, st.depth_ok = MAX_AST_TOTAL, tools, None, None
        try:
            if len(s) > 4096:  # a long text: a flood of brackets ends here, before it is tokenized
                _check_depth(s)
                if len(s) <= MAX_FAST_CHARS and _FAST_START_RE.match(s) is not None:
                    calls = _fast_pythonic(s)
                    if calls is not None:
                        return calls
                declined = s
            st.declined = declined
            return _parse_text(s)
        finally:
            st.tools = st.declined = st.depth_ok = st.ast_left = None
    except _Bad as e:
        return _bad(str(e))
    except (RecursionError, MemoryError):
        return _bad("the output is nested too deeply")
    except Exception as e:  # noqa: BLE001 - the parser never raises; anything unforeseen is "unparseable"
        return _bad(f"could not read the output ({type(e).__name__})")


# --------------------------------------------------------------------------------------------- cleaning
_SPECIAL_TOKENS = (
    "<|eot_id|>",
    "<|eom_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|endoftext|>",
    "</s>",
    "<eos>",
    "<end_of_turn>",
    "<|end_of_text|>",
    "<|return|>",
    "<|call|>",
    "<|eot|>",
    "<|eom|>",
    "<|python_end|>",
    "<\uff5cend\u2581of\u2581sentence\uff5c>",
    "<|observation|>",
    "<|user|>",
)
# The trailing tokens are matched on the reversed text by one regex: literal alternatives separated by
# whitespace, so the match is linear and no loop in Python runs over the tokens.
_TRAILING_RE = re.compile(r"(?:\s*(?:" + "|".join(re.escape(t[::-1]) for t in _SPECIAL_TOKENS) + "))*")


def _clean(text: str) -> str:
    """Drop reasoning blocks and trailing end-of-turn special tokens; strip whitespace."""
    text = text.strip()
    if "</think>" in text:
        # reasoning comes first; "</think>" inside a call's string value is just text (a text that opens with
        # a call or a tool-call marker has no reasoning before it)
        if text.startswith("<think>") or not (_looks_like_calls(text) or text.startswith(_CALL_OPENERS)):
            text = text[text.rfind("</think>") + 8 :].strip()
    elif text.startswith("<think>"):
        return ""  # reasoning that never finished: no call was made
    if text.endswith(">"):  # trailing end-of-turn tokens only (never inside an argument value)
        cut = _TRAILING_RE.match(text[::-1]).end()  # type: ignore[union-attr]  # a star always matches
        if cut:
            text = text[: len(text) - cut].rstrip()
    return text


# --------------------------------------------------------------------------------------------- fast path
# A literal-only tokenizer for the pythonic format. It accepts a strict subset of what ast.parse accepts and
# returns exactly what the ast path would; whenever it meets anything else it declines (returns None) and the
# ast path decides. Tokens are plain strings, classified by their first character.
_TOKEN_RE = re.compile(
    r"""[ \t\n]*("""
    r"""[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"""  # name, possibly dotted
    r"""|[\[\](){}=,:]"""  # punctuation
    r"""|'[^'\\\n\r\x00\ud800-\udfff]*'|"[^"\\\n\r\x00\ud800-\udfff]*\""""  # a string without escapes
    r"""|[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"""  # a number, possibly signed
    r"""|.)""",  # anything else: decline
    re.S,
)
_FAST_START_RE = re.compile(r"\[\s*(?:\]|[A-Za-z_])|[A-Za-z_][\w.]*\s*\(")
_CONSTS = {"True": True, "False": False, "None": None}
_KEYWORDS = frozenset(keyword.kwlist)
_NON_FINITE_NAMES = frozenset({"nan", "inf", "infinity"})
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NUM_START = frozenset("0123456789.-+")
_GOOD_KW: set[str] = set()  # keyword names already found valid (a bounded cache)
_GOOD_NAMES: set[str] = set()  # function names already found valid (a bounded cache)


def _call_maker() -> Callable[[str, dict[str, Any]], FunctionCall]:
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
    # the slots' member descriptors: mypy types FunctionCall.name as the field's value, not its descriptor
    new, set_name, set_args = object.__new__, FunctionCall.name.__set__, FunctionCall.arguments.__set__  # type: ignore[attr-defined,misc]

    def make(name: str, args: dict[str, Any]) -> FunctionCall:
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
        while True:  # bounded: each round consumes tokens, and reading past the end raises IndexError
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
    while True:  # bounded: each round consumes at least three tokens (an index past the end raises)
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
        while True:  # bounded: each round consumes tokens (an index past the end raises)
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
    while True:  # bounded: each round consumes tokens (an index past the end raises)
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
_ARGS, _DATA, _ARGS_JSON = 0, 1, 2  # how _lit reads a bare name (see there)


_DEPTH_STEP = {"[": 1, "(": 1, "{": 1, "]": -1, ")": -1, "}": -1}


def _check_depth(s: str) -> None:
    """Reject text whose brackets nest deeper than MAX_DEPTH (conservative: ignores quoting). The running
    depth is summed by C loops (map/accumulate), and a text already checked in this parse is not again."""
    if s is _ST.depth_ok or s.count("[") + s.count("(") + s.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for i in range(0, len(s), 16384):  # in chunks, so that a flood of brackets stops at the first
        run = list(accumulate(map(_DEPTH_STEP.__getitem__, _BRACKETS_RE.findall(s, i, i + 16384)), initial=depth))
        if max(run) > MAX_DEPTH:
            raise _Fatal(f"the output nests brackets deeper than {MAX_DEPTH} levels")
        depth = run[-1]
    _ST.depth_ok = s


def _spend_ast(n: int) -> None:
    """Count ``n`` characters against the parse's ast budget (outside a parse there is none)."""
    left = _ST.ast_left
    if left is not None:
        _ST.ast_left = left = left - n
        if left < 0:
            raise _Fatal("the output is too long to try every reading of it (write the calls as JSON)")


def _ast_calls(s: str, mode: int = _ARGS) -> list[FunctionCall] | Any:
    """Parse pythonic text with ast. Returns a list of calls, or (for a plain literal such as a dict) the
    literal value so that the caller can read it as JSON-style calls. ``mode`` ``_ARGS_JSON`` also reads
    bare ``null``/``true``/``false`` in arguments as JSON values (OLMo 3). Raises _Bad."""
    _check_depth(s)
    if len(s) > MAX_AST_CHARS:
        raise _Fatal(f"the calls are longer than {MAX_AST_CHARS} characters (write them as JSON to send more)")
    _spend_ast(len(s))
    src = s
    try:
        tree: ast.AST = ast.parse(src, mode="eval")
        body = tree.body  # type: ignore[attr-defined]
        nodes = [body]
    except SyntaxError as e:
        if "\n" not in s and ";" not in s:  # one line, one statement: the exec reading fails as well
            raise _Bad(f"not valid call syntax ({e.msg}, line {e.lineno})") from None
        _spend_ast(len(s))  # the second reading counts too
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
            calls.append(_ast_call(node, mode))
        elif isinstance(node, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Call) for e in node.elts):
            calls.extend(_ast_call(e, mode) for e in node.elts if isinstance(e, ast.Call))  # all are Calls
        elif body is not None and isinstance(node, (ast.Dict, ast.List)):
            return _lit(node, 0, _DATA)  # a literal (JSON-like dict/list with Python quoting): read as data
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


def _ast_call(node: ast.Call, mode: int = 0) -> FunctionCall:
    name = _dotted(node.func)
    if node.args:
        raise _Bad(f"call to {name!r} passes positional arguments; use keyword arguments (name=value)")
    args: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise _Bad(f"call to {name!r} uses ** unpacking; write each argument as name=value")
        if kw.arg in args:
            raise _Bad(f"call to {name!r} repeats argument {kw.arg!r}")
        args[kw.arg] = _lit(kw.value, 1, mode)
    return FunctionCall(name, args)


_JSON_NAMES = {"true": True, "false": False, "null": None}


def _lit(node: ast.AST, depth: int, data: int = 0) -> Any:
    """Convert a literal node. In call arguments (``_ARGS``) a bare name reads as its own string, as in
    BFCL; inside JSON-like data (``_DATA``) only ``true``/``false``/``null`` are names; ``_ARGS_JSON`` reads
    those three as JSON values and any other bare name as its own string."""
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
        for k, v in zip(node.keys, node.values, strict=False):  # type: ignore[attr-defined]
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
            v = cast(float, operand.value)  # int or float: type() checked just above (isinstance would take bool)
            if not math.isfinite(v):
                raise _Bad("an argument is not a finite number")
            return -v if type(node.op) is ast.USub else v  # type: ignore[attr-defined]
        raise _Bad("a sign applied to something other than a number")
    if t is ast.Name:
        name = node.id  # type: ignore[attr-defined]
        if data:
            if name in _JSON_NAMES:
                return _JSON_NAMES[name]
            if data == _DATA:
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


#: How an answer that is calls may open (a reasoning text never does).
_CALL_OPENERS = (
    "<tool_call>",
    "```",
    "<|python_tag|>",
    "<|python_start|>",
    "[TOOL_CALLS]",
    "<functioncall>",
    "<function_call>",
    "<function_calls>",
    "<tool_calls>",
    "<|tool_call|>",
    "<TOOLCALL>",
    "<tools>",
    "<minimax:tool_call>",
    "<|tool_calls_section_begin|>",
    "<\uff5ctool\u2581calls\u2581begin\uff5c>",
    "<\uff5cDSML\uff5cfunction_calls>",
    "<\uff5cDSML\uff5ctool_calls>",
)


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
        if len(s) > MAX_AST_CHARS:  # too long for the Python-literal reading: the JSON error stands
            raise first
        try:
            v = _ast_calls(s)
        except _Bad as e2:
            raise (first if s[0] == "{" else e2) from None
        if isinstance(v, list) and all(isinstance(c, FunctionCall) for c in v):
            return v, "pythonic"
        return _calls_from_data(v)
    fast = None if s is _ST.declined or len(s) > MAX_FAST_CHARS else _fast_pythonic(s)
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
    if _looks_like_calls(s) and not s.startswith("[TOOL_CALLS]"):
        try:
            return _ok(*_payload(s))
        except _Fatal as e:
            return _bad(str(e))
        except _Bad as e:
            whole_error = str(e)
    # 2. explicit tool-call markers: whatever follows them must be calls
    if "<" in s or "[TOOL_CALLS]" in s:
        try:
            r = _markers(s)
        except _Fatal:
            raise
        except _Bad:
            if "```" in s:  # a marker inside a fenced call list's string value is just text
                r = _fenced(s)
                if r is not None and r.ok and r.calls:
                    return r
            raise
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
    if r is not None:
        return r
    # 5. a tool-call marker of a format not read here (or a known one without its call) is not a refusal
    low = s.lower() if "<" in s else ""
    if "tool" in low or "function" in low or "invoke" in low:
        m = _UNKNOWN_MARKER_RE.search(s)
        if m is not None:
            return _bad(f"the output has a tool-call marker ({m.group(0)[:48]}) but no call that can be read")
    return _no_calls()


# A tag that names a tool or function call (any family's), e.g. <tool_use>, <|function_call_begin|>.
_UNKNOWN_MARKER_RE = re.compile(r"<[|\uff5c]?/?[\w:.\-\u2581]{0,32}?(?:tool|function|invoke)[^<>\n]{0,64}>", re.I)


# --------------------------------------------------------------------------------------------- model families
# The tool-call formats that vLLM's --tool-call-parser options read (docs/scoring.md has the table). Every
# scan below moves forward through the text (no position is searched from more than twice), and each loop
# is capped by the number of calls (MAX_CALLS) or by the text's length.
_DS = "\uff5c"  # DeepSeek's fullwidth bar; "\u2581" is its word separator
_DS_CALLS = f"<{_DS}tool\u2581calls\u2581begin{_DS}>"
_DS_CALL = f"<{_DS}tool\u2581call\u2581begin{_DS}>"
_DS_CALL_END = f"<{_DS}tool\u2581call\u2581end{_DS}>"
_DS_SEP = f"<{_DS}tool\u2581sep{_DS}>"
_KIMI_CALL = "<|tool_call_begin|>"
_KIMI_ARGS = "<|tool_call_argument_begin|>"
_DSML = f"<{_DS}DSML{_DS}"  # DeepSeek V3.2 / V4 markup: <｜DSML｜invoke name="f"><｜DSML｜parameter name="k" ...>
_DSML_INVOKE = _DSML + "invoke name="
_DSML_INVOKE_END = f"</{_DS}DSML{_DS}invoke>"
_DSML_PARAM = _DSML + "parameter name="
_DSML_PARAM_END = f"</{_DS}DSML{_DS}parameter>"


def _markers(s: str) -> ParseResult | None:
    if "<|tool_calls_section_begin|>" in s or _KIMI_CALL in s:
        return _ok(_kimi(s), "kimi_k2")
    if _DS_CALLS in s or _DS_CALL in s:
        return _ok(*_deepseek(s))
    if "<minimax:tool_call>" in s:
        return _ok(_minimax(s), "minimax_m2")
    if _DSML in s:
        return _ok(_dsml(s), "deepseek_v4" if f"{_DSML}tool_calls>" in s else "deepseek_v32")
    if "<tool_call>" in s:
        return _ok(*_tool_call_blocks(s))
    if "<function=" in s:  # Qwen3-Coder without the <tool_call> wrapper (vLLM reads it too)
        return _ok(_qwen3_xml(s[s.index("<function=") :]), "qwen3_xml")
    if "[TOOL_CALLS]" in s:
        return _ok(*_mistral(s))
    if "<|python_start|>" in s:
        body = s[s.index("<|python_start|>") + 16 :].replace("<|python_end|>", "\n")
        return _ok(_payload(body)[0], "llama4")
    if "<|python_tag|>" in s:
        rest = s[s.index("<|python_tag|>") + 14 :].replace("<|python_tag|>", ";")
        calls, _ = _payload(rest)
        return _ok(calls, "llama")
    if "<TOOLCALL>" in s:
        return _ok(_tagged(s, "<TOOLCALL>", "</TOOLCALL>"), "pythonic")
    if "<tools>" in s:  # Qwen2.5-Coder
        return _ok(_tagged(s, "<tools>", "</tools>"), "qwen25_coder")
    if "<tool_calls>" in s:  # Jamba
        return _ok(_tagged(s, "<tool_calls>", "</tool_calls>"), "jamba")
    if "<|tool_call|>" in s:  # Granite 3.0: a JSON list after the token; prose after the list is ignored
        return _ok(_json_after_tags(s, "<|tool_call|>", "</|tool_call|>"), "granite")
    if "<function_calls>" in s:  # OLMo 3: one pythonic call a line
        return _ok(_olmo3(s), "olmo3")
    if "<function_call>" in s:  # Granite-20B-FC: one JSON object after each tag
        return _ok(_json_after_tags(s, "<function_call>", "</function_call>"), "granite_20b_fc")
    if "<functioncall>" in s:  # Glaive
        return _ok(_json_after_tags(s, "<functioncall>", "</functioncall>"), "glaive")
    return None


def _blocks(s: str, open_tag: str, close_tag: str, start: int = 0) -> list[str]:
    """The text after each ``open_tag`` up to its ``close_tag``, the next ``open_tag`` or the end (the last
    block may be unterminated). Linear: the next close tag is searched for only when the previous one is
    behind the current block. At most MAX_CALLS blocks."""
    out: list[str] = []
    n_open = len(open_tag)
    pos = s.find(open_tag, start)
    close = -2  # -2: not searched yet; -1: none after this point
    for _ in range(MAX_CALLS + 1):
        if pos < 0:
            return out
        body_start = pos + n_open
        nxt = s.find(open_tag, body_start)
        if close != -1 and close < body_start:
            close = s.find(close_tag, body_start)
        if close >= 0 and (nxt < 0 or close < nxt):
            out.append(s[body_start:close])
            nxt = s.find(open_tag, close + len(close_tag))
        else:
            out.append(s[body_start:] if nxt < 0 else s[body_start:nxt])
        pos = nxt
    raise _Fatal(f"more than {MAX_CALLS} calls")


def _tagged(s: str, open_tag: str, close_tag: str) -> list[FunctionCall]:
    calls: list[FunctionCall] = []
    for body in _blocks(s, open_tag, close_tag):
        calls.extend(_payload(body)[0])
        if len(calls) > MAX_CALLS:
            raise _Fatal(f"more than {MAX_CALLS} calls")
    return calls


_GLM_NAME_RE = re.compile(r"([A-Za-z_][\w.\-]{0,255})[ \t]*(?:\n|\\n|(?=<arg_key>)|$)")


def _tool_call_blocks(s: str) -> tuple[list[FunctionCall], str]:
    """``<tool_call>`` blocks: Hermes/Qwen JSON (or pythonic), Qwen3-Coder XML (``<function=name>``), GLM-4.5
    (``name`` then ``<arg_key>``/``<arg_value>`` pairs) or Granite 3.1 (a JSON list). The format of the
    first block names the output."""
    calls: list[FunctionCall] = []
    fmt = ""
    for body in _blocks(s, "<tool_call>", "</tool_call>"):
        b = body.strip()
        if b.startswith("<function="):
            got = _qwen3_xml(b)
            fmt = fmt or "qwen3_xml"
        elif (m := _GLM_NAME_RE.match(b)) is not None:
            got = [_glm45(b, m)]
            fmt = fmt or "glm45"
        else:
            got = _payload(b)[0]
            fmt = fmt or "hermes"
        calls.extend(got)
        if len(calls) > MAX_CALLS:
            raise _Fatal(f"more than {MAX_CALLS} calls")
    return calls, fmt or "hermes"


# ------------------------------------------------ XML parameter values, typed by the tool's schema (as vLLM)
def _tool_schemas() -> Iterator[tuple[Any, dict[str, Any]]]:
    """(name, JSON-schema ``properties``) of each of the parse's tools (at most 4,097)."""
    tools = _ST.tools
    if not tools:
        return
    for i, t in enumerate(tools):
        if i > 4096:
            break
        if isinstance(t, dict):
            f = t.get("function")
            fn = f if isinstance(f, dict) else t
            tname, params = fn.get("name"), fn.get("parameters")
        else:
            tname, params = getattr(t, "name", None), getattr(t, "parameters", None)
        props = params.get("properties") if isinstance(params, dict) else None
        yield tname, props if isinstance(props, dict) else {}


def _schema_props(name: str) -> dict[str, Any] | None:
    """The JSON-schema ``properties`` of the tool called ``name`` among the parse's tools, or None."""
    for tname, props in _tool_schemas():
        if tname == name:
            return props
    return None


def _only_tool_for(args: dict[str, Any]) -> str | None:
    """The tool a call that does not name its function can only mean: the one tool offered, or the one tool
    whose parameters include every argument given (as vLLM's kimi_k2 resolves a bare counter id); None when
    more than one fits (or none)."""
    tools = [(n, p) for n, p in _tool_schemas() if isinstance(n, str) and n]
    if len(tools) == 1:
        return tools[0][0]
    fits = [n for n, p in tools if set(args) <= set(p)]
    return fits[0] if len(fits) == 1 else None


def _schema_type(props: dict[str, Any] | None, key: str) -> str | None:
    """The JSON-schema type of parameter ``key``: its ``type`` (the first non-null one of a list), else the
    first non-null ``type`` among its ``anyOf``/``oneOf`` alternatives (Pydantic's ``Optional[int]``), as
    vLLM's parsers read it."""
    spec = props.get(key) if props else None
    if not isinstance(spec, dict):
        return None
    t = spec.get("type")
    if t is None:
        alts = spec.get("anyOf") or spec.get("oneOf")
        if isinstance(alts, list):
            t = [a.get("type") for a in alts[:64] if isinstance(a, dict) and isinstance(a.get("type"), str)]
    if isinstance(t, list):  # ["integer", "null"]
        t = next((x for x in t if x != "null" and isinstance(x, str)), None)
    return t.strip().lower() if isinstance(t, str) else None


_INT_RE = re.compile(r"[-+]?[0-9]{1,4000}")


def _data_or_none(raw: str) -> Any:
    """JSON (or a Python literal, read without evaluation), or None when the text is neither."""
    try:
        return _literal_data(raw)
    except _Bad:
        return None


def _typed(raw: str, typ: str | None, untyped: str) -> Any:
    """One XML parameter value (a string) converted to the schema type ``typ`` as vLLM's qwen3_coder and
    minimax_m2 parsers do: ``null`` is None; strings stay strings; integers, numbers (integral ones become
    ints), booleans (``true``/``false``), arrays and objects are read when they can be, otherwise the text
    stays a string (and fails the type check). Without a type: ``untyped`` ``"string"`` keeps the text,
    ``"data"`` reads it as JSON when it can be (GLM-4.5)."""
    if raw.lower() == "null":
        return None
    if typ is None:
        if untyped == "string":
            return raw
        v = _data_or_none(raw)
        return raw if v is None else v
    if typ in ("string", "str", "text", "varchar", "char", "enum"):
        return raw
    if typ.startswith(("int", "uint", "long", "short", "unsigned")):
        return int(raw) if _INT_RE.fullmatch(raw.strip()) else raw
    if typ.startswith(("num", "float", "double")):
        try:
            f = float(raw)
        except ValueError:
            return raw
        if not math.isfinite(f):
            return raw
        return int(f) if f.is_integer() and abs(f) < 2**53 else f
    if typ in ("boolean", "bool", "binary"):
        low = raw.strip().lower()
        return True if low == "true" else False if low == "false" else raw
    v = _data_or_none(raw)
    return raw if v is None else v


def _xml_args(name: str, pairs: list[tuple[str, str]], untyped: str, kinds: list[str] | None = None) -> FunctionCall:
    """The call ``name`` with its (key, text) parameters typed by the schema; ``kinds`` (one a pair) overrides
    ``untyped`` for a parameter the schema does not type."""
    props = _schema_props(name)
    args: dict[str, Any] = {}
    for i, (key, raw) in enumerate(pairs):
        key = key.strip()
        if not key or len(key) > 256 or any(c.isspace() or c in "<>" for c in key):
            raise _Bad(f"a parameter of {name!r} has no readable name")
        if key in args:
            raise _Bad(f"call to {name!r} repeats argument {key!r}")
        args[key] = _typed(raw, _schema_type(props, key), kinds[i] if kinds else untyped)
    return FunctionCall(name, _arguments(args, name))


def _call_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > 256 or any(c.isspace() or c in "<>" for c in name):
        raise _Bad(f"a {what} call has no readable function name")
    return name


def _one_newline(v: str) -> str:
    """Drop one newline after the opening and one before the closing tag (the models' layout)."""
    if v.startswith("\n"):
        v = v[1:]
    if v.endswith("\n"):
        v = v[:-1]
    return v


def _qwen3_xml(s: str) -> list[FunctionCall]:
    """``<function=name><parameter=k>v</parameter>...</function>``, possibly several (Qwen3-Coder)."""
    calls: list[FunctionCall] = []
    for fn in _blocks(s, "<function=", "</function>"):
        gt = fn.find(">")
        if gt < 0:
            raise _Bad("a <function=...> tag is not closed")
        name = _call_name(fn[:gt], "Qwen3 XML")
        pairs: list[tuple[str, str]] = []
        for p in _blocks(fn, "<parameter=", "</parameter>", gt + 1):
            pgt = p.find(">")
            if pgt < 0:
                raise _Bad(f"a <parameter=...> tag of {name!r} is not closed")
            pairs.append((p[:pgt], _one_newline(p[pgt + 1 :])))
        calls.append(_xml_args(name, pairs, "string"))
        if len(calls) > MAX_CALLS:
            raise _Fatal(f"more than {MAX_CALLS} calls")
    if not calls:
        raise _Bad("a Qwen3 XML tool call holds no <function=...>")
    return calls


def _glm45(b: str, m: re.Match[str]) -> FunctionCall:
    """GLM-4.5: ``name\\n<arg_key>k</arg_key>\\n<arg_value>v</arg_value>...`` (one call a <tool_call>)."""
    name = _call_name(m.group(1), "GLM-4.5")
    rest = b[m.end() :]
    keys = _blocks(rest, "<arg_key>", "</arg_key>")
    values = _blocks(rest, "<arg_value>", "</arg_value>")
    if len(keys) != len(values) or (not keys and rest.strip()):
        raise _Bad(f"the <arg_key>/<arg_value> pairs of {name!r} do not match")
    return _xml_args(name, [(k, v.strip()) for k, v in zip(keys, values, strict=False)], "data")


def _minimax(s: str) -> list[FunctionCall]:
    """MiniMax M2: ``<minimax:tool_call><invoke name="f"><parameter name="k">v</parameter></invoke>...``."""
    calls: list[FunctionCall] = []
    for block in _blocks(s, "<minimax:tool_call>", "</minimax:tool_call>"):
        for inv in _blocks(block, "<invoke name=", "</invoke>"):
            gt = inv.find(">")
            if gt < 0:
                raise _Bad("an <invoke name=...> tag is not closed")
            name = _call_name(inv[:gt].strip().strip("\"'"), "MiniMax")
            pairs = []
            for p in _blocks(inv, "<parameter name=", "</parameter>", gt + 1):
                pgt = p.find(">")
                if pgt < 0:
                    raise _Bad(f"a <parameter name=...> tag of {name!r} is not closed")
                pairs.append((p[:pgt].strip().strip("\"'"), _one_newline(p[pgt + 1 :].strip())))
            calls.append(_xml_args(name, pairs, "string"))
            if len(calls) > MAX_CALLS:
                raise _Fatal(f"more than {MAX_CALLS} calls")
    if not calls:
        raise _Bad("a <minimax:tool_call> holds no <invoke name=...>")
    return calls


def _quoted(head: str) -> tuple[str, str]:
    """The value of a tag's first quoted attribute (``"f"`` or ``'f'``) and the text after it."""
    head = head.strip()
    if head[:1] in ("'", '"'):
        end = head.find(head[0], 1)
        if end > 0:
            return head[1:end], head[end + 1 :]
    return head, ""


def _unwrapped(call: FunctionCall) -> FunctionCall:
    """A DSML call whose one parameter is an ``arguments`` or ``input`` wrapper the tool's schema does not define,
    holding an object of the schema's parameters, is a call with that object's arguments (vLLM's deepseek_v32
    repairs it the same way); anything else is left as it is."""
    if len(call.arguments) != 1:
        return call
    ((key, value),) = call.arguments.items()
    props = _schema_props(call.name) if key in ("arguments", "input") else None
    if not props or key in props:
        return call
    inner = _data_or_none(value) if isinstance(value, str) else value
    if isinstance(inner, dict) and inner and set(inner) <= set(props):
        return FunctionCall(call.name, _arguments(inner, call.name))
    return call


def _dsml(s: str) -> list[FunctionCall]:
    """DeepSeek V3.2 / V4: ``<｜DSML｜function_calls>`` (V3.2) or ``<｜DSML｜tool_calls>`` (V4) around
    ``<｜DSML｜invoke name="f">`` blocks of ``<｜DSML｜parameter name="k" string="true">v</｜DSML｜parameter>``.
    A value is typed by the tool's schema; without one, ``string="true"`` keeps the text and
    ``string="false"`` reads it as JSON (as vLLM's deepseek_v32 / deepseek_v4 parsers do)."""
    calls: list[FunctionCall] = []
    for inv in _blocks(s, _DSML_INVOKE, _DSML_INVOKE_END):
        gt = inv.find(">")
        if gt < 0:
            raise _Bad("a <\uff5cDSML\uff5cinvoke name=...> tag is not closed")
        name = _call_name(_quoted(inv[:gt])[0], "DeepSeek DSML")
        pairs: list[tuple[str, str]] = []
        kinds: list[str] = []
        for p in _blocks(inv, _DSML_PARAM, _DSML_PARAM_END, gt + 1):
            pgt = p.find(">")
            if pgt < 0:
                raise _Bad(f"a <\uff5cDSML\uff5cparameter name=...> tag of {name!r} is not closed")
            key, attrs = _quoted(p[:pgt])
            pairs.append((key, p[pgt + 1 :]))
            kinds.append(
                "data" if attrs.replace(" ", "").startswith(('string="false"', "string='false'")) else "string"
            )
        calls.append(_unwrapped(_xml_args(name, pairs, "string", kinds)))
        if len(calls) > MAX_CALLS:
            raise _Fatal(f"more than {MAX_CALLS} calls")
    if not calls:
        raise _Bad("a DeepSeek DSML tool call holds no <\uff5cDSML\uff5cinvoke name=...>")
    return calls


# ------------------------------------------------ special-token formats with JSON arguments
def _json_object(s: str, name: str) -> dict[str, Any]:
    """The arguments of ``name``: one JSON object (a fenced ```json block is unwrapped)."""
    a = s.strip()
    if a.startswith("```"):
        a = a[3:]
        if a.startswith("json"):
            a = a[4:]
        if a.rstrip().endswith("```"):
            a = a.rstrip()[:-3]
        a = a.strip()
    if not a:
        return {}
    try:
        obj = _json_loads(a)
    except _Bad as e:
        raise _Bad(f"the arguments of {name!r} are not a JSON object: {e}") from None
    return _arguments(obj, name)


def _kimi(s: str) -> list[FunctionCall]:
    """Kimi K2: ``<|tool_call_begin|>functions.name:0<|tool_call_argument_begin|>{json}<|tool_call_end|>``."""
    calls: list[FunctionCall] = []
    for block in _blocks(s, _KIMI_CALL, "<|tool_call_end|>"):
        head, sep, args = block.partition(_KIMI_ARGS)
        if not sep:
            raise _Bad("a Kimi tool call has no <|tool_call_argument_begin|>")
        head = head.strip()
        base, colon, idx = head.rpartition(":")
        if colon and idx.isdigit():
            head = base
        if head.startswith("functions."):
            head = head[10:]
        name = _call_name(head, "Kimi")
        arguments = _json_object(args.replace("<|tool_calls_section_end|>", ""), name)
        if name.isdigit():  # a bare counter id (Kimi's newer template): the function is the tool it can only be
            name = _only_tool_for(arguments) or name
        calls.append(FunctionCall(name, arguments))
    if not calls:
        raise _Bad("<|tool_calls_section_begin|> is followed by no call")
    return calls


def _deepseek(s: str) -> tuple[list[FunctionCall], str]:
    """DeepSeek V3 (``function<｜tool▁sep｜>name\\n```json\\n{...}\\n```) and V3.1 (``name<｜tool▁sep｜>{...}``)
    blocks between ``<｜tool▁call▁begin｜>`` and ``<｜tool▁call▁end｜>``."""
    calls: list[FunctionCall] = []
    fmt = ""
    for block in _blocks(s, _DS_CALL, _DS_CALL_END):
        block = block.replace(f"<{_DS}tool\u2581calls\u2581end{_DS}>", "")
        left, sep, right = block.partition(_DS_SEP)
        if not sep:
            raise _Bad("a DeepSeek tool call has no <\uff5ctool\u2581sep\uff5c>")
        rs = right.lstrip()
        if rs.startswith(("{", "```")) or not rs:  # V3.1: the name before the separator
            name, args = _call_name(left, "DeepSeek"), right
            fmt = fmt or "deepseek_v31"
        else:  # V3: the type ("function") before it, then the name and a fenced JSON block
            first, _, args = right.partition("\n")
            name = _call_name(first, "DeepSeek")
            fmt = fmt or "deepseek_v3"
        calls.append(FunctionCall(name, _json_object(args, name)))
    if not calls:
        raise _Bad("<\uff5ctool\u2581calls\u2581begin\uff5c> is followed by no call")
    return calls, fmt


def _json_after_tags(s: str, tag: str, close_tag: str) -> list[FunctionCall]:
    """One JSON call object (or list) after each ``tag`` (Granite-20B-FC, Glaive); text after the JSON and
    before the next tag is ignored, as vLLM does."""
    calls: list[FunctionCall] = []
    for body in _blocks(s, tag, close_tag):
        b = body.strip()
        obj = None
        if b[:1] in ("{", "["):
            _check_depth(b)
            try:
                obj, _ = _DECODER.raw_decode(b)
            except json.JSONDecodeError:
                pass
        if obj is None:  # not plain JSON: Python quoting, a JSON-string "arguments" (Glaive)...
            calls.extend(_payload(b)[0])
        else:
            calls.extend(_calls_from_data(obj)[0])
        if len(calls) > MAX_CALLS:
            raise _Fatal(f"more than {MAX_CALLS} calls")
    return calls


def _olmo3(s: str) -> list[FunctionCall]:
    """OLMo 3: ``<function_calls>`` then one pythonic call a line, JSON's null/true/false allowed."""
    body = _blocks(s, "<function_calls>", "</function_calls>")[0].strip()
    if not body:
        raise _Bad("<function_calls> is followed by no call")
    if len(body) <= MAX_AST_CHARS:
        v = _ast_calls(body, _ARGS_JSON)
        if isinstance(v, list) and all(isinstance(c, FunctionCall) for c in v):
            return v
        raise _Bad("<function_calls> holds something other than calls")
    return _payload(body)[0]


_MISTRAL_NAME_RE = re.compile(r"([A-Za-z0-9_.\-]{1,256})\s*(?=\{)")


def _mistral(s: str) -> tuple[list[FunctionCall], str]:
    """Mistral: ``[TOOL_CALLS] [{...}]`` (text after the list is ignored, as vLLM does),
    ``[TOOL_CALLS]name[ARGS]{...}`` and v11+ ``[TOOL_CALLS]name{...}``, each possibly repeated."""
    rest = s[s.index("[TOOL_CALLS]") + 12 :]
    calls: list[FunctionCall] = []
    segments = rest.split("[TOOL_CALLS]", MAX_CALLS + 1)
    if len(segments) > MAX_CALLS + 1:
        raise _Fatal(f"more than {MAX_CALLS} calls")
    for seg in segments:
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
        elif seg[0] in "[{":
            try:
                objs = _json_seq(seg)  # one list, or objects separated by ';' or ','
            except _Fatal:
                raise
            except _Bad:
                try:  # JSON followed by text: the text is ignored
                    objs = [_DECODER.raw_decode(seg)[0]]
                except json.JSONDecodeError:  # Python quoting, pythonic calls...
                    objs = None
            if objs is None:
                calls.extend(_payload(seg)[0])
            else:
                for o in objs:
                    calls.extend(_calls_from_data(o)[0])
        elif _MISTRAL_NAME_RE.match(seg):
            calls.extend(_mistral_v11(seg))
        else:
            try:
                calls.extend(_payload(seg)[0])
            except _Fatal:
                raise
            except _Bad:
                j = seg.find("[{")  # text, then the JSON list (vLLM's fallback finds it the same way)
                if j < 0:
                    raise
                _check_depth(seg)
                try:
                    obj = _DECODER.raw_decode(seg, j)[0]
                except json.JSONDecodeError:
                    raise _Bad("[TOOL_CALLS] is not followed by a readable call list") from None
                calls.extend(_calls_from_data(obj)[0])
        if len(calls) > MAX_CALLS:
            raise _Fatal(f"more than {MAX_CALLS} calls")
    if not calls:
        raise _Bad("[TOOL_CALLS] is followed by no call")
    return calls, "mistral"


def _mistral_v11(seg: str) -> list[FunctionCall]:
    """``name{json}`` repeated (separated by spaces or commas); text after the last call is ignored."""
    _check_depth(seg)
    calls: list[FunctionCall] = []
    i, n = 0, len(seg)
    for _ in range(MAX_CALLS + 1):
        m = _MISTRAL_NAME_RE.match(seg, i)
        if m is None:
            if not calls:
                raise _Bad("[TOOL_CALLS] is not followed by name{arguments}")
            return calls
        name = m.group(1)
        try:
            obj, i = _DECODER.raw_decode(seg, m.end())
        except json.JSONDecodeError as e:
            raise _Bad(f"the arguments of {name!r} are not a JSON object ({e.msg})") from None
        calls.append(FunctionCall(name, _arguments(obj, name)))
        while i < n and seg[i] in " \t\r\n,":  # moves i forward only
            i += 1
    raise _Fatal(f"more than {MAX_CALLS} calls")


_FENCE_LANG_RE = re.compile(r"[A-Za-z0-9_+\-]*[ \t]*\n")


def _fenced(s: str) -> ParseResult | None:
    pos = s.find("```")
    error: str | None = None
    for _ in range(len(s) // 3 + 1):  # pos moves forward by at least 3 each round
        if pos < 0:
            break
        start = pos + 3
        m = _FENCE_LANG_RE.match(s, start)
        if m:
            start = m.end()
        end = s.find("```", start)
        body = s[start:] if end < 0 else s[start:end]
        body = body.strip()
        if body and (_looks_like_calls(body) or body[0] == "<"):
            try:
                if body[0] == "<" or body.startswith("[TOOL_CALLS]"):  # a family's markers, fenced
                    r = _parse_text(body)
                    if not r.ok:
                        error = r.error
                    elif r.calls:
                        return r
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
_EMBED_RE = re.compile(
    r"""\[\s*[A-Za-z_][\w.]*\s*\(         # [f(   pythonic list
                          |(?:\[\s*)?\{\s*["'](?:name|function|tool_calls)["']   # {"name": ...} JSON
                          |(?m:^)[ \t]*[A-Za-z_][\w.]*\s*\(\s*(?:\)|[A-Za-z_]\w*\s*=)   # f(a= at a line start
                       """,
    re.X,
)
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


_JOIN_RE = re.compile(r"[ \t\r\n]*;[ \t\r\n]*(?=\{)")


def _joined_calls(s: str, end: int, calls: list[FunctionCall], budget: list[int]) -> list[FunctionCall]:
    """``calls`` (read from a JSON object ending at ``end``) and those of every JSON object joined to it by
    ``;`` (Llama 3.x). Each round moves ``end`` forward; all must read."""
    calls = list(calls)
    for _ in range(MAX_CALLS):
        m = _JOIN_RE.match(s, end)
        if m is None:
            return calls
        start = m.end()
        end = _span_end(s, start, budget)
        if end < 0:
            raise _Bad("a call joined by ';' is not a closed JSON object")
        calls.extend(_payload(s[start:end])[0])
        if len(calls) > MAX_CALLS:
            raise _Fatal(f"more than {MAX_CALLS} calls")
    raise _Fatal(f"more than {MAX_CALLS} calls")


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
            tail = s[end : eol if eol >= 0 else len(s)].strip()
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
            if s[start] == "{":  # Llama 3.x: more JSON calls may follow, joined by ';'
                try:
                    calls = _joined_calls(s, end, calls, budget)
                except _Bad as e:
                    return _bad(str(e))
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
