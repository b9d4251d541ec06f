"""The multi-turn conversation with a served model, as BFCL's function-calling handler runs it.

For each user turn: the turn's messages are added, then the model is asked (messages + the offered tools) in
*steps*; each step's calls (native ``tool_calls`` or calls written in the text, read by
:func:`bitagent_cli.scoring.parse_calls`) are executed on the live :class:`Session` and their results are sent
back as ``tool`` messages. The turn ends when an answer makes no call (or cannot be read as calls, as BFCL
does). A turn that runs more than ``max_steps`` (BFCL: 20) steps stops the conversation ("force-quit"): the
remaining turns are not played, and the task fails unless it was the last turn (BFCL's rule).

``miss_func``: the functions named in ``missed_function`` are left out of the offered tools until their turn;
that turn has no user message of its own, so BFCL's text is sent (:data:`ADDED_FUNCTIONS_PROMPT`), and the
functions are offered from then on. ``miss_param`` needs nothing special: the ground truth of the turn that
lacks a parameter is empty, so the model should ask instead of calling (any call it makes still runs and
counts in the next turn's state).

The calls made are then checked by :func:`check_multi_turn` (BFCL's checker re-runs them from the initial
state). ``ask`` is any coroutine ``ask(messages, tools) -> Completion`` (see :mod:`bitagent_cli.serving.client`),
so the loop does not care which server answers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..scoring import ScoreResult, parse_calls
from ..tasks import Tool
from .calls import Call
from .checker import CheckResult, MultiTurnCase, check_multi_turn

__all__ = [
    "ADDED_FUNCTIONS_PROMPT",
    "MAX_STEPS",
    "Conversation",
    "multi_turn_data",
    "run_multi_turn",
    "score_conversation",
    "stored_turns",
]

#: BFCL's MAXIMUM_STEP_LIMIT: steps (answers with calls) per turn before the conversation is stopped.
MAX_STEPS = 20
#: BFCL's user message for a turn that only adds the withheld functions
#: (DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC).
ADDED_FUNCTIONS_PROMPT = "I have updated some more functions you can choose from. What about now?"
#: A tool result longer than this is cut before it is sent back (BFCL's longest is about 100 kB).
MAX_TOOL_MESSAGE_CHARS = 256 * 1024

Ask = Callable[[list[dict[str, Any]], Sequence[Tool]], Awaitable[Any]]


def multi_turn_data(task: Any) -> dict | None:
    """The task's multi-turn fields (``task.multi_turn``, or ``meta["multi_turn"]``), or None."""
    mt = getattr(task, "multi_turn", None)
    if mt is None:
        mt = (getattr(task, "meta", None) or {}).get("multi_turn")
    return mt if isinstance(mt, dict) else None


@dataclass
class Conversation:
    """What happened: the calls per turn and step, the verdict, and what it cost."""

    case_id: str
    turns: list[list[list[Call]]] = field(default_factory=list)
    check: CheckResult | None = None
    requests: int = 0
    latency_s: float = 0.0
    force_quit: bool = False
    failed: Any = None  # the Completion of a request that failed (the conversation stopped)
    last_text: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return self.failed is None and self.check is not None and self.check.valid

    def stored_text(self) -> str:
        """The calls made, as JSON (what the results cache keeps; :func:`stored_turns` reads it back)."""
        return json.dumps(
            {
                "multi_turn_calls": [
                    [[{"name": c.name, "args": list(c.args), "kwargs": c.kwargs} for c in step] for step in turn]
                    for turn in self.turns
                ],
                "force_quit": self.force_quit,
            },
            ensure_ascii=False,
            default=repr,
        )


def stored_turns(text: str | None) -> list[list[list[Call]]] | None:
    """The calls of a conversation stored with :meth:`Conversation.stored_text`, or None if unreadable."""
    try:
        d = json.loads(text or "")
        return [
            [[Call(c["name"], tuple(c.get("args") or ()), dict(c.get("kwargs") or {})) for c in step] for step in turn]
            for turn in d["multi_turn_calls"]
        ]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _offered(tools: Sequence[Tool], withheld: set[str]) -> list[Tool]:
    return [t for t in tools if t.name not in withheld]


def _tool_messages(comp: Any, calls: list[Call], results: list[str]) -> tuple[dict, list[dict]]:
    """The assistant message for this step and one tool message per result."""
    results = [r if len(r) <= MAX_TOOL_MESSAGE_CHARS else r[:MAX_TOOL_MESSAGE_CHARS] + "..." for r in results]
    native = comp.tool_calls if isinstance(comp.tool_calls, list) and comp.tool_calls else None
    if native is not None and len(native) == len(calls):
        ids = []
        fixed = []
        for i, tc in enumerate(native):
            tc = dict(tc) if isinstance(tc, dict) else {}
            if not isinstance(tc.get("id"), str) or not tc["id"]:
                tc["id"] = f"call_{i}"
            tc.setdefault("type", "function")
            ids.append(str(tc["id"]))
            fixed.append(tc)
        assistant = {"role": "assistant", "content": comp.text or "", "tool_calls": fixed}
        return assistant, [
            {"role": "tool", "tool_call_id": i, "content": r} for i, r in zip(ids, results, strict=False)
        ]
    assistant = {"role": "assistant", "content": comp.text or ""}
    return assistant, [{"role": "tool", "name": c.text(), "content": r} for c, r in zip(calls, results, strict=False)]


