"""Chat templates rendered with bounded work: the sandbox transformers uses, plus limits on what a render may build.

A chat template is code the model's author wrote (Jinja, shipped in ``tokenizer_config.json`` or
``*.jinja``). transformers renders it in jinja2's ``ImmutableSandboxedEnvironment``, which stops
``''.__class__.__mro__`` but not ``{{ 'x' * 3000000000 }}`` (3 GB per request) or nested
``range(100000)`` loops (never finish). :func:`compile_template` builds the same environment
(``trim_blocks``, ``lstrip_blocks``, ``loopcontrols``, ``{% generation %}``, ``tojson``,
``raise_exception``, ``strftime_now``, ``dict``, ``namespace``) with every amplifying operation
bounded *before* it allocates:

- ``*``, ``+``, ``%``, ``**`` and ``~`` on strings, lists and integers: the result's size is computed from
  the operands and refused over ``MAX_VALUE_CHARS`` (integers: ``MAX_INT_BITS``);
- every call (functions, methods, macros, ``str.format``) and filter: integer arguments at most
  ``MAX_INT_ARG``, ``replace``/``join``/``expandtabs``/``format`` sized before they run, results at most
  ``MAX_VALUE_CHARS``;
- loops: at most ``MAX_ITERATIONS`` iterations per render, all loops together (``range`` is already
  capped at 100,000 items by jinja2);
- the whole render: at most ``MAX_WORK_CHARS`` characters produced by those operations, at most
  ``MAX_OUTPUT_CHARS`` of output, and ``RENDER_TIMEOUT_S`` seconds (checked at every operation and
  every loop iteration).

A breach raises :class:`TemplateLimit` (a ``jinja2.SecurityError``) naming the limit. The limits are far
above what real templates use (they render conversations in milliseconds, with outputs of the prompt's
size) and far below what exhausts a server.

Run as a script (``python -I chat_template.py``) it is vetting's child process: it reads templates and
special tokens as JSON on stdin, caps its own address space and CPU time, renders every template on
representative conversations and prints one JSON line (see :func:`_child_main`). It imports only jinja2
and the standard library, so it starts fast and fits in the memory cap.
"""

from __future__ import annotations

import contextvars
import json
import re
import time
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

# Every limit in one place, with its reason.
MAX_VALUE_CHARS = 4_000_000  # one string/list built by an operation: ~1M tokens, beyond any context window
MAX_OUTPUT_CHARS = 4_000_000  # a rendered prompt: the same
MAX_WORK_CHARS = 64_000_000  # all characters operations produce in one render (~0.1 s of copying)
MAX_ITERATIONS = 200_000  # loop iterations per render, all loops together (real templates: one per message/tool)
MAX_INT_ARG = 100_000  # an integer passed to a call or filter (widths, counts); range() has jinja2's own cap
MAX_INDENT = 1_000  # indent/tojson(indent=...): multiplied by every line of the output
MAX_INT_BITS = 65_536  # an integer built by * or ** (repeated squaring is exponential work)
RENDER_TIMEOUT_S = 5.0  # one render, wall clock
MAX_TEMPLATE_CHARS = 1_000_000  # a template's source (real ones: under 20 KB)
# The template compiled as a plain jinja2 sandbox compiles it (vLLM does at start-up, outside transformers' hook:
# its Anthropic endpoint probes the template), whose optimizer folds constant expressions into the code:
# `'x' * 3000000000` became a 3 GB literal there and vLLM died at start with a 2 GB log. Real templates
# compile to a few times their size; the cap is the source's limit plus room for honest folding.
MAX_COMPILED_CHARS = 2 * MAX_TEMPLATE_CHARS + MAX_VALUE_CHARS


class TemplateLimit(jinja2.exceptions.SecurityError):
    """A render went over one of the limits above; the message names it."""

    def __init__(self, limit: str, detail: str):
        super().__init__(f"{detail} (limit: {limit})")
        self.limit = limit
        self.detail = detail


class _Budget:
    __slots__ = ("deadline", "iterations", "timeout_s", "work")

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.iterations = 0
        self.work = 0


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("bitagent_template_budget", default=None)


def _budget() -> _Budget:
    b = _BUDGET.get()
    # Outside a render (a macro called from Python through template.module): each operation on its own, so
    # its size limits hold; loops and time are bounded per render, and there is none.
    return b if b is not None else _Budget(RENDER_TIMEOUT_S)


