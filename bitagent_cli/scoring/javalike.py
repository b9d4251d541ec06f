"""Java and JavaScript calls (BFCL's ``simple_java`` / ``simple_javascript``): read without executing anything.

BFCL's convention: the model is shown every parameter as ``"type": "string"`` and writes each argument as a Java
or JavaScript literal in a string (``"true"``, ``"42L"``, ``"new ArrayList<>(Arrays.asList(1, 2))"``,
``"{key: 'v'}"``, or a variable name such as ``"mapController"``); the checker converts each string by the
parameter's declared Java/JS type (kept in the tool as ``x-bfcl-type``) and then compares values as for Python.

Two ways in:

* structured ``tool_calls`` (or JSON text): the arguments are those strings. A value that is not a string breaks
  the convention and is a ``wrong_type`` error, as in BFCL;
* prompt-mode text ``[Cls.method(a="x", b=new int[]{1, 2})]``: a small grammar of Java/JS call syntax reads the
  function name and each named argument's source text; a string literal on its own is unquoted (as BFCL's
  tree-sitter decoders do). Positional arguments are not named, so they are not counted (BFCL drops them too).

Literals are read by a small grammar (never ``eval``): numbers, strings (escapes decoded), chars, booleans,
``null``; Java ``new T[]{...}``, ``{...}``, ``new ArrayList<>(Arrays.asList(...))``, ``Arrays.asList``/``List.of``,
``new ArrayList<>() {{ add(x); }}``, ``new HashMap<>() {{ put(k, v); }}``, ``Map.of(k, v, ...)``; JavaScript
``[...]``, ``new Array(...)``, ``Array.of(...)`` and object literals. Anything else (a variable, an
expression) stays its source text, which is how BFCL's ground truth names variables.

Conversion by declared type follows BFCL's ``java_type_converter`` / ``js_type_converter`` (a literal that does not
fit the type stays text, so it fails unless the ground truth names that text), with these fixes, each of them
a case where BFCL rejects a right answer:

* a string literal for a ``String``/``any`` parameter counts as its value in structured calls too (BFCL keeps the
  quotes there and then fails ``"Customers"`` against ``Customers``, though its own prompt-mode decoder
  unquotes it);
* elements of ``String[]``/``ArrayList<String>``/``char[]`` are unquoted and unescaped (BFCL keeps the quotes on
  ``new String[]{...}`` elements, so no String array ever passes) and elements of ``any`` lists are read as
  literals (BFCL turns them into strings with their quotes);
* Java's widening conversions: an int literal for a ``long``/``float``/``double`` parameter (``long x = 5;``
  compiles; BFCL wants ``5L`` and ``5f``), a ``d`` suffix on a double, underscores in numbers; a char literal is
  its character (BFCL's char pattern never matches); JavaScript numbers with exponents or a leading dot;
* string escapes are decoded; a comma inside a string does not split a list (BFCL splits list text on commas).

Then the converted call is checked by :func:`bitagent_cli.scoring.check.score_task` against the same task with
the declared types, so every rule of docs/scoring.md (names, required and unexpected arguments, BFCL's string
normalisation, numbers by value, ``""`` = may be omitted) applies unchanged. Inputs are bounded: at most
:data:`MAX_CHARS` characters of output and :data:`MAX_DEPTH` levels of nesting.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING, Any, cast

from ..tasks import FunctionCall, Task, Tool
from ..tasks._types import HINT_KEYS
from .parse import parse_calls

if TYPE_CHECKING:
    from .check import ScoreResult

__all__ = [
    "MAX_CHARS",
    "MAX_DEPTH",
    "JavaLikeError",
    "convert_value",
    "first_answer_call",
    "first_answer_text",
    "parse_call_text",
    "parse_literal",
    "render_literal",
    "score_javalike",
]

MAX_CHARS = 200_000
MAX_DEPTH = 32


class JavaLikeError(ValueError):
    """Text that is not a Java/JS call or literal."""


class _TooDeep(JavaLikeError):
    """Nesting beyond :data:`MAX_DEPTH` (never read as an expression instead)."""


# --------------------------------------------------------------------------------------------- lexer
_NUM_RE = re.compile(r"(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)[lLfFdDn]?")
_IDENT_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_PLAIN_NUM_RE = re.compile(r"-?(?:\d[\d_]*(?:\.\d[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?[lLfFdDn]?")
_JAVA_ESC = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "0": "\0",
    "s": " ",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "v": "\v",
}


@dataclasses.dataclass(slots=True)
class _Tok:
    kind: str  # str, char, num, ident, punct
    text: str  # source text
    value: Any  # decoded string for str/char
    start: int
    end: int


def _string(s: str, i: int, quote: str) -> tuple[str, int]:
    """Decode the string literal starting at ``s[i] == quote``; return (value, index after it)."""
    out: list[str] = []
    j = i + 1
    n = len(s)
    while j < n:
        c = s[j]
        if c == quote:
            return "".join(out), j + 1
        if c == "\\" and j + 1 < n:
            e = s[j + 1]
            if e == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[j + 2 : j + 6] or ""):
                out.append(chr(int(s[j + 2 : j + 6], 16)))
                j += 6
                continue
            if e == "\n":  # JS line continuation
                j += 2
                continue
            out.append(_JAVA_ESC.get(e, e))
            j += 2
            continue
        if c == "\n" and quote != "`":
            raise JavaLikeError("a string literal runs past the end of the line")
        if quote == "`" and c == "$" and s[j + 1 : j + 2] == "{":
            raise JavaLikeError("template literals with ${...} are expressions")
        out.append(c)
        j += 1
    raise JavaLikeError("a string literal is not closed")


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>" + _NUM_RE.pattern + r")|(?P<ident>[A-Za-z_$][A-Za-z0-9_$]*)|(?P<q>[\"'`])"
    r"|(?P<p>\S))"
)


def _lex(s: str, language: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(s)
    match = _TOKEN_RE.match
    while i < n:
        m = match(s, i)
        if m is None:  # only whitespace is left
            break
        kind = cast(str, m.lastgroup)  # every alternative of the pattern is a named group
        a = m.start(kind)
        if kind == "q":
            c = m.group("q")
            if c == "'" and language == "java":  # a char literal ('ab' is not Java: text, e.g. in an expression)
                v, j = _string(s, a, "'")
                toks.append(_Tok("char" if len(v) == 1 else "badchar", s[a:j], v, a, j))
            elif c == "`" and language == "java":
                toks.append(_Tok("punct", c, None, a, a + 1))
                j = a + 1
            else:
                v, j = _string(s, a, c)
                toks.append(_Tok("str", s[a:j], v, a, j))
            i = j
            continue
        j = m.end()
        toks.append(_Tok("punct" if kind == "p" else kind, s[a:j], None, a, j))
        i = j
    return toks


# --------------------------------------------------------------------------------------------- literals
# A parsed literal: (kind, payload, source text). kinds: num (payload: the text, sign included), str, char,
# bool, null, list (payload: [nodes]), map (payload: [(key node, value node)]), expr (payload: None).
Node = tuple[Any, ...]


_OPEN = {"(": ")", "[": "]", "{": "}"}
_JAVA_LISTS = {
    "ArrayList",
    "LinkedList",
    "List",
    "Vector",
    "CopyOnWriteArrayList",
    "Collection",
    "Set",
    "HashSet",
    "LinkedHashSet",
    "TreeSet",
    "ArrayDeque",
    "Stack",
    "Queue",
    "Deque",
}
_JAVA_MAPS = {"HashMap", "Map", "LinkedHashMap", "TreeMap", "Hashtable", "ConcurrentHashMap"}


class _P:
    """A recursive-descent reader over the tokens of one value (``toks[lo:hi]``)."""

    def __init__(self, src: str, toks: list[_Tok], language: str):
        self.src, self.t, self.lang = src, toks, language
        self.i = 0

    def peek(self, k: int = 0) -> _Tok | None:
        j = self.i + k
        return self.t[j] if j < len(self.t) else None

    def is_(self, text: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok is not None and tok.text == text and tok.kind in ("punct", "ident")

    def take(self, text: str) -> None:
        if not self.is_(text):
            raise JavaLikeError(f"expected {text!r}")
        self.i += 1

    def text(self, a: int, b: int) -> str:
        return self.src[self.t[a].start : self.t[b - 1].end] if b > a else ""

    def value(self, depth: int) -> Node:
        """One value: a literal, or else one expression kept as its text (a variable, ``f(x)``, ``new Path(p)``)."""
        if depth > MAX_DEPTH:
            raise _TooDeep("nested too deeply")
        a = self.i
        try:
            return self.literal(depth)
        except _TooDeep:
            raise
        except JavaLikeError:
            return self.expr(a)

    def expr(self, a: int) -> Node:
        """The tokens from ``a`` up to a ``,``/``;`` or an unmatched closing bracket, as an expression's text."""
        self.i = a
        depth = 0
        n = len(self.t)
        while self.i < n:
            tok = self.t[self.i]
            if tok.kind == "punct":
                if tok.text in _OPEN:
                    depth += 1
                elif tok.text in ")]}":
                    if depth == 0:
                        break
                    depth -= 1
                elif tok.text in ",;" and depth == 0:
                    break
                elif tok.text == "<" and self.i > a and self.t[self.i - 1].kind == "ident":
                    end = _generic_end(self.t, self.i)
                    if end is not None:
                        self.i = end
            self.i += 1
        if self.i == a or depth:
            raise JavaLikeError("not an expression")
        return ("expr", None, self.text(a, self.i))

    def literal(self, depth: int) -> Node:
        a = self.i
        tok = self.peek()
        if tok is None:
            raise JavaLikeError("a value is missing")
        if tok.kind == "punct" and tok.text in "-+" and (nxt := self.peek(1)) is not None and nxt.kind == "num":
            self.i += 2
            num = nxt.text
            return ("num", ("-" if tok.text == "-" else "") + num, self.text(a, self.i))
        if tok.kind == "num":
            self.i += 1
            return ("num", tok.text, tok.text)
        if tok.kind in ("str", "char"):
            self.i += 1
            return (tok.kind, tok.value, tok.text)
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                self.i += 1
                return ("bool", tok.text == "true", tok.text)
            if tok.text == "null" or (tok.text == "undefined" and self.lang == "javascript"):
                self.i += 1
                return ("null", None, tok.text)
            if tok.text == "new":
                return self.new(depth, a)
            special = self.factory(depth, a)
            if special is not None:
                return special
        if tok.text == "[" and tok.kind == "punct" and self.lang == "javascript":
            self.i += 1
            return ("list", self.seq("]", depth), self.text(a, self.i))
        if tok.text == "{" and tok.kind == "punct":
            self.i += 1
            if self.lang == "java":
                return ("list", self.seq("}", depth), self.text(a, self.i))
            return ("map", self.obj(depth), self.text(a, self.i))
        raise JavaLikeError("not a literal")

    def seq(self, close: str, depth: int) -> list[Node]:
        out: list[Node] = []
        while not self.is_(close):
            out.append(self.value(depth + 1))
            if self.is_(","):
                self.i += 1
            elif not self.is_(close):
                raise JavaLikeError(f"expected ',' or {close!r}")
        self.i += 1
        return out

    def obj(self, depth: int) -> list[tuple[Node, Node]]:
        out: list[tuple[Node, Node]] = []
        while not self.is_("}"):
            k = self.peek()
            if k is None or k.kind not in ("ident", "str", "num"):
                raise JavaLikeError("an object key must be a name, a string or a number")
            self.i += 1
            key = ("str", k.value if k.kind == "str" else k.text, k.text)
            self.take(":")
            out.append((key, self.value(depth + 1)))
            if self.is_(","):
                self.i += 1
            elif not self.is_("}"):
                raise JavaLikeError("expected ',' or '}'")
        self.i += 1
        return out

    def type_name(self) -> str:
        """A (dotted, generic) Java type name; returns its last simple name."""
        tok = self.peek()
        if tok is None or tok.kind != "ident":
            raise JavaLikeError("a type name is missing")
        name = tok.text
        self.i += 1
        while self.is_(".") and (nxt := self.peek(1)) is not None and nxt.kind == "ident":
            name = nxt.text
            self.i += 2
        if self.is_("<"):
            level = 0
            while True:
                tok = self.peek()
                if tok is None:
                    raise JavaLikeError("a type's '<' is not closed")
                if tok.text == "<":
                    level += 1
                elif tok.text == ">":
                    level -= 1
                elif tok.kind not in ("ident",) and tok.text not in (",", ".", "?", "[", "]", "&"):
                    raise JavaLikeError("not a type argument")
                self.i += 1
                if level == 0:
                    break
        return name

    def new(self, depth: int, a: int) -> Node:
        self.i += 1  # new
        name = self.type_name()
        if self.lang == "javascript":
            if name == "Array" and self.is_("("):
                self.i += 1
                return ("list", self.seq(")", depth), self.text(a, self.i))
            raise JavaLikeError("not a literal")
        if self.is_("["):  # new T[]{...} / new T[][]{...}
            while self.is_("[") and self.is_("]", 1):
                self.i += 2
            self.take("{")
            return ("list", self.seq("}", depth), self.text(a, self.i))
        self.take("(")
        args = self.seq(")", depth)
        body: list[tuple[str, list[Node]]] = []
        if self.is_("{"):  # double-brace initialisation: {{ add(x); put(k, v); }}
            self.i += 1
            inner = self.is_("{")
            if inner:
                self.i += 1
            while not self.is_("}"):
                tok = self.peek()
                if tok is None or tok.kind != "ident":
                    raise JavaLikeError("only add(...) / put(...) calls are read in an initialiser block")
                self.i += 1
                self.take("(")
                body.append((tok.text, self.seq(")", depth)))
                while self.is_(";"):
                    self.i += 1
            self.i += 1
            if inner:
                self.take("}")
        src = self.text(a, self.i)
        if name in _JAVA_MAPS:
            pairs: list[tuple[Node, Node]] = []
            if len(args) == 1 and args[0][0] == "map":
                pairs.extend(args[0][1])
            elif args:
                raise JavaLikeError("not a literal")
            for meth, margs in body:
                if meth != "put" or len(margs) != 2:
                    raise JavaLikeError("only put(key, value) is read in a map initialiser")
                pairs.append((margs[0], margs[1]))
            return ("map", pairs, src)
        if name in _JAVA_LISTS:
            items: list[Node] = []
            if len(args) == 1 and args[0][0] == "list":
                items.extend(args[0][1])
            elif args and not (len(args) == 1 and args[0][0] == "num"):  # new ArrayList<>(10): a capacity
                raise JavaLikeError("not a literal")
            for meth, margs in body:
                if meth != "add" or len(margs) != 1:
                    raise JavaLikeError("only add(value) is read in a list initialiser")
                items.append(margs[0])
            return ("list", items, src)
        raise JavaLikeError("not a literal")

    def factory(self, depth: int, a: int) -> Node | None:
        """``Arrays.asList(...)``, ``List.of(...)``, ``Set.of``, ``Map.of(k, v, ...)``, ``Array.of(...)``."""
        tok, dot, meth, par = self.peek(), self.peek(1), self.peek(2), self.peek(3)
        if not (tok and dot and meth and par and dot.text == "." and par.text == "(" and meth.kind == "ident"):
            return None
        pair = (tok.text, meth.text)
        if self.lang == "java":
            lists = {("Arrays", "asList"), ("List", "of"), ("Set", "of"), ("Stream", "of")}
            maps = {("Map", "of")}
        else:
            lists, maps = {("Array", "of")}, set()
        if pair not in lists and pair not in maps:
            return None
        self.i += 4
        args = self.seq(")", depth)
        if pair in maps:
            if len(args) % 2:
                raise JavaLikeError("Map.of takes keys and values in pairs")
            return ("map", [(args[k], args[k + 1]) for k in range(0, len(args), 2)], self.text(a, self.i))
        return ("list", args, self.text(a, self.i))


