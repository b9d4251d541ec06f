"""`bitagent eval-model`: serve a model, run the task suites, score and report per category (the validator's score).

    bitagent eval-model builtin:tiny --limit 40          # the offline demo: a tiny random model on CPU
    bitagent eval-model builtin:smollm2 --limit 20       # a real 135M instruct model (CPU; vLLM's CPU build too)
    bitagent eval-model Salesforce/xLAM-7b-r              # vLLM on a GPU, else transformers on CPU
    bitagent eval-model my-model --backend endpoint --base-url http://127.0.0.1:8000/v1
    bitagent eval-model ./my-finetune --compare Salesforce/xLAM-7b-r   # or --compare A B

Defaults come from the profile (``eval.*``: suites, limit, seed, concurrency, max_tokens, backend).
Results are cached in ``<data dir>/results.sqlite``: a rerun skips what is done, a killed run resumes.
Exit codes: 0 done, 1 failure (model refused, server failed, no task answered, run cut short), 2 usage,
130 Ctrl-C and 143 SIGTERM (what is answered is stored, the run is marked interrupted, the server is stopped).
Without a terminal on stderr (pm2, CI) a progress line is written there every PROGRESS_EVERY_S (10 s).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._common import (
    EXIT_FAIL,
    EXIT_USAGE,
    CliError,
    Ctx,
    JsonOpt,
    ProfileOpt,
    Terminated,
    VerboseOpt,
    open_context,
    sigterm_as_interrupt,
)

_FAILURES_SHOWN = 10


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


# ---------------------------------------------------------------- rendering
def _short_sha(sha: Any) -> str:
    """A hub sha's first 12 characters; an endpoint's key (``endpoint:NAME@HASH``) shown whole."""
    sha = str(sha or "")
    return sha if sha.startswith("endpoint:") else sha[:12]


def _render_report(console: Console, d: dict[str, Any]) -> None:
    fp = str(d.get("fingerprint") or "")
    console.print(
        f"[bold]{escape(d['model'])}[/bold]  sha {escape(_short_sha(d.get('model_sha')))}  "
        f"backend {d['backend']}"
        + (f"  weights {escape(fp[:16])}" if fp else "")
        + (
            "  tools [yellow]in the prompt (BFCL's prompt mode)[/yellow]"
            if d.get("prompt_mode")
            else "  tools native (the tools field)"
        )
        + (
            f"  generation {escape(str(gen))}"
            if (gen := (d.get("settings") or {}).get("generation")) not in (None, "bitagent")
            else ""
        ),
        soft_wrap=True,
    )
    for name, s in (d.get("by_suite") or {}).items():
        t = Table(title=escape(name), title_justify="left", show_edge=False)
        t.add_column("category")
        t.add_column("tasks", justify="right")
        t.add_column("correct", justify="right")
        t.add_column("accuracy", justify="right")
        for cat, c in s.get("by_category", {}).items():
            t.add_row(escape(cat), str(c["tasks"]), str(c["correct"]), _pct(c["accuracy"]))
        t.add_section()
        t.add_row(
            "[bold]all[/bold]",
            str(s.get("tasks", 0)),
            str(s.get("correct", 0)),
            f"[bold]{_pct(s.get('accuracy', 0.0))}[/bold]",
        )
        console.print(t)
    b = d.get("bfcl_summary")
    if b:
        cols = (
            ("non-live AST", "non_live"),
            ("live AST", "live"),
            ("multi-turn", "multi_turn"),
            ("relevance", "relevance"),
            ("irrelevance", "irrelevance"),
        )
        console.print(
            "BFCL summary: "
            + ", ".join(f"{label} {_pct(b.get(k))}" for label, k in cols)
            + f"; [bold]BFCL v4 overall {_pct(b.get('overall'))}[/bold]"
            + f" (v3 formula, as the validators computed it: {_pct(b.get('overall_v3'))})"
        )
        console.print(f"  {escape(b.get('overall_note') or '')}", style="dim")
    startup = f", server start-up {d['startup_s']} s" if d.get("startup_s") else ""
    cached = (
        f"{d.get('cached')} from the cache (--no-cache asks the model again)"
        if d.get("cached")
        else "none from the cache"
    )
    console.print(
        f"[bold]accuracy {_pct(d.get('accuracy', 0.0))}[/bold] ({d.get('correct')}/{d.get('tasks')})"
        f"  {d.get('completed')}/{d.get('total')} tasks, {cached}, "
        f"{d.get('requests')} requests; {d.get('wall_s')} s in all{startup}",
        soft_wrap=True,
    )
    if d.get("resumed_run"):
        console.print(
            f"resumed interrupted run {escape(str(d['resumed_run']))}: {d.get('cached')} task(s) came "
            f"from its stored answers"
        )
    errors = d.get("errors") or {}
    if errors:
        console.print("failures by kind: " + escape(", ".join(f"{k} {v}" for k, v in errors.items())))
    failures = d.get("failures") or []
    if failures:
        t = Table(
            title=f"first {min(len(failures), _FAILURES_SHOWN)} of {len(failures)} failures "
            f"(all of them: --json or --report)",
            title_justify="left",
            show_edge=False,
        )
        t.add_column("task", overflow="fold")
        t.add_column("error")
        t.add_column("feedback", overflow="fold")
        for f in failures[:_FAILURES_SHOWN]:
            # feedback quotes the model's output: escape it, or `[link=...]` in a function name is markup
            t.add_row(escape(f["id"]), escape(str(f["error"])), escape((f.get("feedback") or "")[:200]))
        console.print(t)
    if d.get("request_errors"):
        console.print(f"[yellow]{d['request_errors']} requests failed[/yellow] (not cached: a rerun tries them again)")


def _render_compare(console: Console, d: dict[str, Any]) -> None:
    a, b = d["a"], d["b"]
    t = Table(show_edge=False)
    t.add_column("suite / category")
    t.add_column(escape(f"A: {a['model']}"), justify="right", overflow="fold")
    t.add_column(escape(f"B: {b['model']}"), justify="right", overflow="fold")
    t.add_column("B - A", justify="right")
    for r in d["rows"]:
        delta = r["delta"]
        colour = "" if delta is None or abs(delta) < 1e-9 else ("green" if delta > 0 else "red")
        dtext = "-" if delta is None else f"{delta * 100:+.1f}"
        if r["category"] == "all":
            t.add_section()
        label = escape(f"{r['suite']} / {r['category']}") if r["suite"] != "all" else "[bold]all[/bold]"
        t.add_row(label, _cell(r["a"]), _cell(r["b"]), f"[{colour}]{dtext}[/{colour}]" if colour else dtext)
    console.print(t)
    for side, run in (("A", a), ("B", b)):
        console.print(
            escape(
                f"{side}: run {run['run_id']} ({run['status']}) sha {_short_sha(run['model_sha'])}, "
                f"{run['completed']}/{run['total']} tasks"
            )
        )


def _cell(c: dict[str, Any] | None) -> str:
    return "-" if c is None else f"{c['accuracy'] * 100:.1f}% ({c['tasks']})"


# ---------------------------------------------------------------- --compare
from ..store.compare import compare_runs  # noqa: E402 - the library function (store/compare.py)

# ---------------------------------------------------------------- the command
#: Seconds between progress lines when stderr is not a terminal (pm2, CI, a pipe).
PROGRESS_EVERY_S = 10.0
_clock = time.monotonic


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def progress_line(p) -> str:
    """One line for logs: done/total, accuracy so far, rate and ETA."""
    pct = 100 * p.done / p.total if p.total else 100.0
    eta = (
        f"ETA {_duration((p.total - p.done) / p.rate)}"
        if p.rate > 0 and p.done < p.total
        else ("done" if p.done >= p.total else "ETA -")
    )
    return (
        f"progress: {p.done}/{p.total} tasks ({pct:.0f}%), accuracy so far {_pct(p.accuracy if p.done else None)}, "
        f"{p.rate:.1f} tasks/s, {eta}"
    )


def _progress_lines(ctx: Ctx, every_s: float | None = None) -> Callable[[Any], None]:
    """A progress callback that writes :func:`progress_line` to stderr at most every ``every_s`` seconds."""
    every = PROGRESS_EVERY_S if every_s is None else every_s
    last = _clock()

    def update(p) -> None:
        nonlocal last
        now = _clock()
        if now - last >= every or p.done >= p.total:  # and the last line, whenever the run ends
            last = now
            sys.stderr.write(progress_line(p) + "\n")
            sys.stderr.flush()

    return update


def _progress_bar(ctx: Ctx):
    """A rich progress bar on stderr (a no-op when stderr is not a terminal) and its callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not ctx.err.is_terminal:
        return None, None
    bar = Progress(
        TextColumn("[bold]evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("acc {task.fields[acc]}"),
        TextColumn("{task.fields[rate]} tasks/s"),
        TimeElapsedColumn(),
        console=ctx.err,
        transient=True,
    )
    task_id = bar.add_task("eval", total=None, acc="-", rate="-")

    def update(p) -> None:
        bar.update(
            task_id, total=p.total, completed=p.done, acc=_pct(p.accuracy if p.done else None), rate=f"{p.rate:.1f}"
        )

    return bar, update


def eval_model_cmd(
    model: Annotated[
        str | None,
        typer.Argument(
            help="Hugging Face id (org/name or org/name@revision), a model directory, builtin:tiny, builtin:smollm2 "
            "(a real 135M instruct model for CPUs), or the served name with --backend endpoint.",
            show_default=False,
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend", "-b", help="auto | vllm | transformers | endpoint (default: eval.backend).", show_default=False
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="OpenAI-compatible URL for --backend endpoint, e.g. http://127.0.0.1:8000/v1.",
            show_default=False,
        ),
    ] = None,
    suite: Annotated[
        list[str] | None,
        typer.Option(
            "--suite",
            "-s",
            help="Task suite (repeatable): bfcl, glaive, bitagent, bfcl-full (default: eval.suites).",
            show_default=False,
        ),
    ] = None,
    category: Annotated[
        list[str] | None,
        typer.Option(
            "--category",
            "-c",
            help="Only this category (repeatable), e.g. simple or live_multiple.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-l",
            help="Tasks per suite, stratified by category (0 = all; default: eval.limit).",
            show_default=False,
            min=0,
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed for --limit.", show_default=False)] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", help="Requests in flight (default: eval.concurrency).", show_default=False, min=1
        ),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens", help="Completion tokens per request (default: eval.max_tokens).", show_default=False, min=1
        ),
    ] = None,
    rules: Annotated[
        str | None,
        typer.Option(
            "--rules",
            help="Scoring rules: bitagent (BFCL's checker with its known flaws fixed, docs/scoring.md) or "
            "bfcl (BFCL's own rules: the leaderboard's verdict). Default: eval.rules.",
            show_default=False,
        ),
    ] = None,
    generation: Annotated[
        str | None,
        typer.Option(
            "--generation",
            help="Generation settings: bitagent (greedy: temperature 0, --max-tokens, default 512) or bfcl "
            "(BFCL's own: temperature 0.001, up to 4,096 tokens; for the number BFCL gives). Default: "
            "eval.generation.",
            show_default=False,
        ),
    ] = None,
    data_parallel: Annotated[
        int | None,
        typer.Option(
            "--data-parallel",
            min=1,
            help="Serve N copies of the model over N GPUs of this box (vLLM's "
            "--data-parallel-size; vllm backend only; default: eval.data_parallel).",
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Ask the model again even for tasks answered before (answers are still stored)."
        ),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write a self-contained HTML report to this file (with --compare: the comparison page).",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            "--compare",
            help="Put the latest stored runs side by side, no evaluation: MODEL --compare OTHER "
            "(B = MODEL, A = OTHER) or --compare A B. Names: `bitagent runs list`.",
            metavar="OTHER",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress (bar on a terminal, a line every 10 s otherwise) and no status lines."
        ),
    ] = False,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Serve a model, run the task suites, score and report per category (the validator's score)."""
    ctx = open_context(
        profile=profile,
        json_out=json_out,
        verbose=verbose,
        overrides={
            "eval.backend": backend,
            "eval.base_url": base_url,
            "eval.suites": list(suite) if suite else None,
            "eval.limit": limit,
            "eval.seed": seed,
            "eval.concurrency": concurrency,
            "eval.max_tokens": max_tokens,
            "eval.rules": rules,
            "eval.generation": generation,
            "eval.data_parallel": data_parallel,
        },
    )
    from ..store.results import ResultStore, default_path

    if compare:
        # `--compare A B` parses as --compare A plus the positional B: both spellings name the same two runs.
        sides = [*compare, *([model] if model else [])]
        if len(sides) != 2:
            raise CliError(
                f"--compare needs two models (MODEL --compare OTHER, or --compare A B); got "
                f"{len(sides)}: {', '.join(sides)}",
                EXIT_USAGE,
            )
        with ResultStore(default_path(ctx.settings)) as store:
            data = compare_runs(store, sides[0], sides[1])
        if report is not None:
            from .report import write_compare_report

            data["report"] = str(write_compare_report(data, report))
            ctx.info(f"comparison page written to {data['report']}")
        ctx.emit(data, lambda c: _render_compare(c, data))
        return
    if not model:
        raise CliError(
            "missing MODEL: pass a Hugging Face id, a model directory or builtin:tiny (or --compare A B)", EXIT_USAGE
        )
    _check_data_parallel(ctx.settings)
    _run(
        ctx,
        model,
        category=list(category) if category else None,
        use_cache=not no_cache,
        report_path=report,
        quiet=quiet,
    )


def _check_data_parallel(settings: Any) -> None:
    """``--data-parallel N`` is vLLM's ``--data-parallel-size``: refused (usage) for any other backend."""
    n = int(settings.get("eval.data_parallel") or 1)
    if n <= 1:
        return
    from ..serving import resolve_backend

    try:
        backend = resolve_backend(str(settings["eval.backend"]), settings.get("eval.base_url") or None)
    except Exception:  # noqa: BLE001 - the run itself reports a backend that cannot be used
        return
    if backend != "vllm":
        raise CliError(
            f"--data-parallel {n} needs the vllm backend (it is vLLM's --data-parallel-size), but "
            f"the backend here is {backend}; add --backend vllm on a machine with {n} GPUs, or drop "
            f"--data-parallel",
            EXIT_USAGE,
        )


def _run(
    ctx: Ctx, model: str, *, category: list[str] | None, use_cache: bool, report_path: Path | None, quiet: bool = False
) -> None:
    from .._evaluate import EvalError, EvalReport, evaluate
    from ..serving import ModelRefused, ServerError

    bar, update = _progress_bar(ctx) if not quiet else (None, None)
    lines = _progress_lines(ctx) if bar is None and not quiet else None
    started = False

    def progress(p) -> None:
        nonlocal started
        if bar is not None and update is not None:
            if not started:
                bar.start()
                started = True
            update(p)
        elif lines is not None:
            lines(p)

    error: EvalError | None = None
    rep: EvalReport | None
    try:
        with sigterm_as_interrupt():  # timeout/systemd/docker's SIGTERM stops the run as Ctrl-C does (exit 143)
            rep = evaluate(
                model,
                settings=ctx.settings,
                category=category,
                use_cache=use_cache,
                progress=progress,
                status=(lambda msg: None) if quiet else ctx.info,
            )
    except EvalError as e:
        error, rep = e, e.report
    except KeyboardInterrupt as e:
        part = getattr(e, "report", None)
        done = f"{len(part.outcomes)} of {part.total} tasks done and stored; " if part is not None else ""
        how = "terminated (SIGTERM)" if isinstance(e, Terminated) else "interrupted"
        ctx.err.print(
            f"{how}: {done}run the same command again to resume", markup=False, highlight=False, soft_wrap=True
        )
        raise
    except ModelRefused as e:
        raise CliError(f"model refused: {e}", EXIT_FAIL) from None
    except ServerError as e:
        log_path = getattr(e, "log_path", None)
        where = f" (log: {log_path})" if log_path and str(log_path) not in str(e) else ""  # the path once
        raise CliError(f"{e}{where}", EXIT_FAIL) from None
    # UnknownSuite, InvalidArgument (usage, exit 2) and other library errors: app.main's table; an internal
    # ValueError is a bug (exit 1), not a usage error
    finally:
        if started and bar is not None:
            bar.stop()
    if rep is None:  # pragma: no cover - EvalError always carries its report
        raise CliError(str(error), EXIT_FAIL)
    data = rep.to_dict()
    if report_path is not None:
        from .report import write_html_report

        data["report"] = str(write_html_report(rep, report_path))
        ctx.info(f"report written to {data['report']}")
    ctx.emit(data, lambda c: _render_report(c, data))
    if error is not None:
        ctx.err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAIL)


def register(app: typer.Typer) -> None:
    app.command("eval-model")(eval_model_cmd)
