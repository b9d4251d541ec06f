"""Task selection for a run: the chosen suites, categories and ``limit`` per suite, drawn with a seed.

``load_tasks(["bfcl", "glaive"], category="simple", limit=50, seed=0) -> list[SuiteTask]``. Bad names fail
here (:class:`UnknownSuite`, :class:`UnknownCategory`), before anything is downloaded or started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import InvalidArgument
from ._types import Task
from .suites import SUITES, UnknownCategory, load_suite, suite_info

__all__ = ["SuiteTask", "load_tasks"]


@dataclass(slots=True)
class SuiteTask:
    """A task and the suite (name, content hash) it was drawn from."""

    suite: str
    suite_hash: str
    task: Task


def load_tasks(
    suites: Sequence[str], *, category: str | Iterable[str] | None = None, limit: int | None = None, seed: int = 0
) -> list[SuiteTask]:
    """The selected tasks of each suite (``limit`` per suite). A category applies to the suites that have
    it; one that no suite has raises :class:`UnknownCategory` listing the valid ones."""
    if not suites:
        raise InvalidArgument("no suite selected; pass --suite NAME (one of: " + ", ".join(SUITES) + ")")
    wanted: list[str] | None = None
    if category is not None:
        raw = [category] if isinstance(category, str) else list(category)
        wanted = [c.strip() for item in raw for c in str(item).split(",") if c.strip()] or None
    infos = {name: suite_info(name) for name in dict.fromkeys(suites)}  # UnknownSuite for a bad name
    if wanted:
        present = {c for info in infos.values() for c in info.categories}
        for c in wanted:
            if c not in present:
                raise UnknownCategory(",".join(infos), c, sorted(present))
    items: list[SuiteTask] = []
    for name, info in infos.items():
        cats = None
        if wanted:
            cats = [c for c in wanted if c in info.categories]
            if not cats:
                continue
        for t in load_suite(name, category=cats, limit=limit or None, seed=seed):
            items.append(SuiteTask(name, info.hash, t))
    return items
