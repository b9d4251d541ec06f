"""Task alteration: the validator's LLM rephrases the user's request, and a guard checks the answer still holds.

Public suites can be memorised; rephrasing the last user message with any OpenAI-compatible server
(``validator.llm_base_url``) makes a lookup table useless while the expected calls stay the same. A
rewrite is used only if :func:`ground_truth_holds` accepts it:

* it is a plausible rewrite (non-empty, not much longer than the original, not a function call),
* every expected argument value (strings and numbers, nested ones too) that the original message
  states still appears in the rewrite, and
* no number appears in the rewrite that the original did not have.

Otherwise, or on any error or timeout, the original task is used unchanged.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..tasks import Task

__all__ = ["REWRITE_PROMPT", "AlterResult", "TaskAlterer", "ground_truth_holds"]

log = logging.getLogger(__name__)

REWRITE_PROMPT = (
    "You rewrite requests that users send to an assistant. Rephrase the user's message so that it asks for "
    "exactly the same thing in different words. Keep every name, quoted text, number, date, unit, code and "
    "value exactly as written. Do not add information, numbers or details, do not drop any, do not answer "
    "the request and do not mention tools or functions. Reply with the rewritten message only."
)

_NUM = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?![\w])|(?<![\w.])-?\d*\.\d+(?![\w])")
_PREFIX = re.compile(r"^\s*(?:rewritten(?: message)?|rephrased(?: message)?|here is[^:]*)\s*:\s*", re.I)

#: (task, rewritten user message) -> rewritten text, or None when the LLM gave nothing.
Complete = Callable[[list[dict[str, Any]]], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class AlterResult:
    task: Task
    altered: bool
    reason: str | None = None  # why the original was kept


def _numbers(text: str) -> set[float]:
    out = set()
    for m in _NUM.findall(text):
        try:
            out.add(float(m.replace(",", "")))
        except ValueError:
            continue
    return out


def _leaves(value: Any, depth: int = 0) -> Iterator[Any]:
    if depth > 8:
        return
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v, depth + 1)
    else:
        yield value


def _stated(value: Any, text: str, text_numbers: set[float]) -> bool:
    """Whether ``value`` appears in ``text`` (strings case-insensitively; numbers by value)."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return float(value) in text_numbers
    if isinstance(value, str):
        v = value.strip()
        return bool(v) and v.casefold() in text.casefold()
    return False


def ground_truth_holds(original: str, rewritten: str, task: Task) -> tuple[bool, str | None]:
    """Whether ``rewritten`` can replace ``original`` (the task's last user message) without changing
    the expected answer; returns ``(ok, reason)``."""
    text = (rewritten or "").strip()
    if not text:
        return False, "empty rewrite"
    if len(text) > max(3 * len(original), len(original) + 200):
        return False, "rewrite much longer than the original"
    if re.match(r"^\s*\[?\s*[A-Za-z_][\w.]*\s*\(.*\)\s*\]?\s*$", text, re.S):
        return False, "rewrite looks like a function call"
    orig_nums, new_nums = _numbers(original), _numbers(text)
    extra = new_nums - orig_nums
    if extra:
        return False, f"new number(s) in the rewrite: {sorted(extra)[:3]}"
    for call in task.expected:
        for arg, values in call.arguments.items():
            in_original = [v for val in values for v in _leaves(val) if _stated(v, original, orig_nums)]
            if in_original and not any(_stated(v, text, new_nums) for v in in_original):
                return False, f"value of {call.name}.{arg} ({in_original[0]!r}) lost in the rewrite"
    return True, None


def _last_user_index(task: Task) -> int | None:
    for i in range(len(task.messages) - 1, -1, -1):
        m = task.messages[i]
        if m.get("role") == "user" and isinstance(m.get("content"), str) and m["content"].strip():
            return i
    return None


def _clean(text: str) -> str:
    text = _PREFIX.sub("", text.strip())
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1].strip()
    return text


class TaskAlterer:
    """Rephrase a task's last user message through ``complete`` and keep the rewrite only if it is safe.

    ``complete(messages) -> text`` is any async chat call; :meth:`from_base_url` builds one on an
    OpenAI-compatible server (the model is the server's first unless ``model`` is given).
    """

    def __init__(self, complete: Complete, *, timeout: float = 20.0):
        self._complete = complete
        self.timeout = timeout

    @classmethod
    def from_base_url(
        cls, base_url: str, *, model: str | None = None, timeout: float = 20.0, max_tokens: int = 512
    ) -> TaskAlterer:
        return cls(_OpenAICompletion(base_url, model=model, timeout=timeout, max_tokens=max_tokens), timeout=timeout)

    async def alter(self, task: Task) -> AlterResult:
        idx = _last_user_index(task)
        if idx is None:
            return AlterResult(task, False, "no user message to rephrase")
        original = task.messages[idx]["content"]
        prompt = [{"role": "system", "content": REWRITE_PROMPT}, {"role": "user", "content": original}]
        try:
            import asyncio

            text = await asyncio.wait_for(self._complete(prompt), self.timeout + 1.0)
        except Exception as e:  # noqa: BLE001 - any failure keeps the original
            log.info("task alteration failed (%s: %s); using the original", type(e).__name__, e)
            return AlterResult(task, False, f"llm error: {type(e).__name__}")
        text = _clean(text or "")
        ok, reason = ground_truth_holds(original, text, task)
        if not ok:
            log.debug("rewrite refused (%s); using the original", reason)
            return AlterResult(task, False, reason)
        messages = list(task.messages)
        messages[idx] = {**messages[idx], "content": text}
        return AlterResult(
            dataclasses.replace(task, messages=tuple(messages), meta={**task.meta, "altered": True}), True
        )


class _OpenAICompletion:
    """``complete(messages)`` over an OpenAI-compatible server via the shared serving client."""

    def __init__(self, base_url: str, *, model: str | None, timeout: float, max_tokens: int):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.max_tokens = max_tokens

    async def _model(self, client: Any) -> str:
        if not self.model:
            r = await client.get(f"{self.base_url}/models", timeout=self.timeout)
            r.raise_for_status()
            self.model = r.json()["data"][0]["id"]
        return self.model

    async def __call__(self, messages: list[dict[str, Any]]) -> str | None:
        import httpx

        from ..serving.client import chat

        async with httpx.AsyncClient() as client:
            model = await self._model(client)
            out = await chat(
                client,
                self.base_url,
                model,
                messages,
                None,
                temperature=0.0,
                max_tokens=self.max_tokens,
                timeout=self.timeout,
                retries=0,
            )
        if getattr(out, "error", None):
            raise RuntimeError(out.error)
        return out.text
