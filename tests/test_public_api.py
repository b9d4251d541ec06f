"""The public API of ``bitagent_cli`` is pinned: adding or removing a name is a deliberate change to this list
(as httpx pins its ``__all__``)."""

from __future__ import annotations

import subprocess
import sys

import bitagent_cli

PUBLIC = [
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


def test_all_is_pinned():
    assert bitagent_cli.__all__ == PUBLIC


def test_every_public_name_resolves():
    for name in bitagent_cli.__all__:
        assert getattr(bitagent_cli, name) is not None, name
    assert set(bitagent_cli.__all__) <= set(dir(bitagent_cli))


def test_the_documented_imports_work_and_are_the_library_objects():
    from bitagent_cli import EvalReport, Response, ScoreResult, evaluate, load_suite, parse_calls, score_task
    from bitagent_cli._evaluate import EvalReport as ER
    from bitagent_cli._evaluate import evaluate as ev
    from bitagent_cli.scoring import Response as R
    from bitagent_cli.scoring import ScoreResult as SR
    from bitagent_cli.scoring import parse_calls as pc
    from bitagent_cli.scoring import score_task as st
    from bitagent_cli.tasks.suites import load_suite as ls

    assert (evaluate, EvalReport, score_task, parse_calls, Response, ScoreResult, load_suite) == (
        ev,
        ER,
        st,
        pc,
        R,
        SR,
        ls,
    )


def test_the_api_scores_a_shipped_task():
    from bitagent_cli import Response, load_suite, score_task

    task = load_suite("bfcl", limit=1, seed=0)[0]
    result = score_task(task, Response(task.id, text="not a call"))
    assert result.correct is False


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bitagent_cli.nope  # noqa: B018


def test_import_is_lazy():
    """``import bitagent_cli`` does not pull in the evaluator, the scorer or httpx (``bitagent --help`` stays fast)."""
    code = (
        "import sys, bitagent_cli; "
        "print(sorted(m for m in ('bitagent_cli._evaluate', 'bitagent_cli.scoring', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
