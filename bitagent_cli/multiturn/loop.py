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
state). The calls and the checker run on a worker thread (``asyncio.to_thread``), never on the event loop, so
the other conversations and tasks of an evaluation go on while one model makes costly calls; they run under
the session's budgets (:mod:`.limits`), and the whole conversation under :data:`~.limits.MAX_CONVERSATION_S`.
A spent budget (or a call that runs out of memory, or the conversation's time) ends the conversation at once:
its verdict is ``budget_exceeded`` (``check.details["budget"]`` says which), score 0, the model's fault.
``ask`` is any coroutine ``ask(messages, tools) -> Completion`` (see :mod:`bitagent_cli.serving.client`), so
the loop does not care which server answers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..scoring import ScoreResult, parse_calls
from ..tasks import Tool
from .calls import Call
from .checker import CheckResult, MultiTurnCase, budget_result, check_multi_turn
from .limits import BUDGETS, MAX_CONVERSATION_S, MAX_EXECUTION_S, BudgetExceeded
from .session import Session

__all__ = [
    "ADDED_FUNCTIONS_PROMPT",
    "MAX_STEPS",
    "Conversation",
    "multi_turn_data",
    "run_multi_turn",
    "score_conversation",
    "stored_budget",
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
    budget_exceeded: str | None = None  # the budget the model's calls spent (limits.BUDGETS), if any

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
                "budget_exceeded": self.budget_exceeded,
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


def stored_budget(text: str | None) -> str | None:
    """The budget a stored conversation spent (:attr:`Conversation.budget_exceeded`), or None."""
    try:
        b = json.loads(text or "").get("budget_exceeded")
    except (ValueError, TypeError, AttributeError):
        return None
    return b if isinstance(b, str) and b else None


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
    max_seconds: float = MAX_CONVERSATION_S,
    execution_s: float = MAX_EXECUTION_S,
) -> Conversation:
    """Play the conversation with ``ask`` and check it (see the module docs).

    ``task_or_case``: a :class:`bitagent_cli.tasks.Task` with multi-turn data, or a :class:`MultiTurnCase`
    (then ``tools`` must be given). Never raises for what the model does; a failed request stops the
    conversation and is returned in ``Conversation.failed``; a spent budget (``max_seconds`` for the whole
    conversation, ``execution_s`` of simulated execution, the others in :mod:`.limits`) ends it with the
    ``budget_exceeded`` verdict.
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
    session = Session(
        case.involved_classes, case.initial_config, long_context=case.long_context, execution_s=execution_s
    )
    conv = Conversation(case.id)
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + max_seconds
    try:
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
            conv.turns.append(steps)
            count = 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BudgetExceeded("conversation_time")
                try:
                    comp = await asyncio.wait_for(ask(messages, list(offered)), left)
                except asyncio.TimeoutError:
                    conv.requests += 1
                    raise BudgetExceeded("conversation_time", "waiting for the model's answer") from None
                conv.requests += 1
                conv.latency_s += float(getattr(comp, "latency_s", 0.0) or 0.0)
                if not comp.ok:
                    conv.failed = comp
                    if keep_messages:
                        conv.messages = messages
                    return conv
                conv.last_text = comp.text
                parsed = parse_calls(comp.text, comp.tool_calls)
                if not parsed.ok or not parsed.calls:
                    messages.append({"role": "assistant", "content": comp.text or ""})
                    break
                calls = [Call.from_function_call(fc) for fc in parsed.calls]
                steps.append(calls)
                # off the event loop: the other conversations go on while this one's calls run
                results = await asyncio.to_thread(session.execute, calls)
                assistant, tool_msgs = _tool_messages(comp, calls, results)
                messages.append(assistant)
                messages.extend(tool_msgs)
                count += 1
                if count > max_steps:
                    conv.force_quit = True
                    break
            if conv.force_quit:
                break
        conv.check = await asyncio.to_thread(check_multi_turn, case, conv.turns)
        if conv.check.error_type == "budget_exceeded":  # the replay spent one (its time, its memory)
            conv.budget_exceeded = str(conv.check.details.get("budget"))
    except BudgetExceeded as e:
        conv.budget_exceeded = e.budget
        conv.check = budget_result(e, len(conv.turns) - 1 if conv.turns else None)
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
        spent = stored_budget(stored)  # (time and memory are not replayed: the stored verdict stands)
        check = budget_result(BudgetExceeded(spent)) if spent else check_multi_turn(case, turns)
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
    "budget_exceeded": "The conversation was stopped: your calls exceeded its budget of {budget}. Make calls "
    "that do what the user asks, not calls that walk, copy or print without end.",
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
        budget=BUDGETS.get(str(d.get("budget")), str(d.get("budget"))),
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
