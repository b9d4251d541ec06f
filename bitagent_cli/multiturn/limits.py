"""Every limit of a multi-turn conversation, in one place, with its reason; and the budget that enforces them.

A model drives the simulated APIs with its calls, so everything a conversation costs (calls, entries walked,
characters produced, entries created, seconds) is bounded *by construction*: a walk counts its steps as it
goes, a result counts its characters while it is built, a folder copy is charged the entries it really holds
(a copied folder shares its children with the original, as under BFCL, so a chain of copies of copies is a
tree far larger than its entry count). A :class:`Budget` belongs to one :class:`~.session.Session`; when a
budget is spent the call raises :class:`BudgetExceeded`, which no API catches: the conversation ends there,
scores 0 and records which budget (``budget_exceeded``, :data:`BUDGETS` names them). An honest conversation
is nowhere near any of these (BFCL's 800 ground truths: at most 74 entries walked, 70 kB of results and 16 ms
of execution in a conversation), so BFCL's verdicts are unchanged.

Per-call bounds that BFCL's APIs have as ordinary failures (a full inbox, too many posts, a file system
full of entries) stay :class:`~.apis.LimitError` s: the call reads as an error and the conversation goes on.
"""

from __future__ import annotations

import time

__all__ = [
    "BUDGETS",
    "MAX_CONVERSATION_S",
    "MAX_EXECUTION_S",
    "MAX_OUTPUT_CHARS",
    "MAX_RESULT_CHARS",
    "MAX_SESSION_CALLS",
    "MAX_WALK_ENTRIES",
    "Budget",
    "BudgetExceeded",
]

#: Calls one session executes. BFCL's longest ground truth makes ~60; 20 steps a turn of a few calls each
#: is a few hundred. (2,000 ``find()`` calls used to be 30 minutes of CPU.)
MAX_SESSION_CALLS = 2_000
#: Folder entries visited by all of a session's walks together (``find``, ``du``, sizing a folder ``cp``
#: copies). ~5 us an entry: about 0.5 s of CPU. BFCL's trees have at most a few hundred entries.
MAX_WALK_ENTRIES = 100_000
#: Characters in one result, counted while it is built (``find``'s paths, ``ls``'s names...) and checked on
#: the finished text of every other result. BFCL's longest (long-context files) is about 100 kB.
MAX_RESULT_CHARS = 1_000_000
#: Characters of all of a session's results together: what the conversation's messages (sent again with
#: every request) and the checker can hold. BFCL's largest ground truth produces 70 kB in all.
MAX_OUTPUT_CHARS = 4_000_000
#: Seconds of simulated execution per session (its calls, on the thread that runs them), checked between
#: calls and inside walks; the checker's replay has its own. An honest conversation needs milliseconds.
MAX_EXECUTION_S = 30.0
#: Seconds for a whole conversation, the model's requests included: a model that keeps a conversation going
#: past this (slow answers, 20 steps of every turn at max tokens) is stopped with the miner's 0.
MAX_CONVERSATION_S = 900.0

#: Budget names (the ``budget`` of :class:`BudgetExceeded`) and what each one counts.
BUDGETS = {
    "calls": f"{MAX_SESSION_CALLS} calls",
    "walk": f"{MAX_WALK_ENTRIES} folder entries walked",
    "result": f"{MAX_RESULT_CHARS} characters in one result",
    "output": f"{MAX_OUTPUT_CHARS} characters of results",
    "execution_time": f"{MAX_EXECUTION_S:.0f} s of simulated execution",
    "conversation_time": f"{MAX_CONVERSATION_S:.0f} s for the conversation",
    "memory": "memory (a call ran out of it)",
}


class BudgetExceeded(Exception):
    """A conversation's budget is spent: the model's fault; the conversation ends with score 0."""

    def __init__(self, budget: str, detail: str = "") -> None:
        self.budget = budget
        self.detail = detail
        what = BUDGETS.get(budget, budget)
        super().__init__(f"the conversation exceeded its budget of {what}" + (f" ({detail})" if detail else ""))


class Budget:
    """What one session may still spend (see the module docs). Not thread-safe: one session, one thread."""

    __slots__ = ("_t0", "calls", "execution_s", "output", "spent_s", "walked")

    def __init__(self, *, execution_s: float = MAX_EXECUTION_S) -> None:
        self.calls = 0
        self.walked = 0
        self.output = 0
        self.execution_s = execution_s
        self.spent_s = 0.0  # seconds of execution before the call in progress
        self._t0: float | None = None  # when the call in progress started

    def call(self) -> None:
        """One more call starts (:meth:`done` when it returns)."""
        self.calls += 1
        if self.calls > MAX_SESSION_CALLS:
            raise BudgetExceeded("calls")
        self._t0 = time.monotonic()
        self.check_time()

    def done(self) -> None:
        """The call in progress has returned (or raised)."""
        if self._t0 is not None:
            self.spent_s += time.monotonic() - self._t0
            self._t0 = None

    def walk(self, n: int = 1) -> None:
        """``n`` more entries walked; every 1,024 entries the clock is read and the GIL is offered to the other
        threads (the event loop that runs the other conversations comes first)."""
        before = self.walked
        self.walked += n
        if self.walked > MAX_WALK_ENTRIES:
            raise BudgetExceeded("walk")
        if (before >> 10) != (self.walked >> 10):
            time.sleep(0)
            self.check_time()

    def result(self, chars: int) -> None:
        """A result being built has reached ``chars`` characters."""
        if chars > MAX_RESULT_CHARS:
            raise BudgetExceeded("result")

    def produced(self, chars: int) -> None:
        """A finished result of ``chars`` characters."""
        self.result(chars)
        self.output += chars
        if self.output > MAX_OUTPUT_CHARS:
            raise BudgetExceeded("output")

    def check_time(self) -> None:
        running = time.monotonic() - self._t0 if self._t0 is not None else 0.0
        if self.spent_s + running > self.execution_s:
            raise BudgetExceeded("execution_time")