def parse_literal(text: str, language: str) -> Node:
    """Read one Java/JS value; anything that is not a literal is ``("expr", None, text)`` (stripped)."""
    s = text.strip()
    if len(s) > MAX_CHARS:
        return ("expr", None, s)
    if _IDENT_RE.fullmatch(s):  # the common cases, without the lexer: a name or a keyword
        if s in ("true", "false"):
            return ("bool", s == "true", s)
        if s == "null" or (s == "undefined" and language == "javascript"):
            return ("null", None, s)
        return ("expr", None, s)
    if _PLAIN_NUM_RE.fullmatch(s):
        return ("num", s, s)
    try:
        toks = _lex(s, language)
        p = _P(s, toks, language)
        node = p.value(0)
        if p.i != len(toks):
            raise JavaLikeError("more text after the value")
        return node
    except (JavaLikeError, RecursionError):
        return ("expr", None, s)


# --------------------------------------------------------------------------------------------- conversion
_INT_RE = re.compile(r"-?\d+")


def _clean_num(t: str) -> str:
    return t.replace("_", "")


def _natural(node: Node, language: str) -> Any:
    """A literal's own value, without a declared type (BFCL's ``parse_java_value`` / ``parse_js_value``)."""
    kind, payload, text = node
    if kind == "num":
        t = _clean_num(payload)
        try:
            if t[-1] in "lLn" or re.fullmatch(r"-?(0[xX][0-9a-fA-F]+|\d+)", t):
                core = t.rstrip("lLn")
                return int(core, 0) if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", core) else int(core)
            return float(t.rstrip("fFdD"))
        except ValueError:
            return text
    if kind in ("str", "char", "bool"):
        return payload
    if kind == "null":
        return None
    if kind == "list":
        return [_natural(x, language) for x in payload]
    if kind == "map":
        return {str(_natural(k, language)): _natural(v, language) for k, v in payload}
    return text


