"""BFCL's leaderboard summary columns, computed from per-category results of a run.

``bfcl_summary(per_category)`` takes ``{category: {"tasks": n, "correct": k, "accuracy": a}}`` (what
``summarise`` returns under ``by_category``) and gives the columns BFCL's leaderboard shows, each from the
categories that were run (a column whose categories are all absent is ``None``, shown as N/A):

- ``non_live``: unweighted mean of simple, multiple, parallel, parallel_multiple (BFCL v4 "Non-Live AST";
  irrelevance is not part of it since v4);
- ``live``: count-weighted mean of live_simple, live_multiple, live_parallel, live_parallel_multiple;
- ``relevance``: live_relevance;
- ``irrelevance``: unweighted mean of irrelevance and live_irrelevance;
- ``multi_turn``: unweighted mean of the multi_turn* categories (only when the run has them).

Each column is ``{"accuracy": float | None, "tasks": int, "categories": [names used]}``.
See /work/shared/docs/bfcl-reference.md, "summary" section, for BFCL's own definitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["BFCL_COLUMNS", "bfcl_summary"]

NON_LIVE = ("simple", "multiple", "parallel", "parallel_multiple")
LIVE = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
RELEVANCE = ("live_relevance",)
IRRELEVANCE = ("irrelevance", "live_irrelevance")

#: Column key -> the label BFCL's leaderboard uses.
BFCL_COLUMNS: dict[str, str] = {"non_live": "Non-Live (AST)", "live": "Live", "multi_turn": "Multi-Turn",
                                "relevance": "Relevance", "irrelevance": "Irrelevance"}


def _acc(c: Mapping[str, Any]) -> float:
    if "accuracy" in c:
        return float(c["accuracy"])
    n = int(c.get("tasks", 0))
    return int(c.get("correct", 0)) / n if n else 0.0


def _column(per_category: Mapping[str, Mapping[str, Any]], names: tuple[str, ...] | list[str], *,
            weighted: bool) -> dict[str, Any]:
    present = [n for n in names if n in per_category and int(per_category[n].get("tasks", 0)) > 0]
    tasks = sum(int(per_category[n]["tasks"]) for n in present)
    if not present:
        acc = None
    elif weighted:
        acc = sum(int(per_category[n].get("correct", round(_acc(per_category[n]) * int(per_category[n]["tasks"]))))
                  for n in present) / tasks
    else:
        acc = sum(_acc(per_category[n]) for n in present) / len(present)
    return {"accuracy": None if acc is None else round(acc, 6), "tasks": tasks, "categories": present}


def bfcl_summary(per_category: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """BFCL's summary columns from per-category results (see the module docs). Absent categories are ignored;
    ``multi_turn`` appears only when the run has multi-turn categories."""
    out = {"non_live": _column(per_category, NON_LIVE, weighted=False),
           "live": _column(per_category, LIVE, weighted=True)}
    multi = sorted(c for c in per_category if c.startswith("multi_turn"))
    if multi:
        out["multi_turn"] = _column(per_category, multi, weighted=False)
    out["relevance"] = _column(per_category, RELEVANCE, weighted=False)
    out["irrelevance"] = _column(per_category, IRRELEVANCE, weighted=False)
    return out