def _tick(b: _Budget) -> None:
    if time.monotonic() > b.deadline:
        raise TemplateLimit("time", f"the chat template ran for more than {round(b.timeout_s, 1):g} s")


def _charge(n: int) -> None:
    b = _budget()
    _tick(b)
    b.work += n
    if b.work > MAX_WORK_CHARS:
        raise TemplateLimit("work", f"the chat template produced more than {MAX_WORK_CHARS:,} characters in one render")


def _size(x: Any) -> int:
    return len(x) if isinstance(x, (str, bytes, list, tuple, dict, set, frozenset)) else 0


def _check_size(n: int, what: str) -> None:
    if n > MAX_VALUE_CHARS:
        raise TemplateLimit("size", f"the chat template builds {what} of {n:,} items, over {MAX_VALUE_CHARS:,}")


def _check_result(x: Any, what: str) -> Any:
    n = _size(x)
    if n:
        _check_size(n, what)
        _charge(n)
    return x


def _check_int_args(args: tuple, kwargs: dict, what: str, cap: int = MAX_INT_ARG) -> None:
    for v in (*args, *kwargs.values()):
        if type(v) is int and abs(v) > cap:
            raise TemplateLimit("argument", f"the chat template passes {v:,} to {what}, over {cap:,}")


_PRINTF_WIDTH = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORMAT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*\}")
_DIGITS = re.compile(r"\d+")


def _check_format_string(fmt: str, what: str) -> None:
    """Widths and precisions in a %-format or str.format string: each at most MAX_INT_ARG, no '*'."""
    for m in _PRINTF_WIDTH.finditer(fmt):
        for g in m.groups():
            if g == "*" or (g is not None and len(g) > 6 and int(g) > MAX_INT_ARG):
                raise TemplateLimit("argument", f"the chat template formats with a width over {MAX_INT_ARG:,} ({what})")
    for m in _FORMAT_WIDTH.finditer(fmt):
        for d in _DIGITS.findall(m.group(0)):
            if len(d) > 6 and int(d) > MAX_INT_ARG:
                raise TemplateLimit("argument", f"the chat template formats with a width over {MAX_INT_ARG:,} ({what})")


def _seq_len(x: Any) -> int | None:
    return len(x) if isinstance(x, (str, list, tuple)) else None


def _check_int_product(a: int, b: int) -> None:
    if a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise TemplateLimit("size", f"the chat template builds an integer over {MAX_INT_BITS:,} bits")


def _check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too large, from the operands alone (nothing is allocated)."""
    ls, rs = _seq_len(left), _seq_len(right)
    if op == "*":
        if ls is not None and type(right) is int:
            _check_size(ls * max(right, 0), "a repeated sequence")
        elif rs is not None and type(left) is int:
            _check_size(rs * max(left, 0), "a repeated sequence")
        elif type(left) is int and type(right) is int:
            _check_int_product(left, right)
    elif op == "+":
        if ls is not None and rs is not None:
            _check_size(ls + rs, "a concatenation")
    elif op == "**":
        if type(left) is int and type(right) is int and right > 0 and abs(left) > 1:
            if abs(left).bit_length() * right > MAX_INT_BITS:
                raise TemplateLimit("size", f"the chat template builds an integer over {MAX_INT_BITS:,} bits")
        elif isinstance(left, float) or isinstance(right, float):
            pass  # floats overflow to an error, they do not grow
    elif op == "%" and isinstance(left, str):
        _check_format_string(left, "%")


def _bounded_iter(it: Any) -> Any:
    """A loop's iterable, charged one iteration per item (all loops of a render share MAX_ITERATIONS)."""
    return _Counted(it)


class _Counted:
    __slots__ = ("_it",)

    def __init__(self, it: Any):
        self._it = it

    def __len__(self) -> int:
        return len(self._it)

    def __iter__(self) -> Any:
        b = _budget()
        for x in self._it:
            b.iterations += 1
            if b.iterations > MAX_ITERATIONS:
                raise TemplateLimit("iterations", f"the chat template loops more than {MAX_ITERATIONS:,} times")
            _tick(b)
            yield x


def _bounded_concat(*parts: Any) -> str:
    """``a ~ b ~ c``: sized before it is joined."""
    strs = [p if isinstance(p, str) else str(p) for p in parts]
    total = sum(len(s) for s in strs)
    _check_size(total, "a concatenation")
    _charge(total)
    return "".join(strs)


_WIDTH_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}