_MAX_DIGITS = 4000


def _number(node: Node, language: str, want: str) -> Any:
    """``want``: int (no suffix), long, float, double, js_float, bigint. Returns the number or None."""
    if node[0] != "num":
        return None
    t = _clean_num(node[1])
    if len(t) > _MAX_DIGITS:  # no Java/JS number is this long (and int() refuses over 4,300 digits)
        return None
    if language == "java":
        if want == "int":
            return int(t) if _INT_RE.fullmatch(t) else None
        if want == "long":
            return int(t.rstrip("lL")) if re.fullmatch(r"-?\d+[lL]?", t) else None
        if want == "float":  # 1.5f, 3e3F, or an int literal (widening)
            if _INT_RE.fullmatch(t):
                return float(t)
            return float(t[:-1]) if re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[fF]", t) else None
        if want == "double":
            return float(t.rstrip("dD")) if re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[dD]?", t) else None
        return None
    if want == "int":
        return int(t) if _INT_RE.fullmatch(t) else None
    if want == "float":
        return float(t) if re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", t) else None
    if want == "bigint":
        return int(t[:-1]) if re.fullmatch(r"-?\d+n", t) else None
    return None


_JAVA_NUM = {
    "byte": "int",
    "short": "int",
    "integer": "int",
    "int": "int",
    "long": "long",
    "float": "float",
    "double": "double",
}
_JS_NUM = {"integer": "int", "float": "float", "Bigint": "bigint"}


