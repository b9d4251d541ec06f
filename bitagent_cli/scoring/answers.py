"""Build correct answers from a task's expected calls (for tests, benchmarks and examples)."""

from __future__ import annotations

from typing import Any

from ..tasks import ExpectedCall, FunctionCall, Task

__all__ = ["first_acceptable", "first_answer_text", "materialise"]


def materialise(value: Any) -> Any:
    """One concrete value from an acceptable value: a BFCL-style dict (each key -> list of acceptable
    values, ``""`` = may be left out) becomes a plain dict of each key's first acceptable value."""
    if isinstance(value, dict):
        if value and all(isinstance(v, list) for v in value.values()):
            out = {}
            for k, alts in value.items():
                if alts and alts[0] != "":
                    out[k] = materialise(alts[0])
            return out
        return {k: materialise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialise(v) for v in value]
    return value


def _first_call(task: Task, e: ExpectedCall) -> FunctionCall:
    tool = task.tool(e.name)
    required = set(tool.required) if tool is not None else set()
    args: dict[str, Any] = {}
    for k, values in e.arguments.items():
        if not values:
            continue
        if values[0] != "":
            args[k] = materialise(values[0])
        elif k in required:  # "" first but the schema requires it: the first real value
            for v in values[1:]:
                if v != "":
                    args[k] = materialise(v)
                    break
    return FunctionCall(e.name, args)


def first_acceptable(task: Task) -> list[FunctionCall]:
    """The calls made of each argument's first acceptable value (optional ones left out). A relevance task
    has no expected arguments: the answer is an argument-less call to its first tool (any call counts);
    an irrelevance task's answer is no call."""
    if task.base_category == "relevance":
        return [FunctionCall(task.tools[0].name, {})] if task.tools else []
    return [_first_call(task, e) for e in task.expected]


def first_answer_text(task: Task) -> str:
    """The first acceptable answer as model output: pythonic ``[f(a=1), ...]``, or prose when no call is
    expected."""
    calls = first_acceptable(task)
    if not calls:
        return "None of the available functions can help with this request."
    return "[" + ", ".join(c.to_python() for c in calls) + "]"
