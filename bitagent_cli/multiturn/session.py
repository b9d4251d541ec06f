"""A set of live simulated-API instances for one conversation, and the safe way to call them.

A :class:`Session` holds one instance of every class a task involves, loaded from the task's
``initial_config`` (long-context filler added when asked). :meth:`Session.execute` runs calls by looking the
function name up among the instances' public methods and calling the method with the decoded literal
arguments: nothing is ever evaluated. Each call's result is a string (see :func:`calls.result_text`); a call
that fails reads ``"Error during execution: <reason>"``, as under BFCL. Every session has a
:class:`~.limits.Budget` (calls, entries walked, characters produced, seconds; :mod:`.limits`) that its APIs
charge as they work, and the APIs bound their own state (files, posts, messages...), so a model cannot make a
session run long or grow without end. A spent budget, or a call that runs out of memory, raises
:class:`~.limits.BudgetExceeded` out of :meth:`Session.execute`: the conversation ends there (the model's
fault), it is never an ordinary call error.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Iterable
from typing import Any

from .apis import API_CLASSES, STATELESS, public_state
from .calls import Call, error_text, result_text
from .limits import MAX_EXECUTION_S, MAX_SESSION_CALLS, Budget, BudgetExceeded

__all__ = ["MAX_SESSION_CALLS", "Session", "UnknownClassError"]
#: Names BFCL refuses to run whatever the API (it checks them before executing).
_REFUSED = frozenset({"kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"})


@functools.cache
def _public_methods(cls: type) -> tuple[str, ...]:
    return tuple(n for n, _ in inspect.getmembers(cls, predicate=inspect.isfunction) if not n.startswith("_"))


class UnknownClassError(ValueError):
    """A task names an API class we do not simulate."""


class Session:
    """Live instances of the involved API classes (see the module docs)."""

    def __init__(
        self,
        involved_classes: Iterable[str],
        initial_config: dict | None,
        *,
        long_context: bool = False,
        execution_s: float = MAX_EXECUTION_S,
    ) -> None:
        config = initial_config or {}
        self.instances: dict[str, Any] = {}
        self._methods: dict[str, Any] = {}
        self.budget = Budget(execution_s=execution_s)
        for name in involved_classes:
            cls = API_CLASSES.get(name)
            if cls is None:
                raise UnknownClassError(f"unknown API class {name!r} (known: {', '.join(API_CLASSES)})")
            api = cls()
            if name not in STATELESS:
                api._load_scenario(copy.deepcopy(config.get(name, {})), long_context=long_context)
            api._budget = self.budget
            self.instances[name] = api
            # a class object is hashable; mypy checks SimulatedAPI's instance __hash__ instead
            for mname in _public_methods(cls):  # type: ignore[arg-type]  # a later class's method of the same name wins, as in BFCL
                self._methods[mname] = getattr(api, mname)

    @property
    def function_names(self) -> frozenset[str]:
        return frozenset(self._methods)

    @property
    def calls_made(self) -> int:
        return self.budget.calls

    def execute_one(self, call: Call) -> str:
        """Run one call; its result text. Raises :class:`BudgetExceeded` when the session's budget is spent."""
        self.budget.call()
        try:
            return self._run(call)
        finally:
            self.budget.done()

    def _run(self, call: Call) -> str:
        name = call.name
        if name in _REFUSED:
            return error_text(RuntimeError(f"Function call {name} is not allowed."))
        method = self._methods.get(name)
        if method is None:
            # BFCL evaluates the call text: an unknown (or dotted) name is a NameError on its first part
            return error_text(NameError(f"name '{name.split('.', 1)[0]}' is not defined"))
        try:
            # fresh copies of the arguments, as BFCL's evaluation of the call text makes: the APIs keep
            # argument lists in their state, and the same calls are executed again by the checker
            args, kwargs = copy.deepcopy(call.args), copy.deepcopy(call.kwargs)
            text = result_text(method(*args, **kwargs))
        except BudgetExceeded:
            raise
        except MemoryError:
            raise BudgetExceeded("memory", f"in {name}") from None
        except RecursionError:
            text = error_text(RecursionError("maximum recursion depth exceeded"))
        except Exception as e:  # noqa: BLE001 - a failed call is reported to the model, as BFCL does
            text = error_text(e)
        self.budget.produced(len(text))
        return text

    def execute(self, calls: Iterable[Call]) -> list[str]:
        return [self.execute_one(c) for c in calls]

    def state(self) -> dict[str, dict[str, Any]]:
        """Every instance's public attributes (what the checker compares), by class name."""
        return {name: public_state(api) for name, api in self.instances.items()}