def _precheck_call(obj: Any, args: tuple, kwargs: dict) -> None:
    """Calls whose result size follows from their arguments: sized before they run."""
    self_ = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(self_, str):
        if name in _WIDTH_METHODS:
            _check_int_args(args, kwargs, f"str.{name}()")
        if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
            _check_replace(self_, args[0], args[1], args[2] if len(args) > 2 and type(args[2]) is int else -1)
        elif name == "join" and args:
            _check_join(self_, args[0])
        elif name == "expandtabs":
            size = args[0] if args and type(args[0]) is int else kwargs.get("tabsize", 8)
            if type(size) is int:
                _check_size(len(self_) + self_.count("\t") * max(size, 0), "an expanded string")


def _check_replace(s: str, old: str, new: str, count: int = -1) -> None:
    if len(new) <= len(old):
        return
    n = s.count(old) if old else len(s) + 1
    if count >= 0:
        n = min(n, count)
    _check_size(len(s) + n * (len(new) - len(old)), "a replaced string")


def _check_join(sep: str, items: Any) -> None:
    if isinstance(items, (list, tuple)):
        total = len(sep) * max(len(items) - 1, 0) + sum(len(x) if isinstance(x, str) else 0 for x in items)
        _check_size(total, "a joined string")


# filters whose integer arguments size their output: capped (indent-like ones multiply every line: lower)
_INDENT_FILTERS = {"indent", "tojson", "pprint", "wordwrap"}
_SIZED_FILTERS = _INDENT_FILTERS | {"center", "truncate", "batch", "slice", "filesizeformat"}


def _wrap_filter(name: str, fn: Any) -> Any:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        plain = [
            a for a in args if not isinstance(a, (jinja2.runtime.Context, jinja2.nodes.EvalContext, jinja2.Environment))
        ]
        if name in _SIZED_FILTERS:
            cap = MAX_INDENT if name in _INDENT_FILTERS else MAX_INT_ARG
            _check_int_args(tuple(plain[1:]), kwargs, f"the {name!r} filter", cap)
        if name == "replace" and len(plain) >= 3 and all(isinstance(x, str) for x in plain[:3]):
            _check_replace(plain[0], plain[1], plain[2], plain[3] if len(plain) > 3 and type(plain[3]) is int else -1)
        elif name == "join" and plain:
            sep = plain[1] if len(plain) > 1 and isinstance(plain[1], str) else kwargs.get("d", "")
            if isinstance(sep, str) and isinstance(plain[0], (list, tuple)):
                _check_join(sep, plain[0])
        elif name == "format" and plain and isinstance(plain[0], str):
            _check_format_string(plain[0], "the 'format' filter")
        elif name == "indent" and plain and isinstance(plain[0], str):
            width = plain[1] if len(plain) > 1 else kwargs.get("width", 4)
            w = len(width) if isinstance(width, str) else width if type(width) is int else 4
            _check_size(len(plain[0]) + (plain[0].count("\n") + 1) * max(w, 0), "an indented string")
        _charge(0)
        return _check_result(fn(*args, **kwargs), f"the {name!r} filter's result")

    # keep jinja2's pass_context / pass_eval_context / pass_environment marks
    for attr in ("jinja_pass_arg",):
        if hasattr(fn, attr):
            setattr(bounded, attr, getattr(fn, attr))
    bounded.__name__ = getattr(fn, "__name__", name)
    return bounded


class _Generation(jinja2.ext.Extension):
    """``{% generation %}...{% endgeneration %}`` (transformers' assistant-mask tag): renders its body as is."""

    tags = {"generation"}  # noqa: RUF012 - jinja2 declares it an instance attribute

    def parse(self, parser: Any) -> Any:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller: Any) -> str:
        return str(caller())