def convert_value(node: Node, declared: str | None, items: str | None, language: str) -> Any:
    """One literal as the declared Java/JS type wants it; a literal that does not fit stays its source text."""
    kind, payload, text = node
    nums = _JAVA_NUM if language == "java" else _JS_NUM
    if declared in nums:
        v = _number(node, language, nums[declared])
        return text if v is None else v
    if declared in ("boolean", "Boolean"):
        return payload if kind == "bool" else text
    if declared == "char":
        return payload if kind == "char" else text
    if declared in ("String", "any", "string", None):
        if declared is None and kind not in ("str", "char", "expr"):
            return _natural(node, language)
        return payload if kind in ("str", "char") else text
    if declared in ("Array", "ArrayList", "array", "Queue", "Stack", "Set"):
        if kind != "list":
            return text
        if items in (None, "any"):
            return [_natural(x, language) for x in payload]
        return [convert_value(x, items, None, language) for x in payload]
    if declared in ("HashMap", "Hashtable", "dict"):
        return _natural(node, language) if kind == "map" else text
    return _natural(node, language)


# --------------------------------------------------------------------------------------------- call text
def _fence(text: str) -> str:
    s = text.strip()
    m = re.fullmatch(r"```[A-Za-z]*\s*\n?(.*?)\n?```", s, re.S)
    if m:
        s = m.group(1)
    return s.strip("`\n ")


