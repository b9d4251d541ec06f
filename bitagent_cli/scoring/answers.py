"""Build correct answers from a task's expected calls (for tests, benchmarks and examples)."""

from __future__ import annotations

from ..tasks import ExpectedCall, FunctionCall, Task
from ..tasks._types import materialise

__all__ = ["first_acceptable", "first_answer_text", "materialise"]


def _first_call(task: Task, e: ExpectedCall) -> FunctionCall:
    tool = task.tool(e.name)
    return e.first_answer(frozenset(tool.required) if tool is not None else frozenset())


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
    if task.language != "python" and task.expected:  # Java/JS literals (scoring/javalike.py)
        from .javalike import first_answer_text as javalike_answer

        return javalike_answer(task)
    calls = first_acceptable(task)
    if not calls:
        return "None of the available functions can help with this request."
    return "[" + ", ".join(c.to_python() for c in calls) + "]"
