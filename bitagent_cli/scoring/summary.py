"""BFCL's summary columns and BFCL v4's overall accuracy, from per-category accuracies.

BFCL (``eval_runner_helper.generate_leaderboard_csv``, bfcl-eval 2026.3.23) computes:

* Non-live AST = unweighted mean of Simple, multiple, parallel, parallel_multiple, where Simple = unweighted
  mean of simple_python, simple_java, simple_javascript;
* Live AST = mean of live_simple, live_multiple, live_parallel, live_parallel_multiple weighted by their sizes;
* Multi-turn = unweighted mean of multi_turn_base, _miss_func, _miss_param, _long_context;
* Irrelevance = unweighted mean of irrelevance and live_irrelevance; Relevance = live_relevance (not in Overall);
* Agentic = unweighted mean of web search (base, no_snippet) and memory (kv, vector, rec_sum);
* Overall = 0.10 x Non-live + 0.10 x Live + 0.10 x Irrelevance + 0.30 x Multi-turn + 0.40 x Agentic.

A category that was not run counts as 0 in Overall, as in BFCL (which shows "N/A" for it in its sub-table but
still adds 0). We never run the agentic categories (web search and memory need the network), so they always
count 0 here, as they did for the subnet's validators (who did not run ``multi_turn_long_context`` either; the
``bfcl-full`` suite does); ``overall_note`` says which categories counted 0.

``overall_v3`` is the formula of BFCL v3 (until 2025-07-17), the one the subnet's validators' pinned BFCL
(gorilla 56d7a7c, 2025-05) computed: the unweighted mean of non-live (unweighted mean of Simple, multiple,
parallel, parallel_multiple and irrelevance), live (size-weighted mean of the four live AST categories,
live_irrelevance and live_relevance) and multi-turn; also with missing categories as 0.

The live weights are BFCL's full category sizes (258, 1053, 16, 24), not the numbers of tasks run: with
``--limit`` each category is sampled, and its accuracy stands for the whole category, so weighting by the
full sizes estimates what BFCL would compute on all of it (on a full run the two are the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["BFCL_COLUMNS", "BFCL_SIZES", "OVERALL_WEIGHTS", "bfcl_columns", "bfcl_summary"]

#: Column key -> the label BFCL's leaderboard uses.
BFCL_COLUMNS: dict[str, str] = {
    "non_live": "Non-Live (AST)",
    "live": "Live (AST)",
    "multi_turn": "Multi-Turn",
    "relevance": "Relevance",
    "irrelevance": "Irrelevance",
}

#: Entries per BFCL v4 category (bfcl-eval 2026.3.23), the live weights.
BFCL_SIZES = {
    "simple_python": 400,
    "simple_java": 100,
    "simple_javascript": 50,
    "multiple": 200,
    "parallel": 200,
    "parallel_multiple": 200,
    "irrelevance": 240,
    "live_simple": 258,
    "live_multiple": 1053,
    "live_parallel": 16,
    "live_parallel_multiple": 24,
    "live_irrelevance": 884,
    "live_relevance": 16,
    "multi_turn_base": 200,
    "multi_turn_miss_func": 200,
    "multi_turn_miss_param": 200,
    "multi_turn_long_context": 200,
    "web_search_base": 100,
    "web_search_no_snippet": 100,
    "memory_kv": 155,
    "memory_vector": 155,
    "memory_rec_sum": 155,
}

#: BFCL v4's Overall weights (CHANGELOG 2025-07-17).
OVERALL_WEIGHTS = {"non_live": 0.10, "live": 0.10, "irrelevance": 0.10, "multi_turn": 0.30, "agentic": 0.40}

_SIMPLE = ("simple_python", "simple_java", "simple_javascript")
_NON_LIVE = ("multiple", "parallel", "parallel_multiple")
_LIVE = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
_MULTI_TURN = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")
_IRRELEVANCE = ("irrelevance", "live_irrelevance")
_WEB = ("web_search_base", "web_search_no_snippet")
_MEMORY = ("memory_kv", "memory_vector", "memory_rec_sum")

#: Our category names that differ from BFCL's.
_ALIASES = {"simple": "simple_python"}


def _accuracy(c: Any) -> float | None:
    if isinstance(c, (int, float)) and not isinstance(c, bool):
        return float(c)
    if not isinstance(c, Mapping):
        return None
    if c.get("tasks"):
        if "correct" in c:
            return float(c["correct"]) / float(c["tasks"])
        if c.get("accuracy") is not None:
            return float(c["accuracy"])
    return None


def _mean(accs: Mapping[str, float], cats: tuple[str, ...]) -> float:
    return sum(accs.get(c, 0.0) for c in cats) / len(cats)


def _ran(accs: Mapping[str, float], cats: tuple[str, ...]) -> bool:
    return any(c in accs for c in cats)


def bfcl_summary(per_category: Mapping[str, Any]) -> dict[str, Any]:
    """BFCL's summary columns and v4 overall from ``{category: {"tasks": n, "correct": k}}`` (or
    ``{"accuracy": a, "tasks": n}``, or a bare accuracy); category names are BFCL's, ``simple`` = simple_python.

    Returns a flat dict of fractions (0..1, 6 decimals): ``non_live`` (non-live AST), ``simple`` (its Simple),
    ``live`` (live AST), ``multi_turn``, ``relevance``, ``irrelevance``, ``agentic`` (None when no category of the
    column ran; a column that ran in part counts its missing categories as 0, as BFCL's Overall does),
    ``overall`` (None when no BFCL category ran), ``overall_v3`` (the v3 formula the subnet's validators used),
    ``overall_note`` and ``not_run`` (the BFCL categories that counted 0)."""
    accs: dict[str, float] = {}
    for cat, c in per_category.items():
        name = _ALIASES.get(cat, cat)
        if name in BFCL_SIZES:
            a = _accuracy(c)
            if a is not None:
                accs[name] = a
    simple = _mean(accs, _SIMPLE)
    non_live = (simple + sum(accs.get(c, 0.0) for c in _NON_LIVE)) / 4
    live_total = sum(BFCL_SIZES[c] for c in _LIVE)
    live = sum(accs.get(c, 0.0) * BFCL_SIZES[c] for c in _LIVE) / live_total
    multi_turn = _mean(accs, _MULTI_TURN)
    irrelevance = _mean(accs, _IRRELEVANCE)
    agentic = (_mean(accs, _WEB) + _mean(accs, _MEMORY)) / 2
    columns = {
        "non_live": non_live if _ran(accs, _SIMPLE + _NON_LIVE) else None,
        "simple": simple if _ran(accs, _SIMPLE) else None,
        "live": live if _ran(accs, _LIVE) else None,
        "multi_turn": multi_turn if _ran(accs, _MULTI_TURN) else None,
        "relevance": accs.get("live_relevance"),
        "irrelevance": irrelevance if _ran(accs, _IRRELEVANCE) else None,
        "agentic": agentic if _ran(accs, _WEB + _MEMORY) else None,
    }
    parts = {
        "non_live": non_live,
        "live": live,
        "irrelevance": irrelevance,
        "multi_turn": multi_turn,
        "agentic": agentic,
    }
    overall = sum(OVERALL_WEIGHTS[k] * v for k, v in parts.items()) if accs else None
    non_live_v3 = (simple + sum(accs.get(c, 0.0) for c in _NON_LIVE) + accs.get("irrelevance", 0.0)) / 5
    live_v3_cats = (*_LIVE, "live_irrelevance", "live_relevance")
    live_v3 = sum(accs.get(c, 0.0) * BFCL_SIZES[c] for c in live_v3_cats) / sum(BFCL_SIZES[c] for c in live_v3_cats)
    overall_v3 = (non_live_v3 + live_v3 + multi_turn) / 3 if accs else None
    in_overall = _SIMPLE + _NON_LIVE + _LIVE + _IRRELEVANCE + _MULTI_TURN + _WEB + _MEMORY
    not_run = [c for c in in_overall if c not in accs]
    note = "BFCL v4 overall = 0.10 non-live AST + 0.10 live AST + 0.10 irrelevance + 0.30 multi-turn + 0.40 agentic"
    if not_run:
        agentic_cats = _WEB + _MEMORY
        said = [c for c in not_run if c not in agentic_cats]
        if all(c in not_run for c in agentic_cats):
            said.insert(0, "the agentic categories (web search, memory: they need the network)")
        else:
            said.extend(c for c in not_run if c in agentic_cats)
        note += "; not run, counted 0 as BFCL counts a missing category: " + ", ".join(said)
    out: dict[str, Any] = {k: (None if v is None else round(v, 6)) for k, v in columns.items()}
    out["overall"] = None if overall is None else round(overall, 6)
    out["overall_v3"] = None if overall_v3 is None else round(overall_v3, 6)
    out["overall_note"] = note
    out["not_run"] = not_run
    return out


_COLUMN_CATEGORIES = {
    "non_live": _SIMPLE + _NON_LIVE,
    "live": _LIVE,
    "multi_turn": _MULTI_TURN,
    "relevance": ("live_relevance",),
    "irrelevance": _IRRELEVANCE,
}


def bfcl_columns(per_category: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The five columns of :data:`BFCL_COLUMNS` as ``{key: {"accuracy", "tasks", "categories"}}`` for display:
    ``accuracy`` as :func:`bfcl_summary` computes it (None when none of the column's categories ran), ``tasks``
    and ``categories`` what ran of it (our names, e.g. ``simple`` for simple_python)."""
    s = bfcl_summary(per_category)
    out: dict[str, dict[str, Any]] = {}
    for key, cats in _COLUMN_CATEGORIES.items():
        present = [c for c in per_category if _ALIASES.get(c, c) in cats]
        tasks = sum(int(per_category[c].get("tasks", 0)) for c in present if isinstance(per_category[c], Mapping))
        out[key] = {"accuracy": s[key], "tasks": tasks, "categories": present}
    return out
