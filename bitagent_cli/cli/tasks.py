"""`bitagent tasks list|export`: the shipped suites (and Hugging Face datasets) as JSONL task files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import EXIT_FAIL, EXIT_USAGE, CliError, JsonOpt, ProfileOpt, VerboseOpt, open_context

tasks_app = typer.Typer(
    help="List and export task suites (JSONL in the format of docs/task-format.md).", no_args_is_help=True
)


@tasks_app.command("list")
def list_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """List suites, their categories, task counts and content hashes."""
    from ..tasks.suites import list_suites

    ctx = open_context(profile=profile, json_out=json_out, verbose=verbose)
    suites = list_suites()

    def render(console):
        t = Table(title="task suites")
        t.add_column("suite", no_wrap=True)
        t.add_column("tasks", justify="right")
        t.add_column("hash", no_wrap=True)
        t.add_column("categories")  # multi_turn_long_context folds on an 80-column terminal
        t.add_column("license", no_wrap=True)
        for s in suites:
            cats = "\n".join(f"{c} {n}" for c, n in s.categories.items())
            t.add_row(s.name, str(s.count), s.hash, cats, s.license)
        console.print(t)
        console.print("Export one with: bitagent tasks export --suite NAME [--category C] [--limit N] --out FILE")

    ctx.emit({"suites": [s.to_dict() for s in suites]}, render)


@tasks_app.command("export")
def export_cmd(
    out: Annotated[
        str, typer.Option("--out", "-o", help="Output JSONL file ('-' = stdout; .gz = gzip).", show_default=False)
    ],
    suite: Annotated[
        str | None, typer.Option("--suite", "-s", help="Suite: bfcl, glaive or bitagent.", show_default=False)
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(
            "--category",
            "-c",
            help="Only these categories (repeat or comma-separate), e.g. simple,live_simple.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-l",
            min=0,
            show_default=False,
            help="At most N tasks, sampled across categories (0 = all, as in eval-model).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --limit sample.")] = 0,
    hf: Annotated[
        str | None,
        typer.Option(
            "--hf",
            help="Instead of --suite: a Hugging Face dataset (e.g. glaiveai/glaive-function-calling-v2) or a "
            "local .json/.jsonl file in one of its formats (with --limit: its first N tasks); needs the \\[data] "
            "extra.",
            show_default=False,
        ),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Dataset split for --hf.")] = "train",
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Write a suite (or part of it) as a JSONL task file that `bitagent score` reads."""
    from ..tasks.io import write_tasks
    from ..tasks.suites import (
        UnknownCategory,
        UnknownSuite,
        load_suite,
        sample_tasks,
        select_categories,
        suite_hash,
    )

    ctx = open_context(profile=profile, json_out=json_out, verbose=verbose)
    limit = limit or None  # 0 = all, as eval-model's --limit
    if (suite is None) == (hf is None):
        raise CliError(
            "give exactly one of --suite NAME (bfcl, glaive, bitagent, bfcl-full) or --hf DATASET", EXIT_USAGE
        )
    try:
        if suite is not None:
            tasks = load_suite(suite, category=category, limit=limit, seed=seed)
            source = suite
        else:
            assert hf is not None  # exactly one of --suite/--hf: checked above
            from ..tasks.hf import DatasetsUnavailable, load_hf_tasks

            try:
                # sample from the whole set when a limit is asked for with categories: read all of it
                pool = load_hf_tasks(hf, split=split, limit=None if category else limit)
            except DatasetsUnavailable as e:
                raise CliError(str(e), EXIT_FAIL) from None
            except Exception as e:  # noqa: BLE001 - network, auth, missing dataset: one line
                raise CliError(
                    f"could not load dataset {hf!r}: {type(e).__name__}: {e}".splitlines()[0], EXIT_FAIL
                ) from None
            tasks = sample_tasks(select_categories(pool, category, suite=hf), limit, seed)
            source = hf
    except (UnknownSuite, UnknownCategory) as e:
        raise CliError(str(e), EXIT_USAGE) from None

    cats: dict[str, int] = {}
    for t in tasks:
        cats[t.category] = cats.get(t.category, 0) + 1
    digest = suite_hash(tasks)
    if out == "-":
        from ..tasks.io import dump_task_line

        for t in tasks:
            sys.stdout.write(dump_task_line(t) + "\n")
        sys.stdout.flush()
    else:
        try:
            write_tasks(out, tasks)
        except OSError as e:
            raise CliError(f"cannot write {out}: {e.strerror or e}; choose a writable --out path", EXIT_FAIL) from None
    result = {
        "ok": True,
        "source": source,
        "out": out if out == "-" else str(Path(out)),
        "tasks": len(tasks),
        "categories": cats,
        "hash": digest,
        "seed": seed,
        "limit": limit,
    }
    if out == "-":  # stdout carries the tasks: the summary goes to stderr
        ctx.err.print(f"{len(tasks)} tasks from {source}, hash {digest}")
        return

    def render(console):
        parts = ", ".join(f"{c} {n}" for c, n in cats.items())
        console.print(f"wrote {len(tasks)} tasks from {source} to {out} ({parts}); hash {digest}")

    ctx.emit(result, render)


def register(app: typer.Typer) -> None:
    app.add_typer(tasks_app, name="tasks")
