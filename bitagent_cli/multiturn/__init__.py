"""BFCL's multi-turn categories without BFCL: simulated APIs, the checker and the conversation loop.

* :mod:`.apis` -- the eight stateful APIs (file system, math, messages, posting, tickets, trading, travel,
  vehicle), written for bitagent from BFCL's function documents and its classes' observed behaviour.
* :mod:`.session` -- live instances for one conversation; calls are dispatched to methods, never evaluated.
* :mod:`.checker` -- BFCL's multi-turn checker (state and results per turn against the ground truth).
* :mod:`.loop` -- the conversation with a served model (rounds per turn bounded, withheld functions).
* :mod:`.limits` -- every budget of a conversation (calls, walks, result sizes, seconds), with its reason.
"""

from __future__ import annotations

from .calls import Call, CallSyntaxError, parse_call, result_text
from .checker import CheckResult, MultiTurnCase, check_multi_turn
from .limits import BUDGETS, Budget, BudgetExceeded
from .loop import (
    ADDED_FUNCTIONS_PROMPT,
    MAX_STEPS,
    Conversation,
    multi_turn_data,
    run_multi_turn,
    score_conversation,
    stored_budget,
    stored_turns,
)
from .session import Session, UnknownClassError

__all__ = [
    "ADDED_FUNCTIONS_PROMPT",
    "BUDGETS",
    "MAX_STEPS",
    "Budget",
    "BudgetExceeded",
    "Call",
    "CallSyntaxError",
    "CheckResult",
    "Conversation",
    "MultiTurnCase",
    "Session",
    "UnknownClassError",
    "check_multi_turn",
    "multi_turn_data",
    "parse_call",
    "result_text",
    "run_multi_turn",
    "score_conversation",
    "stored_budget",
    "stored_turns",
]
