"""Calls on the simulated APIs: reading BFCL's ground-truth call strings safely, and the text a result becomes.

A ground-truth call is a string such as ``mv(source='a.txt', destination='tmp')`` or ``sort('notes.txt')``
(positional arguments occur). It is read with :func:`ast.parse` and converted node by node, accepting only
literals (constants, lists, tuples, dicts, sets, a sign on a number): nothing is evaluated. A model's calls
arrive already decoded (:class:`bitagent_cli.tasks.FunctionCall`) and become a :class:`Call` unchanged.

:func:`result_text` turns what a method returned into the text the model sees and the checker compares, with
BFCL's convention: a string as it is, a dict as JSON (``json.dumps`` defaults) or, when JSON cannot encode it,
Python's ``str``; anything else Python's ``str``. An exception becomes ``"Error during execution: <message>"``.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any

from ..tasks import FunctionCall

__all__ = ["MAX_CALL_CHARS", "Call", "CallSyntaxError", "parse_call", "result_text"]

#: A call string (or a call's arguments, as JSON) longer than this is refused before it is read.
MAX_CALL_CHARS = 64 * 1024
#: Deepest literal nesting accepted in an argument.
MAX_DEPTH = 32


class CallSyntaxError(ValueError):
    """A ground-truth call string that is not ``name(literal args)``."""


@dataclass(frozen=True, slots=True)
class Call:
    """One call on a simulated API: a function name, positional and keyword arguments (plain Python values)."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_function_call(cls, fc: FunctionCall) -> Call:
        return cls(fc.name, (), dict(fc.arguments))

    def text(self) -> str:
        """The call in pythonic form (for logs and reports)."""
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.name}({', '.join(parts)})"


def _literal(node: ast.AST, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CallSyntaxError("arguments nested too deeply")
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(e, depth + 1) for e in node.elts]
        if isinstance(node, ast.List):
            return items
        return tuple(items) if isinstance(node, ast.Tuple) else set(items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise CallSyntaxError("'**' in a dict literal")
        return {
            _literal(k, depth + 1): _literal(v, depth + 1)
            for k, v in zip(node.keys, node.values, strict=False)
            if k is not None  # all are: checked above
        }
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _literal(node.operand, depth + 1)
        if isinstance(v, (int, float, complex)) and not isinstance(v, bool):
            return -v if isinstance(node.op, ast.USub) else +v
    raise CallSyntaxError(f"not a literal: {type(node).__name__}")


def parse_call(text: str) -> Call:
    """Read one call string (``name(args)``); raises :class:`CallSyntaxError` for anything else."""
    if not isinstance(text, str) or len(text) > MAX_CALL_CHARS:
        raise CallSyntaxError("not a call string, or too long")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise CallSyntaxError(f"not Python call syntax ({type(e).__name__})") from None
    node = tree.body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise CallSyntaxError("not a call of a plain function name")
    args = []
    for a in node.args:
        if isinstance(a, ast.Starred):
            raise CallSyntaxError("'*' arguments")
        args.append(_literal(a, 0))
    kwargs: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise CallSyntaxError("'**' arguments")
        kwargs[kw.arg] = _literal(kw.value, 0)
    return Call(node.func.id, tuple(args), kwargs)


def result_text(value: Any) -> str:
    """What a method's return value reads as (BFCL's convention, see the module docs)."""
    if type(value) is str:
        return value
    if type(value) is dict:
        try:
            return json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            return str(value)
    return str(value)


def error_text(e: BaseException) -> str:
    return f"Error during execution: {e}"
