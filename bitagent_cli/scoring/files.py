"""Score a responses file against a tasks file (the contract in ``docs/task-format.md``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import BitagentError
from ..tasks.io import LineError, read_records, read_tasks
from .check import Response, ScoreResult, score_task, summarise

T = TypeVar("T")

__all__ = ["ScoreFileError", "read_responses", "score_files"]


class ScoreFileError(BitagentError):
    """A tasks or responses file that cannot be read at all; the message names the file."""


def read_responses(path: str | os.PathLike[str]) -> tuple[list[Response], list[LineError]]:
    """Read a responses file: ``(responses, errors)``. A malformed line or a repeated id is an error for
    that line only (the first response for an id wins). Raises OSError if the file cannot be opened."""
    return read_records(path, Response.from_dict, kind="response")


def _read(fn: Callable[[str | os.PathLike[str]], T], path: str | os.PathLike[str], what: str) -> T:
    try:
        return fn(path)
    except FileNotFoundError:
        raise ScoreFileError(f"cannot read the {what} file {str(path)!r}: no such file") from None
    except IsADirectoryError:
        raise ScoreFileError(f"cannot read the {what} file {str(path)!r}: it is a directory") from None
    except (OSError, EOFError) as e:  # permissions, a broken .gz
        raise ScoreFileError(
            f"cannot read the {what} file {str(path)!r}: {getattr(e, 'strerror', None) or e}"
        ) from None


def score_files(
    tasks_path: str | os.PathLike[str],
    responses_path: str | os.PathLike[str],
    rules: str = "bitagent",
    underscore_to_dot: bool = False,
) -> dict[str, Any]:
    """Score every task in ``tasks_path`` with its response in ``responses_path``.

    Returns the contract's object: ``summary``, ``results`` (one per task, in task-file order), plus
    ``errors`` (malformed lines, each ``{"path", "line", "message"}``) and ``unknown_ids`` (responses whose
    id matches no task; not scored). A task without a response is scored ``no_response``. ``rules``:
    ``bitagent`` or ``bfcl`` (see ``score_task``); ``underscore_to_dot``: BFCL's setting of that name (``bfcl``
    rules only; the report says which was used). Raises :class:`ScoreFileError` when a file cannot be opened.
    """
    tasks, task_errors = _read(read_tasks, tasks_path, "tasks")
    responses, resp_errors = _read(read_responses, responses_path, "responses")
    by_id = {r.id: r for r in responses}
    results: list[ScoreResult] = [score_task(t, by_id.get(t.id), rules, underscore_to_dot) for t in tasks]
    task_ids = {t.id for t in tasks}
    unknown = [r.id for r in responses if r.id not in task_ids]
    return {
        "summary": summarise(results),
        "results": [r.to_dict() for r in results],
        "errors": [e.to_dict() for e in (*task_errors, *resp_errors)],
        "unknown_ids": unknown,
        "rules": rules,
        **({"underscore_to_dot": underscore_to_dot} if rules == "bfcl" else {}),
    }
