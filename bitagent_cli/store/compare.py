"""``eval-model --compare``: two models' latest runs in the results store, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import BitagentError

__all__ = ["RunNotFound", "compare_runs"]


class RunNotFound(BitagentError):
    """No run of that model in the results store; the message says how to make one."""


def _candidates(ref: str) -> list[str]:
    out = [ref]
    p = Path(ref).expanduser()
    if p.is_dir():
        out.append(str(p.resolve()))
    repo, _, rev = ref.partition("@")
    if rev:
        out += [repo, rev]
    return out


def compare_runs(store: Any, a: str, b: str) -> dict[str, Any]:
    """The latest run of ``a`` and of ``b`` in ``store`` side by side: ``{"a", "b", "rows"}``, a row per suite and
    category (and ``all``) with each side's tasks, correct, accuracy and the delta b - a. A model is named as it
    was run, by its directory, or by ``repo@sha``; one with no run raises :class:`RunNotFound`."""
    runs = []
    for ref in (a, b):
        run = next((r for c in _candidates(ref) if (r := store.latest_run(c)) is not None), None)
        if run is None:
            raise RunNotFound(
                f"no run of {ref!r} in {store.path}; run `bitagent eval-model {ref}` first "
                f"(--compare names models as they were run, a directory, or a sha: see "
                f"`bitagent runs list`)",
                model=ref,
            )
        runs.append(run)
    sides = []
    for r in runs:
        s = r["summary"] or {}
        sides.append(
            {
                "model": r["model"],
                "model_sha": r["model_sha"],
                "run_id": r["run_id"],
                "status": r["status"],
                "total": s.get("total"),
                "completed": s.get("completed"),
                "summary": s.get("summary", {}),
                "by_suite": s.get("by_suite", {}),
            }
        )
    rows: list[dict[str, Any]] = []
    suites = list(dict.fromkeys([*sides[0]["by_suite"], *sides[1]["by_suite"]]))
    for suite in suites:
        sa, sb = sides[0]["by_suite"].get(suite) or {}, sides[1]["by_suite"].get(suite) or {}
        cats = list(dict.fromkeys([*sa.get("by_category", {}), *sb.get("by_category", {})]))
        for cat in [*cats, "all"]:
            ca = sa.get("by_category", {}).get(cat) if cat != "all" else (sa or None)
            cb = sb.get("by_category", {}).get(cat) if cat != "all" else (sb or None)
            rows.append(_row(suite, cat, ca, cb))
    rows.append(_row("all", "all", sides[0]["summary"] or None, sides[1]["summary"] or None))
    return {"a": sides[0], "b": sides[1], "rows": rows}


def _row(suite: str, cat: str, ca: dict | None, cb: dict | None) -> dict[str, Any]:
    def cell(c: dict | None) -> dict | None:
        return (
            None
            if not c
            else {"tasks": c.get("tasks", 0), "correct": c.get("correct", 0), "accuracy": float(c.get("accuracy", 0.0))}
        )

    a, b = cell(ca), cell(cb)
    return {
        "suite": suite,
        "category": cat,
        "a": a,
        "b": b,
        "delta": None if a is None or b is None else round(b["accuracy"] - a["accuracy"], 6),
    }