def parse_call_text(text: str, language: str, bfcl: bool = False) -> list[FunctionCall]:
    """Read ``[name(a=v, ...), ...]`` (brackets optional) written in Java/JS call syntax. Each named argument's
    value is its source text, a lone string literal unquoted. Raises :class:`JavaLikeError`.

    ``bfcl``: the values as BFCL's tree-sitter Java decoder hands them on (``--rules bfcl``): a lone char
    literal unquoted too, and the class body of an object creation dropped (``new HashMap<>() {{ put(..); }}``
    is ``new HashMap<>()``)."""
    if len(text) > MAX_CHARS:
        raise JavaLikeError(f"the output is longer than {MAX_CHARS} characters")
    s = _fence(text)
    toks = _lex(s, language)
    if toks and toks[0].text == "[" and toks[-1].text == "]":
        toks = toks[1:-1]
    calls: list[FunctionCall] = []
    i, n = 0, len(toks)
    while i < n:
        if toks[i].kind != "ident":
            raise JavaLikeError("a call must start with a function name")
        name = toks[i].text
        i += 1
        while i + 1 < n and toks[i].text == "." and toks[i + 1].kind == "ident":
            name += "." + toks[i + 1].text
            i += 2
        if i >= n or toks[i].text != "(":
            raise JavaLikeError(f"{name} is not followed by '('")
        i += 1
        args: dict[str, Any] = {}
        start = i
        depth = 0
        while True:
            if i >= n:
                raise JavaLikeError(f"the call to {name} is not closed")
            tok = toks[i]
            if tok.kind == "punct" and tok.text in _OPEN:
                depth += 1
            elif tok.kind == "punct" and tok.text in ")]}":
                if depth == 0:
                    if tok.text != ")":
                        raise JavaLikeError("unbalanced brackets")
                    _arg(s, toks, start, i, args, language, bfcl)
                    i += 1
                    break
                depth -= 1
                if depth > MAX_DEPTH:
                    raise JavaLikeError("nested too deeply")
            elif tok.kind == "punct" and tok.text == "<" and i > 0 and toks[i - 1].kind == "ident":
                end = _generic_end(toks, i)
                if end is not None:
                    i = end + 1
                    continue
            elif tok.kind == "punct" and tok.text == "," and depth == 0:
                _arg(s, toks, start, i, args, language, bfcl)
                start = i + 1
            i += 1
        calls.append(FunctionCall(name, args))
        while i < n and toks[i].text in (",", ";"):
            i += 1
        if len(calls) > 64:
            raise JavaLikeError("more than 64 calls")
    return calls


def _generic_end(toks: list[_Tok], i: int) -> int | None:
    """Index of the '>' closing the type arguments opened at ``toks[i] == '<'``, or None if it is not one."""
    level = 0
    for j in range(i, min(len(toks), i + 200)):
        t = toks[j]
        if t.text == "<":
            level += 1
        elif t.text == ">":
            level -= 1
            if level == 0:
                return j
        elif t.kind != "ident" and t.text not in (",", ".", "?", "[", "]", "&"):
            return None
    return None


