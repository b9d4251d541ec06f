"""BFCL's multi-turn checker, on our simulated APIs.

A conversation's calls are given per turn, per step (one model answer = one step = a list of calls; steps that
made no call are dropped, as BFCL drops them). The calls are executed again from the initial state, and so are
the ground-truth calls, each in their own persistent session. After every turn whose ground truth is not empty:

* the turn fails with ``multi_turn:empty_turn_model_response`` when the model made no call in it;
* ``multi_turn:instance_state_mismatch`` when any public attribute of any involved API differs from the
  ground truth's;
* ``multi_turn:execution_response_mismatch`` when the results of the turn's ground-truth calls are not all
  among the results of the model's calls so far (all turns, as a multiset, in any order).

A turn whose ground truth is empty (a ``miss_param`` turn that should ask for the missing value, a ``miss_func``
turn before the function is offered) is not checked, but the model's calls in it are executed, so they count
in the next turn's state. A conversation that has fewer turns than the ground truth (the model was stopped for
making too many steps) fails with ``multi_turn:force_terminated``. The task passes when every turn passes.

Bounded: the model's results are kept as digests (length and BLAKE2b of the text), not as texts, and the
replay runs under the sessions' budgets (:mod:`.limits`); a replay of the model's calls that spends one
fails with ``budget_exceeded`` (``details["budget"]`` names it), the verdict the conversation got when it
was played.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .apis import public_state
from .calls import Call, CallSyntaxError, parse_call
from .limits import BudgetExceeded
from .session import Session

__all__ = ["CheckResult", "MultiTurnCase", "check_multi_turn"]


@dataclass(frozen=True)
class MultiTurnCase:
    """What the checker and the conversation loop need from a multi-turn task (BFCL's fields)."""

    id: str
    category: str
    turns: list[list[dict]]
    involved_classes: list[str]
    initial_config: dict
    ground_truth: list[list[str]]
    missed_function: dict[str, list[str]] = field(default_factory=dict)

    @property
    def long_context(self) -> bool:
        # BFCL: "long_context" (or "composite") in the category inflates the states
        return "long_context" in self.category or "composite" in self.category

    @classmethod
    def from_bfcl(cls, entry: dict, answer: dict) -> MultiTurnCase:
        """From a BFCL question line and its possible-answer line."""
        return cls(
            id=entry["id"],
            category=entry["id"].rsplit("_", 1)[0],
            turns=entry["question"],
            involved_classes=list(entry["involved_classes"]),
            initial_config=entry.get("initial_config") or {},
            ground_truth=answer["ground_truth"],
            missed_function=dict(entry.get("missed_function") or {}),
        )

    @classmethod
    def from_task(cls, task: Any) -> MultiTurnCase:
        """From a :class:`bitagent_cli.tasks.Task` whose ``multi_turn`` field holds BFCL's fields."""
        mt = getattr(task, "multi_turn", None) or (getattr(task, "meta", None) or {}).get("multi_turn")
        if not isinstance(mt, dict):
            raise ValueError(f"task {task.id} has no multi-turn data")
        return cls(
            id=task.id,
            category=task.category,
            turns=mt["turns"],
            involved_classes=list(mt["involved_classes"]),
            initial_config=mt.get("initial_config") or {},
            ground_truth=mt["ground_truth"],
            missed_function=dict(mt.get("missed_function") or {}),
        )

    def session(self) -> Session:
        return Session(self.involved_classes, self.initial_config, long_context=self.long_context)

    def ground_truth_calls(self) -> list[list[Call]]:
        return [[parse_call(s) for s in turn] for turn in self.ground_truth]


@dataclass
class CheckResult:
    valid: bool
    error_type: str | None = None
    error_message: str | None = None
    turn: int | None = None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "turn": self.turn,
            "details": self.details,
        }


def _digest(text: str) -> tuple[int, bytes]:
    """What the checker keeps of a result: enough to tell two texts apart, bounded whatever the text."""
    return len(text), hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _missing(expected: list[str], got: Counter[tuple[int, bytes]]) -> list[str]:
    """The expected results not found in ``got`` (digests, a multiset: each found result is used once)."""
    pool = Counter(got)
    out = []
    for r in expected:
        d = _digest(r)
        if pool[d] > 0:
            pool[d] -= 1
        else:
            out.append(r)
    return out


def budget_result(e: BudgetExceeded, turn: int | None = None) -> CheckResult:
    """The verdict of a conversation whose calls spent a budget (the model's fault)."""
    return CheckResult(False, "budget_exceeded", str(e), turn, {"budget": e.budget})


def _state_difference(model: Session, truth: Session) -> tuple[str, dict] | None:
    for cname, gt_api in truth.instances.items():
        m_api = model.instances[cname]
        diffs = {}
        for attr, gt_value in public_state(gt_api).items():
            m_value = getattr(m_api, attr, None)
            if m_value != gt_value:
                diffs[attr] = {"model": _short(m_value), "ground_truth": _short(gt_value)}
        if diffs:
            return cname, diffs
    return None


def _short(v: Any, limit: int = 500) -> str:
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "..."


def check_multi_turn(case: MultiTurnCase, model_turns: Sequence[Sequence[Sequence[Call]]]) -> CheckResult:
    """Check a conversation's calls (turn -> step -> calls) against the case's ground truth (module docs)."""
    gt_turns = case.ground_truth
    if len(model_turns) != len(gt_turns):
        return CheckResult(
            False,
            "multi_turn:force_terminated",
            f"the conversation has {len(model_turns)} turns, the ground truth {len(gt_turns)} (the model was stopped)",
        )
    model: Session | None = None
    truth = case.session()
    all_model_results: Counter[tuple[int, bytes]] = Counter()
    for t, gt_strings in enumerate(gt_turns):
        steps = [list(s) for s in model_turns[t] if s]
        for step in steps:
            if model is None:
                model = case.session()
            try:
                all_model_results.update(_digest(r) for r in model.execute(step))
            except BudgetExceeded as e:
                return budget_result(e, t)
        try:
            gt_calls = [parse_call(s) for s in gt_strings]
        except CallSyntaxError as e:
            return CheckResult(False, "multi_turn:bad_ground_truth", f"turn {t}: {e}", t)
        gt_results = truth.execute(gt_calls)
        if not gt_strings:
            continue
        if not steps or model is None:
            return CheckResult(
                False, "multi_turn:empty_turn_model_response", f"Model response list is empty for turn {t}", t
            )
        diff = _state_difference(model, truth)
        if diff is not None:
            cname, diffs = diff
            return CheckResult(
                False,
                "multi_turn:instance_state_mismatch",
                f"Model instance for {cname} does not match the state with ground truth instance.",
                t,
                {"class": cname, "differences": diffs},
            )
        missing = _missing(gt_results, all_model_results)
        if missing:
            return CheckResult(
                False,
                "multi_turn:execution_response_mismatch",
                f"Model response execution results so far does not contain all the ground truth "
                f"response execution results for turn {t}.",
                t,
                {"missing_items": [_short(m) for m in missing]},
            )
    return CheckResult(True)