class _Namespace(jinja2.utils.Namespace):
    """``namespace(...)`` without underscore-prefixed attributes (as transformers')."""

    def __init__(*args: Any, **kwargs: Any):
        self, rest = args[0], args[1:]
        attrs = dict(*rest, **kwargs)
        for k in attrs:
            _Namespace._check(k)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name: str, value: Any) -> None:
        _Namespace._check(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check(name: Any) -> None:
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(f"a chat template cannot set the attribute {name!r} on a namespace")


class _Dict:
    """``dict(...)`` for templates: builds a dict, exposes nothing else."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        return dict(*args, **kwargs)

    def fromkeys(self, *args: Any, **kwargs: Any) -> dict:
        return dict.fromkeys(*args, **kwargs)


def _raise_exception(message: Any) -> None:
    raise jinja2.exceptions.TemplateError(str(message)[:1000])


def _tojson(
    x: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None, sort_keys: bool = False
) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    if n * max > 10_000:
        raise TemplateLimit("argument", "the chat template asks lipsum() for more than 10,000 words")
    from jinja2.utils import generate_lorem_ipsum

    return str(generate_lorem_ipsum(n=n, html=html, min=min, max=max))


class BoundedTemplate(jinja2.Template):
    """A template whose every render (``render``, ``generate``, ``stream``) runs under a fresh budget and stops
    at ``MAX_OUTPUT_CHARS``."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        return self.render_bounded(dict(*args, **kwargs))

    def render_bounded(self, variables: dict, *, timeout_s: float = RENDER_TIMEOUT_S) -> str:
        return "".join(self._bounded_chunks(variables, timeout_s))

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        return self._bounded_chunks(dict(*args, **kwargs), RENDER_TIMEOUT_S)

    def _bounded_chunks(self, variables: dict, timeout_s: float) -> Any:
        # The budget is current only while jinja2 computes the next chunk, so a consumer that stops early
        # (or interleaves two renders) never leaves it set in its own context.
        budget = _Budget(timeout_s)
        inner = super().generate(variables)
        n = 0
        while True:
            token = _BUDGET.set(budget)
            try:
                chunk = next(inner)
            except StopIteration:
                return
            finally:
                _BUDGET.reset(token)
            n += len(chunk)
            if n > MAX_OUTPUT_CHARS:
                getattr(inner, "close", lambda: None)()  # jinja2's generator: its finally blocks run now
                raise TemplateLimit("output", f"the chat template's output is over {MAX_OUTPUT_CHARS:,} characters")
            yield chunk


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """transformers' chat-template sandbox with every amplifying operation bounded (see the module docstring)."""

    intercepted_binops = frozenset({"*", "+", "%", "**", "//"})
    template_class = BoundedTemplate

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        _charge(0)
        return _check_result(super().call_binop(context, operator, left, right), f"the result of {operator!r}")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", None) or type(__obj).__name__
        _precheck_call(__obj, args, kwargs)
        _charge(0)
        return _check_result(
            ImmutableSandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs), f"the result of {name}()"
        )

    def wrap_str_format(self, value: Any) -> Any:
        fmt = getattr(value, "__self__", None)
        if isinstance(fmt, str) and getattr(value, "__name__", None) in ("format", "format_map"):
            _check_format_string(fmt, "str.format")
        return super().wrap_str_format(value)

    def _generate(self, source: Any, name: str | None, filename: str | None, defer_init: bool = False) -> str:
        # jinja2's documented hook between parsing and code generation: the tree is bounded here, so
        # ``env.parse()`` (vLLM inspects templates with it) still returns the template as written
        return super()._generate(_bound_tree(source), name, filename, defer_init=defer_init)  # type: ignore[no-any-return]


def _is_ours(node: Any, name: str) -> bool:
    return isinstance(node, jinja2.nodes.Call) and isinstance(node.node, jinja2.nodes.Name) and node.node.name == name


def _bound_tree(tree: Any) -> Any:
    """Route every loop's iterable through _bounded_iter and every ``~`` through _bounded_concat (once)."""
    for node in tree.find_all(jinja2.nodes.For):
        if _is_ours(node.iter, "_bitagent_iter"):
            continue
        node.iter = jinja2.nodes.Call(
            jinja2.nodes.Name("_bitagent_iter", "load"), [node.iter], [], None, None, lineno=node.lineno
        )
    for node in list(tree.find_all(jinja2.nodes.Concat)):
        if len(node.nodes) == 1 and _is_ours(node.nodes[0], "_bitagent_concat"):
            continue
        parts = node.nodes
        node.nodes = [
            jinja2.nodes.Call(jinja2.nodes.Name("_bitagent_concat", "load"), parts, [], None, None, lineno=node.lineno)
        ]
    return tree