_ATOMS = ("ident", "num", "str", "char", "badchar")
_PREFIX_WORDS = ("new", "typeof", "void", "await", "instanceof", "in")
_INFIX_WORDS = ("instanceof", "in")


def _one_expression(vt: list[_Tok], name: str, language: str) -> None:
    """Reject a value that is not one expression: `John Doe`, `1.2.3`, `employee:1234` (BFCL's decoders fail
    these too); a ``:`` is only read inside brackets or after a ``?`` (and Java's ``::``)."""
    depth = 0
    ternary = 0
    for j, x in enumerate(vt):
        y = vt[j + 1] if j + 1 < len(vt) else None
        if (
            y is not None
            and x.kind in _ATOMS
            and y.kind in _ATOMS
            and x.text not in _PREFIX_WORDS
            and y.text not in _INFIX_WORDS
        ):
            raise JavaLikeError(f"the value of {name} is not one {_LANG[language]} expression")
        if x.kind != "punct":
            continue
        if x.text in _OPEN:
            depth += 1
        elif x.text in ")]}":
            depth -= 1
        elif depth == 0 and x.text == "?":
            ternary += 1
        elif depth == 0 and x.text == ":":
            if (y is not None and y.text == ":") or (j and vt[j - 1].text == ":"):
                continue
            if not ternary:
                raise JavaLikeError(f"the value of {name} is not one {_LANG[language]} expression")
            ternary -= 1


def _arg(src: str, toks: list[_Tok], a: int, b: int, args: dict[str, Any], language: str, bfcl: bool = False) -> None:
    if b <= a:
        if args or a != b:
            raise JavaLikeError("an empty argument")
        return
    if b - a >= 3 and toks[a].kind == "ident" and toks[a + 1].text == "=" and toks[a + 2].text != "=":
        name = toks[a].text
        if name in args:
            raise JavaLikeError(f"argument {name} is given twice")
        vt = toks[a + 2 : b]
        _one_expression(vt, name, language)
        if len(vt) == 1 and (vt[0].kind == "str" or (bfcl and language == "java" and vt[0].kind == "char")):
            args[name] = vt[0].value  # a lone string literal: its content (BFCL's decoders unquote it)
        elif bfcl and language == "java":
            args[name] = src[vt[0].start : vt[_without_class_body(vt)].end]
        else:
            args[name] = src[vt[0].start : vt[-1].end]
    # a positional argument has no name: not counted (BFCL drops it too)


def _without_class_body(vt: list[_Tok]) -> int:
    """Index of the last token BFCL's Java decoder keeps of ``new T(...) { body }``: the ``)`` (it rebuilds an
    object creation from its type and arguments only); the last token for anything else."""
    if not vt or vt[0].text != "new":
        return len(vt) - 1
    depth = 0
    for j, t in enumerate(vt):
        if t.kind != "punct":
            continue
        if t.text in _OPEN:
            if depth == 0 and t.text != "(":
                return len(vt) - 1  # `new int[]{...}`: an array creation keeps its initialiser
            depth += 1
        elif t.text in ")]}":
            depth -= 1
            if depth == 0:
                rest = vt[j + 1 :]
                return j if rest and rest[0].text == "{" and rest[-1].text == "}" else len(vt) - 1
    return len(vt) - 1


# --------------------------------------------------------------------------------------------- scoring
_JSON_TYPE = {
    "java": {
        "byte": "integer",
        "short": "integer",
        "integer": "integer",
        "long": "integer",
        "float": "number",
        "double": "number",
        "boolean": "boolean",
        "char": "string",
        "String": "string",
        "any": "string",
        "Array": "array",
        "ArrayList": "array",
        "HashMap": "object",
        "Hashtable": "object",
        "Set": "array",
        "Queue": "array",
        "Stack": "array",
    },
    "javascript": {
        "String": "string",
        "any": "string",
        "integer": "integer",
        "float": "number",
        "Bigint": "integer",
        "Boolean": "boolean",
        "dict": "object",
        "array": "array",
    },
}


def _declared_task(task: Task) -> Task:
    """The task with each parameter's declared Java/JS type as a JSON-schema type (for the value check)."""
    table = _JSON_TYPE.get(task.language, {})
    tools = []
    for tool in task.tools:
        props = {}
        for k, sch in tool.properties.items():
            if isinstance(sch, dict) and "x-bfcl-type" in sch:
                sch = {kk: vv for kk, vv in sch.items() if kk not in HINT_KEYS}
                t = table.get(tool.properties[k]["x-bfcl-type"])
                if t:
                    sch["type"] = t
                    it = table.get(tool.properties[k].get("x-bfcl-items-type"))
                    if t == "array" and it:
                        sch["items"] = {"type": it}
                else:
                    sch.pop("type", None)
            props[k] = sch
        tools.append(Tool(tool.name, tool.description, {**tool.parameters, "properties": props}))
    return dataclasses.replace(task, tools=tuple(tools), meta={**task.meta, "language": "python"})