async def run_multi_turn(
    task_or_case: Any,
    ask: Ask,
    *,
    tools: Sequence[Tool] | None = None,
    max_steps: int = MAX_STEPS,
    keep_messages: bool = False,
) -> Conversation:
    """Play the conversation with ``ask`` and check it (see the module docs).

    ``task_or_case``: a :class:`bitagent_cli.tasks.Task` with multi-turn data, or a :class:`MultiTurnCase`
    (then ``tools`` must be given). Never raises for what the model does; a failed request stops the
    conversation and is returned in ``Conversation.failed``.
    """
    if isinstance(task_or_case, MultiTurnCase):
        case = task_or_case
        all_tools = list(tools or ())
    else:
        case = MultiTurnCase.from_task(task_or_case)
        all_tools = list(tools if tools is not None else task_or_case.tools)
    by_name = {t.name: t for t in all_tools}
    withheld = {n for names in case.missed_function.values() for n in names}
    offered = _offered(all_tools, withheld)
    session = case.session()
    conv = Conversation(case.id)
    messages: list[dict[str, Any]] = []
    for idx, turn_messages in enumerate(case.turns):
        added = case.missed_function.get(str(idx))
        if added:
            for name in added:
                withheld.discard(name)
                if name in by_name:
                    offered.append(by_name[name])
            if not turn_messages:
                turn_messages = [{"role": "user", "content": ADDED_FUNCTIONS_PROMPT}]
        messages.extend(dict(m) for m in turn_messages)
        steps: list[list[Call]] = []
        count = 0
        while True:
            comp = await ask(messages, list(offered))
            conv.requests += 1
            conv.latency_s += float(getattr(comp, "latency_s", 0.0) or 0.0)
            if not comp.ok:
                conv.failed = comp
                conv.turns.append(steps)
                if keep_messages:
                    conv.messages = messages
                return conv
            conv.last_text = comp.text
            parsed = parse_calls(comp.text, comp.tool_calls)
            if not parsed.ok or not parsed.calls:
                messages.append({"role": "assistant", "content": comp.text or ""})
                break
            calls = [Call.from_function_call(fc) for fc in parsed.calls]
            results = session.execute(calls)
            steps.append(calls)
            assistant, tool_msgs = _tool_messages(comp, calls, results)
            messages.append(assistant)
            messages.extend(tool_msgs)
            count += 1
            if count > max_steps:
                conv.force_quit = True
                break
        conv.turns.append(steps)
        if conv.force_quit:
            break
    conv.check = check_multi_turn(case, conv.turns)
    if keep_messages:
        conv.messages = messages
    return conv


def score_conversation(task: Any, conv: Conversation | None = None, *, stored: str | None = None) -> ScoreResult:
    """The :class:`ScoreResult` for a multi-turn task: from a conversation just played, or from its stored
    calls (``stored``, the text :meth:`Conversation.stored_text` wrote), re-checked with today's checker."""
    case = MultiTurnCase.from_task(task)
    if conv is None:
        turns = stored_turns(stored)
        if turns is None:
            return _score(task, False, "no_response", "No stored conversation could be read for this task.")
        check = check_multi_turn(case, turns)
        calls = [c for turn in turns for step in turn for c in step]
    else:
        if conv.failed is not None:
            return _score(task, False, "no_response", f"The request failed: {conv.failed.error}")
        check = conv.check or check_multi_turn(case, conv.turns)
        calls = [c for turn in conv.turns for step in turn for c in step]
    from ..tasks import FunctionCall

    fcs = [FunctionCall(c.name, dict(c.kwargs)) for c in calls]
    if check.valid:
        return _score(task, True, None, "Correct: every turn left the APIs in the expected state.", fcs)
    return _score(task, False, check.error_type, _feedback(check), fcs)


_FEEDBACK = {
    "multi_turn:force_terminated": "The conversation was stopped: more than {max} steps with calls in one turn.",
    "multi_turn:empty_turn_model_response": "Turn {turn} needed tool calls, but you made none.",
    "multi_turn:instance_state_mismatch": "After turn {turn} the {cls} state differs from the expected one ({attrs}).",
    "multi_turn:execution_response_mismatch": "After turn {turn} some results the task needs were never "
    "obtained by your calls.",
}


def _feedback(check: CheckResult) -> str:
    tmpl = _FEEDBACK.get(check.error_type or "", check.error_message or "The conversation failed.")
    d = check.details or {}
    return tmpl.format(
        max=MAX_STEPS,
        turn=check.turn,
        cls=d.get("class", "API"),
        attrs=", ".join(sorted(d.get("differences", {}))) or "?",
    )


def _score(task: Any, correct: bool, error: str | None, feedback: str, calls: list | None = None) -> ScoreResult:
    crit: dict[str, bool | None] = {
        "parsed": None,
        "call_count": None,
        "function_names": None,
        "required_args": None,
        "no_unexpected_args": None,
        "arg_types": None,
        "arg_values": None,
    }
    return ScoreResult(
        task.id, task.category, correct, 1.0 if correct else 0.0, error, crit, feedback, list(calls or []), None
    )
