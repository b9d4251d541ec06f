"""bitagent: the command-line toolkit for BitAgent (Bittensor subnet 20 / testnet 76).

Pipeline: ``tasks`` (suites, the Task/FunctionCall types) -> ``serving`` (model servers) ->
``scoring`` (parse + check) -> ``store`` (results cache, validator state); ``chain`` is the only
module that imports bittensor; ``neurons`` holds the miner and validator; ``cli`` is a thin shell.

The public API is what ``__all__`` names (pinned by ``tests/test_public_api.py``)::

    from bitagent_cli import Response, evaluate, load_suite, score_task

    task = load_suite("bfcl", limit=1)[0]
    result = score_task(task, Response(task.id, text="[get_weather(city='Paris')]"))  # a ScoreResult
    report = evaluate("builtin:tiny", suites=["bfcl"], limit=5)                       # an EvalReport

Everything but the types is imported on first use, so ``import bitagent_cli`` (and ``bitagent --help``)
stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: The one version source: pyproject.toml reads it from here (``[tool.hatch.version]``).
__version__ = "0.1.0"

from .errors import BitagentError, InvalidArgument, ModelRefused
from .tasks._types import ExpectedCall, FunctionCall, Task, Tool

if TYPE_CHECKING:  # pragma: no cover - for type checkers; at run time __getattr__ imports these lazily
    from ._evaluate import EvalError, EvalReport, evaluate
    from .config import Settings, load_settings
    from .scoring import Response, ScoreResult, parse_calls, score_task
    from .tasks.select import load_tasks
    from .tasks.suites import load_suite

#: name -> module it lives in (imported on first access).
_LAZY = {
    "evaluate": "._evaluate",
    "EvalReport": "._evaluate",
    "EvalError": "._evaluate",
    "score_task": ".scoring",
    "parse_calls": ".scoring",
    "Response": ".scoring",
    "ScoreResult": ".scoring",
    "load_suite": ".tasks.suites",
    "load_tasks": ".tasks.select",
    "load_settings": ".config",
    "Settings": ".config",
}

__all__ = [
    "BitagentError",
    "EvalError",
    "EvalReport",
    "ExpectedCall",
    "FunctionCall",
    "InvalidArgument",
    "ModelRefused",
    "Response",
    "ScoreResult",
    "Settings",
    "Task",
    "Tool",
    "__version__",
    "evaluate",
    "load_settings",
    "load_suite",
    "load_tasks",
    "parse_calls",
    "score_task",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bitagent_cli' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