_DECLARED: dict[str, tuple[Task, Task]] = {}


def _declared(task: Task) -> Task:
    hit = _DECLARED.get(task.id)
    if hit is not None and hit[0] is task:
        return hit[1]
    d = _declared_task(task)
    if len(_DECLARED) >= 10_000:
        _DECLARED.clear()
    _DECLARED[task.id] = (task, d)
    return d


def _convert_call(task: Task, call: FunctionCall) -> tuple[FunctionCall, str | None]:
    """The call with each argument converted by its declared type; the name of an argument that is not a string
    (structured calls must write literals in strings), if any."""
    tool = task.tool(call.name) or task.tool(call.name.replace("_", ".")) or _tool_by_variant(task, call.name)
    props = tool.properties if tool is not None else {}
    lang = task.language
    out: dict[str, Any] = {}
    bad = None
    for k, v in call.arguments.items():
        sch = props.get(k) if isinstance(props, dict) else None
        if not isinstance(v, str):
            if bad is None:
                bad = k
            out[k] = v
            continue
        if not isinstance(sch, dict) or "x-bfcl-type" not in sch:
            out[k] = v
            continue
        node = parse_literal(v, lang)
        out[k] = convert_value(node, sch.get("x-bfcl-type"), sch.get("x-bfcl-items-type"), lang)
    return FunctionCall(call.name, out), bad


def _tool_by_variant(task: Task, name: str) -> Tool | None:
    bare = name[10:] if name.startswith("functions.") else name
    for t in task.tools:
        if t.name == bare or t.name.replace(".", "_") == bare:
            return t
    return None


_EMBEDDED_RE = re.compile(r"\[\s*[A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*\s*\(")


def _embedded(text: str) -> str | None:
    """``[name(...), ...]`` after some prose ("Sure! [f(a=1)]"): from the first such ``[`` to the last ``]``."""
    m = _EMBEDDED_RE.search(text)
    if m is None or m.start() == 0:
        return None
    end = text.rfind("]")
    return text[m.start() : end + 1] if end > m.start() else None


def _looks_structured(s: str) -> bool:
    s = s.lstrip("`\n ")
    return s.startswith(("{", "[{", "<")) or s.lower().startswith(("json", "```json"))


