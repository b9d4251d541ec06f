"""`bitagent runs list`: the evaluations stored in the results cache (names for `eval-model --compare`)."""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ._common import JsonOpt, ProfileOpt, VerboseOpt, open_context

runs_app = typer.Typer(help="List the evaluations stored in the results cache.", no_args_is_help=True)


def list_runs(store: Any, *, model: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The stored runs, newest first, as rows: run_id, model, sha, suites, date, status, accuracy, tasks."""
    out = []
    for r in store.runs(model, limit=limit):
        s = (r.get("summary") or {}).get("summary") or {}
        started = r.get("started_at")
        out.append(
            {
                "run_id": r["run_id"],
                "model": r["model"],
                "model_sha": r["model_sha"],
                "suites": [x.get("name") if isinstance(x, dict) else str(x) for x in (r.get("suites") or [])],
                "date": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
                if started
                else None,
                "status": r["status"],
                "accuracy": s.get("accuracy"),
                "tasks": s.get("tasks"),
                "correct": s.get("correct"),
            }
        )
    return out


@runs_app.command("list")
def list_cmd(
    model: Annotated[
        str | None, typer.Argument(help="Only the runs of this model (name as run, or sha).", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-l", min=1, help="Newest N runs.")] = 50,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """List stored evaluation runs, newest first: model, sha, suites, date, status, accuracy."""
    ctx = open_context(profile=profile, json_out=json_out, verbose=verbose)
    from ..store.results import ResultStore, default_path

    path = default_path(ctx.settings)
    if path.exists():
        with ResultStore(path) as store:
            rows = list_runs(store, model=model, limit=limit)
    else:
        rows = []

    def render(console) -> None:
        if not rows:
            console.print(f"no runs stored in {escape(str(path))} yet; run `bitagent eval-model MODEL` first")
            return
        t = Table(show_edge=False)
        for col in ("date", "model", "sha", "suites", "status", "accuracy"):
            t.add_column(col, justify="right" if col == "accuracy" else "left", overflow="fold")
        for r in rows:
            acc = "-" if r["accuracy"] is None else f"{r['accuracy'] * 100:.1f}% ({r['correct']}/{r['tasks']})"
            t.add_row(
                r["date"] or "-",
                escape(r["model"]),
                escape(str(r["model_sha"])[:12]),
                escape(",".join(r["suites"])),
                r["status"],
                acc,
            )
        console.print(t)
        console.print("compare two: bitagent eval-model MODEL --compare OTHER")

    ctx.emit({"ok": True, "store": str(path), "runs": rows}, render)


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