def make_environment() -> BoundedSandbox:
    env = BoundedSandbox(trim_blocks=True, lstrip_blocks=True, extensions=[_Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.filters = {name: _wrap_filter(name, fn) for name, fn in env.filters.items()}
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.globals["dict"] = _Dict()
    env.globals["namespace"] = _Namespace
    env.globals["lipsum"] = _lipsum
    env.globals["_bitagent_iter"] = _bounded_iter
    env.globals["_bitagent_concat"] = _bounded_concat
    return env


_ENV: BoundedSandbox | None = None


@lru_cache(maxsize=16)
def compile_template(source: str) -> BoundedTemplate:
    """The template compiled in the bounded sandbox (cached by source, like transformers' compile)."""
    global _ENV
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateLimit(
            "template size", f"the chat template is {len(source):,} characters, over {MAX_TEMPLATE_CHARS:,}"
        )
    if _ENV is None:
        _ENV = make_environment()
    tpl = _ENV.from_string(source)
    assert isinstance(tpl, BoundedTemplate)
    return tpl


def patch_transformers() -> bool:
    """Make transformers' ``apply_chat_template`` compile with :func:`compile_template` (in this process).

    True when the hook exists (``transformers.utils.chat_template_utils._compile_jinja_template``, which
    ``render_jinja_template`` calls and then ``.render(...)``s); False otherwise (nothing changed).
    """
    try:
        from transformers.utils import chat_template_utils as ctu
    except ImportError:
        return False
    if not callable(getattr(ctu, "_compile_jinja_template", None)) or not callable(
        getattr(ctu, "render_jinja_template", None)
    ):
        return False
    ctu._compile_jinja_template = compile_template
    return True


# ---------------------------------------------------------------- vetting's child process
#: What vetting renders every template on: the shapes of the validator's tasks (a system prompt, tools,
#: an assistant turn with tool calls, a tool result, a final answer) and a bare user turn.
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city, e.g. Berlin"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "convert_currency",
            "description": "Convert an amount between currencies.",
            "parameters": {
                "type": "object",
                "properties": {"amount": {"type": "number"}, "from": {"type": "string"}, "to": {"type": "string"}},
                "required": ["amount", "from", "to"],
            },
        },
    },
]
_CALL = {"id": "call_0001", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Berlin"}}}
CONVERSATIONS: list[tuple[str, list[dict], bool]] = [
    (
        "system, user, with tools",
        [
            {"role": "system", "content": "You are a helpful assistant with access to tools."},
            {"role": "user", "content": "What is the weather like in Berlin today?"},
        ],
        True,
    ),
    (
        "a full tool-calling turn, with tools",
        [
            {"role": "system", "content": "You are a helpful assistant with access to tools."},
            {"role": "user", "content": "What is the weather like in Berlin today?"},
            {"role": "assistant", "content": "", "tool_calls": [_CALL]},
            {"role": "tool", "tool_call_id": "call_0001", "name": "get_weather", "content": '{"temp_c": 21}'},
            {"role": "assistant", "content": "It is 21 degrees in Berlin."},
            {"role": "user", "content": "And in euros, what is 100 US dollars?"},
        ],
        True,
    ),
    ("a user turn, no tools", [{"role": "user", "content": "Hello! Who are you?"}], False),
]


class _FoldTooLarge(BaseException):
    """A constant fold over a limit, raised past jinja2's ``except Exception`` around its folding."""

    def __init__(self, limit: str, detail: str):
        super().__init__(detail)
        self.limit = limit


def _folded_chars(x: Any) -> int:
    """The characters a folded constant puts into the compiled code: a string's length, a sequence's items'
    (one level: a fold's sequence is at most MAX_VALUE_CHARS items, checked before it was built)."""
    if isinstance(x, str):
        return len(x)
    if isinstance(x, list | tuple):
        return sum(len(i) if isinstance(i, str) else 1 for i in x)
    return 1


def check_plain_compile(source: str) -> None:
    """Compile ``source`` as an unbounded jinja2 sandbox does (constant folding included), each fold sized
    first by the same rule as the bounded environment's operations, and refuse a fold over a limit or code
    over MAX_COMPILED_CHARS: a constant bomb in a branch the sample conversations never take still blows up
    every server that compiles the template outside our bounded environment (vLLM at start-up). jinja2 turns
    any error of a fold into "not foldable", so a plain MemoryError would hide the bomb under vetting's memory
    cap: the sizing raises past it instead. Meant for vetting's child (it swaps jinja2's fold table while
    it compiles). A syntax this plain environment lacks (an extension's tag) is not a verdict: the bounded
    compile has already read it."""
    import jinja2.nodes as nodes

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    table = nodes._binop_to_func
    original = dict(table)

    def sized(op: str, f: Any) -> Any:
        def fold(a: Any, b: Any) -> Any:
            try:
                _check_binop(op, a, b)
            except TemplateLimit as e:
                raise _FoldTooLarge(e.limit, e.detail) from None
            out = f(a, b)
            if _folded_chars(out) > MAX_VALUE_CHARS:  # [a 1 MB string] * 1000: 1,000 items, 1 GB of code
                raise _FoldTooLarge("size", f"the chat template builds a value of {_folded_chars(out):,} characters")
            return out

        return fold

    table.update({op: sized(op, f) for op, f in original.items()})
    try:
        code = env.compile(source, raw=True)
    except _FoldTooLarge as e:
        raise TemplateLimit(e.limit, f"{e} in a constant jinja2 folds when it compiles the template") from None
    except jinja2.exceptions.TemplateSyntaxError:
        return
    finally:
        table.clear()
        table.update(original)
    if len(code) > MAX_COMPILED_CHARS:
        raise TemplateLimit(
            "size",
            f"the chat template compiles (its constants folded, as jinja2 does) to {len(code):,} characters "
            f"of code, over {MAX_COMPILED_CHARS:,}",
        )


def render_representative(source: str, tokens: dict[str, str], timeout_s: float = RENDER_TIMEOUT_S) -> list[dict]:
    """Render ``source`` on every CONVERSATIONS entry; one ``{"case", "ok", "chars"|"error"}`` per case.

    A :class:`TemplateLimit` (or any other ``SecurityError``) propagates: it is a verdict. Other template
    errors (``raise_exception('System role not supported')``, a missing key) are the template's
    choice for that shape and are recorded, not raised.
    """
    tpl = compile_template(source)
    check_plain_compile(source)
    deadline = time.monotonic() + timeout_s
    out = []
    for case, messages, with_tools in CONVERSATIONS:
        variables = {
            **tokens,
            "messages": json.loads(json.dumps(messages)),
            "tools": json.loads(json.dumps(TOOLS)) if with_tools else None,
            "documents": None,
            "add_generation_prompt": True,
        }
        left = deadline - time.monotonic()
        if left <= 0:
            raise TemplateLimit("time", f"the chat template ran for more than {round(timeout_s, 1):g} s")
        try:
            text = tpl.render_bounded(variables, timeout_s=left)
            out.append({"case": case, "ok": True, "chars": len(text)})
        except TemplateLimit as e:
            if e.limit == "time":  # the message names the whole allowance, not what was left of it
                raise TemplateLimit("time", f"the chat template ran for more than {round(timeout_s, 1):g} s") from None
            raise
        except jinja2.exceptions.SecurityError:
            raise
        except RecursionError:
            raise TemplateLimit("recursion", "the chat template recurses deeper than Python allows") from None
        except MemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - the template's own error for this shape: recorded
            out.append({"case": case, "ok": False, "error": f"{type(e).__name__}: {str(e)[:200]}"})
    return out


def _child_main() -> int:
    """Read ``{"templates": {name: source}, "tokens", "memory_bytes", "cpu_s", "timeout_s"}`` on stdin; print
    ``{"ok": true, "results": {name: [...]}, "maxrss_kb"}`` or ``{"ok": false, "limit", "template", "detail"}``."""
    import resource
    import sys

    req = json.loads(sys.stdin.read())
    mem = int(req.get("memory_bytes") or 0)
    cpu = int(req.get("cpu_s") or 0)
    if mem:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    timeout_s = float(req.get("timeout_s") or RENDER_TIMEOUT_S)
    tokens = {str(k): str(v) for k, v in (req.get("tokens") or {}).items()}
    results: dict[str, Any] = {}
    name = ""
    try:
        for name, source in (req.get("templates") or {}).items():
            results[name] = render_representative(str(source), tokens, timeout_s)
        reply: dict[str, Any] = {"ok": True, "results": results}
    except TemplateLimit as e:
        reply = {"ok": False, "limit": e.limit, "template": name, "detail": e.detail}
    except jinja2.exceptions.SecurityError as e:
        reply = {"ok": False, "limit": "sandbox", "template": name, "detail": str(e)[:300]}
    except MemoryError:
        results.clear()
        reply = {"ok": False, "limit": "memory", "template": name, "detail": "the chat template ran out of memory"}
    except jinja2.exceptions.TemplateSyntaxError as e:
        reply = {"ok": True, "results": {**results, name: [{"case": "compile", "ok": False, "error": str(e)[:200]}]}}
    # VmHWM: this process's own peak since exec (ru_maxrss would count the parent's size at fork)
    reply["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with open("/proc/self/status") as f:
            reply["vmhwm_kb"] = next((int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")), None)
    except OSError:
        reply["vmhwm_kb"] = None
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_child_main())