def score_javalike(task: Task, response: Any, rules: str = "bitagent") -> ScoreResult:
    """Score one response to a Java/JS task (see the module docs); returns a :class:`ScoreResult`. ``rules`` is
    passed on to ``check.score_task`` for the converted call."""
    from .check import Response, ScoreResult
    from .check import score_task as _score_task

    def score_task(t: Task, r: Any) -> ScoreResult:
        return _score_task(t, r, rules)

    if task.multi_turn is not None:  # a conversation, not one answer: played and checked by eval-model
        base = score_task(dataclasses.replace(task, multi_turn=None, meta={**task.meta, "language": "python"}), None)
        return dataclasses.replace(
            base,
            feedback="A multi-turn task is scored by playing its conversation "
            "(bitagent eval-model), not from one response.",
        )
    declared = _declared(task)
    if response is None:
        return score_task(declared, None)
    text, tool_calls = response.text, response.tool_calls
    calls: list[FunctionCall] | None = None
    fmt = None
    if not tool_calls and isinstance(text, str) and text.strip() and not _looks_structured(text):
        for candidate in (text, _embedded(text)):  # the whole text, else a [call(...)] list inside prose
            if candidate is None:
                continue
            try:
                calls = parse_call_text(candidate, task.language)
                fmt = task.language
                break
            except (JavaLikeError, RecursionError):
                calls = None
    if calls is None:
        parsed = parse_calls(text, tool_calls)
        if not parsed.ok:
            return score_task(declared, Response(response.id, text, tool_calls))
        calls = list(parsed.calls)
        fmt = parsed.format
    converted = []
    for c in calls:
        cc, bad = _convert_call(task, c)
        if bad is not None:
            base = score_task(declared, Response(response.id, None, []))
            crit: dict[str, bool | None] = {k: None for k in base.criteria}
            crit.update(
                {
                    "parsed": True,
                    "call_count": True,
                    "function_names": True,
                    "required_args": True,
                    "no_unexpected_args": True,
                    "arg_types": False,
                }
            )
            return ScoreResult(
                task.id,
                task.category,
                False,
                0.0,
                "wrong_type",
                crit,
                f"Argument `{bad}` of `{c.name}` must be a {_LANG[task.language]} literal written "
                f'as a string (e.g. "true", "42", "new int[]{{1, 2}}"), as the tool\'s schema '
                f"says.",
                calls,
                fmt,
            )
        converted.append(cc)
    payload = [{"type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in converted]
    result = score_task(
        declared, Response(response.id, None, payload) if payload else Response(response.id, "", None)
    )  # "": no call at all
    return dataclasses.replace(result, calls=calls, format=fmt if calls else result.format)


_LANG = {"java": "Java", "javascript": "JavaScript"}


# --------------------------------------------------------------------------------------------- writing
def _quote(v: str) -> str:
    return json.dumps(v, ensure_ascii=False)


def _natural_literal(v: Any, language: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return _quote(v)
    if v is None:
        return "null"
    if isinstance(v, list):
        inner = ", ".join(_natural_literal(x, language) for x in v)
        return f"[{inner}]" if language == "javascript" else f"new ArrayList<>(Arrays.asList({inner}))"
    if isinstance(v, dict):
        if language == "javascript":
            return "{" + ", ".join(f"{_quote(str(k))}: {_natural_literal(x, language)}" for k, x in v.items()) + "}"
        puts = " ".join(f"put({_quote(str(k))}, {_natural_literal(x, language)});" for k, x in v.items())
        return "new HashMap<String, Object>() {{ " + puts + " }}"
    return str(v)


_JAVA_ARRAY_TYPE = {
    "String": "String",
    "integer": "int",
    "long": "long",
    "char": "char",
    "boolean": "boolean",
    "double": "double",
    "float": "float",
    "any": "Object",
}


def render_literal(v: Any, declared: str | None, items: str | None, language: str) -> str:
    """A value written as the Java/JS literal (in a string) a model would give for a parameter of the declared
    type, the way BFCL reads it: a string for a ``String``/``any`` parameter (and any variable name) as is."""
    if isinstance(v, str) and not (declared == "char"):
        return v
    if language == "java":
        if declared == "long" and isinstance(v, int) and not isinstance(v, bool):
            return f"{v}L"
        if declared == "float" and isinstance(v, (int, float)) and not isinstance(v, bool):
            return f"{float(v)!r}f"
        if declared == "double" and isinstance(v, (int, float)) and not isinstance(v, bool):
            return repr(float(v))
        if declared == "char" and isinstance(v, str):
            return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
        if declared in ("Array", "ArrayList") and isinstance(v, list):
            parts = []
            for x in v:
                if isinstance(x, str) and items in ("String", "char"):
                    parts.append(_quote(x) if items == "String" else render_literal(x, "char", None, language))
                elif items in (None, "any"):
                    parts.append(_natural_literal(x, language))
                else:
                    parts.append(render_literal(x, items, None, language))
            inner = ", ".join(parts)
            if declared == "Array":
                return f"new {_JAVA_ARRAY_TYPE.get(items or 'any', 'Object')}[]{{{inner}}}"
            return f"new ArrayList<>(Arrays.asList({inner}))"
        return _natural_literal(v, language)
    if declared == "Bigint" and isinstance(v, int) and not isinstance(v, bool):
        return f"{v}n"
    if declared == "float" and isinstance(v, (int, float)) and not isinstance(v, bool):
        return repr(float(v))
    if declared == "array" and isinstance(v, list):
        parts = []
        for x in v:
            if isinstance(x, str) and items == "String":
                parts.append(_quote(x))
            elif items in (None, "any", "String"):
                parts.append(_natural_literal(x, language))
            else:
                parts.append(render_literal(x, items, None, language))
        return "[" + ", ".join(parts) + "]"
    return _natural_literal(v, language)


def first_answer_text(task: Task) -> str:
    """The first acceptable answer as prompt-mode text in the task's language: ``[name(a=<literal>, ...)]``,
    ``String`` values quoted, every other value as its literal (variables bare)."""
    call = first_answer_call(task)
    tool = task.tool(call.name)
    props = tool.properties if tool is not None else {}
    parts = []
    for k, v in call.arguments.items():
        if (props.get(k) or {}).get("x-bfcl-type") == "String":
            v = _quote(v)
        else:
            try:  # a value that is not one expression (`John Doe`) is written as a string literal
                parse_call_text(f"f(a={v})", task.language)
            except JavaLikeError:
                v = _quote(v)
        parts.append(f"{k}={v}")
    return f"[{call.name}({', '.join(parts)})]"


def first_answer_call(task: Task) -> FunctionCall:
    """The task's first acceptable call with every argument written as a Java/JS literal string (FC form)."""
    e = task.expected[0]
    tool = task.tool(e.name)
    req = set(tool.required) if tool is not None else set()
    call = e.first_answer(req)
    props = tool.properties if tool is not None else {}
    args = {
        k: render_literal(
            v, (props.get(k) or {}).get("x-bfcl-type"), (props.get(k) or {}).get("x-bfcl-items-type"), task.language
        )
        for k, v in call.arguments.items()
    }
    return FunctionCall(call.name, args)
