"""`bitagent score`: Score a file of responses against a file of tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._common import EXIT_FAIL, EXIT_USAGE, CliError, JsonOpt, ProfileOpt, VerboseOpt, open_context

TasksOpt = Annotated[
    Path,
    typer.Option(
        "--tasks",
        "-t",
        help="Tasks JSONL file (docs/task-format.md; .gz accepted), e.g. from `bitagent tasks export`.",
        show_default=False,
    ),
]
ResponsesOpt = Annotated[
    Path,
    typer.Option(
        "--responses",
        "-r",
        help='Responses JSONL file: one {"id", "response" and/or "tool_calls"} a line.',
        show_default=False,
    ),
]
#: Rejected lines printed as warnings; the rest are counted (--json has them all).
MAX_WARNINGS = 20

FailuresOpt = Annotated[
    int, typer.Option("--failures", help="How many failures to list under the table (0 = none).", min=0)
]
RulesOpt = Annotated[
    str | None,
    typer.Option(
        "--rules",
        help="bitagent (BFCL's checker with its known flaws fixed, docs/scoring.md) or bfcl (BFCL's own "
        "rules: the leaderboard's verdict). Default: eval.rules.",
        show_default=False,
    ),
]

UnderscoreOpt = Annotated[
    bool | None,
    typer.Option(
        "--underscore-to-dot/--no-underscore-to-dot",
        help="With --rules bfcl: BFCL's underscore_to_dot, on for FC models of APIs that forbid '.' in function "
        "names (OpenAI-, Mistral-, Google-style): math_factorial is then right for math.factorial and the dotted "
        "name wrong; off, the other way round. The default rules accept both. Default: eval.underscore_to_dot.",
        show_default=False,
    ),
]


def score_cmd(
    tasks: TasksOpt,
    responses: ResponsesOpt,
    failures: FailuresOpt = 10,
    rules: RulesOpt = None,
    underscore_to_dot: UnderscoreOpt = None,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Score a file of responses against a file of tasks.

    Prints accuracy per category and the first failures with their error code and feedback (-v: all of them).

    With --json: the contract's object {"summary", "results", "errors", "unknown_ids"} (docs/task-format.md).

    Exit 0 when scoring ran (whatever the accuracy), 1 when a file cannot be read or holds no task, 2 for bad
    usage.
    """
    ctx = open_context(
        profile=profile,
        json_out=json_out,
        verbose=verbose,
        overrides={"eval.rules": rules, "eval.underscore_to_dot": underscore_to_dot},
    )
    from ..scoring import ScoreFileError, score_files

    rules_used = ctx.settings["eval.rules"]
    u2d = bool(ctx.settings["eval.underscore_to_dot"])
    if u2d and rules_used != "bfcl" and underscore_to_dot:
        raise CliError(
            "--underscore-to-dot is a setting of BFCL's rules; add --rules bfcl (the default rules accept both "
            "spellings of a dotted name)",
            EXIT_USAGE,
        )
    try:
        report = score_files(tasks, responses, rules=rules_used, underscore_to_dot=u2d)
    except ScoreFileError as e:
        raise CliError(str(e), EXIT_FAIL) from None
    if report["summary"]["tasks"] == 0:
        bad = [e for e in report["errors"] if e["path"] == str(tasks)]
        why = (
            f"{len(bad)} line(s) rejected, the first: line {bad[0]['line']}: {bad[0]['message']}"
            if bad
            else "it is empty"
        )
        raise CliError(
            f"no task was read from {tasks} ({why}); --tasks takes a task file "
            f"(docs/task-format.md, e.g. from `bitagent tasks export`) and --responses the answers: "
            f"are they swapped?",
            EXIT_FAIL,
        )
    if not ctx.json:
        errors = report["errors"]
        for err in errors[:MAX_WARNINGS]:
            ctx.err.print(
                f"[yellow]warning:[/yellow] {escape(err['path'])}:{err['line']}: {escape(err['message'])}",
                soft_wrap=True,
            )
        if len(errors) > MAX_WARNINGS:
            ctx.err.print(
                f"[yellow]warning:[/yellow] {len(errors) - MAX_WARNINGS} more rejected line(s) not shown "
                f"({len(errors)} in all; --json lists every one)",
                soft_wrap=True,
            )
        if report["unknown_ids"]:
            ids = report["unknown_ids"]
            shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
            ctx.err.print(
                f"[yellow]warning:[/yellow] {len(ids)} response(s) match no task and were not scored: {escape(shown)}"
            )
    ctx.emit(report, lambda console: _render(console, report, failures, verbose))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _render(console: Console, report: dict[str, Any], failures: int, verbose: int) -> None:
    s = report["summary"]
    table = Table(title="Scores by category", title_justify="left")
    table.add_column("category")
    table.add_column("tasks", justify="right")
    table.add_column("correct", justify="right")
    table.add_column("accuracy", justify="right")
    for cat, c in s["by_category"].items():
        table.add_row(cat, str(c["tasks"]), str(c["correct"]), _pct(c["accuracy"]))
    table.add_section()
    table.add_row("[bold]all[/bold]", str(s["tasks"]), str(s["correct"]), f"[bold]{_pct(s['accuracy'])}[/bold]")
    console.print(table)
    if s["errors"]:
        console.print("errors: " + ", ".join(f"{k} {v}" for k, v in s["errors"].items()))
    failed = [r for r in report["results"] if not r["correct"]]
    limit = len(failed) if verbose else failures
    if failed and limit:
        ft = Table(title=f"Failures (first {min(limit, len(failed))} of {len(failed)})", title_justify="left")
        ft.add_column("id", overflow="fold")
        ft.add_column("error")
        ft.add_column("feedback", overflow="fold")
        for r in failed[:limit]:
            ft.add_row(escape(r["id"]), r["error"] or "", escape(r["feedback"]))
        console.print(ft)


def register(app: typer.Typer) -> None:
    app.command("score")(score_cmd)
