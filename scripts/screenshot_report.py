#!/usr/bin/env python3
"""Render an eval-model HTML report in headless Chromium at desktop (1280 px) and phone (390 px) widths.

    python scripts/screenshot_report.py report.html --out shots/        # a report you wrote with --report
    python scripts/screenshot_report.py --demo --out shots/             # a demo report (real tasks, real
                                                                        # scorer, made-up answers; no server)
    python scripts/screenshot_report.py --demo-compare --out shots/     # the --compare page

Writes ``<name>-1280.png`` and ``<name>-390.png`` into ``--out``. Needs ``chromium`` (Debian:
``apt-get install chromium``) or ``$CHROMIUM``. Exit 0 when both screenshots were written, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

WIDTHS = (1280, 390)


def find_chromium() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(
    html_path: Path, out_png: Path, *, width: int, height: int, chromium: str, timeout_s: float = 60.0
) -> None:
    """One PNG of ``html_path`` at ``width`` x ``height`` CSS px (raises on failure)."""
    out_png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bitagent-chromium-") as profile:
        cmd = [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--force-device-scale-factor=1",
            f"--window-size={width},{height}",
            f"--screenshot={out_png}",
            html_path.resolve().as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if not out_png.is_file() or out_png.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-500:]}")


def demo_report(n_per_suite: int = 48, seed: int = 1):
    """An EvalReport built from real tasks and the real scorer, with made-up answers (about 60% right)."""
    import time

    from bitagent_cli._evaluate import EvalReport, TaskOutcome, _summarise_into, load_tasks
    from bitagent_cli.scoring import Response, first_acceptable, score_task
    from bitagent_cli.tasks.suites import suite_info

    rng = random.Random(seed)
    items = load_tasks(["bfcl", "glaive"], limit=n_per_suite, seed=seed)
    outcomes = []
    for it in items:
        r = rng.random()
        if r < 0.6:
            calls = [c.to_openai(f"call_{i}") for i, c in enumerate(first_acceptable(it.task))]
            text = None if calls else "None of the functions fits."
        elif r < 0.8:
            calls, text = [{"id": "c", "type": "function", "function": {"name": "wrong_fn", "arguments": "{}"}}], None
        elif r < 0.9:
            calls, text = None, "I think you should call the API <script>alert(1)</script> yourself."
        else:
            tools = it.task.tools
            calls = [
                {
                    "id": "c",
                    "type": "function",
                    "function": {"name": tools[0].name if tools else "f", "arguments": '{"unexpected": 1}'},
                }
            ]
            text = None
        res = score_task(it.task, Response(it.task.id, text, calls))
        outcomes.append(
            TaskOutcome(
                it.suite,
                it.task.id,
                it.task.category,
                bool(res.correct),
                float(res.score),
                res.error,
                res.feedback,
                rng.uniform(0.1, 2),
                False,
                text,
                calls,
                None,
                res,
            )
        )
    names = list(dict.fromkeys(it.suite for it in items))
    rep = EvalReport(
        model="org/demo-model-7b",
        model_sha="0123456789abcdef0123456789abcdef01234567",
        backend="vllm",
        suites=[
            {"name": n, "hash": suite_info(n).hash, "tasks": sum(1 for it in items if it.suite == n)} for n in names
        ],
        settings={"temperature": 0.0, "max_tokens": 512, "concurrency": 64},
        settings_hash="demo",
        total=len(items),
        started_at=time.time() - 143,
        finished_at=time.time(),
        requests=len(items),
        run_id="demo",
        task_index={(it.suite, it.task.id): it.task for it in items},
    )
    _summarise_into(rep, outcomes, items)
    return rep


def demo_compare():
    from bitagent_cli.cli.eval_model import _row

    a, b = demo_report(seed=1), demo_report(seed=2)
    b.model = "org/my-finetune"
    sides = []
    for r in (a, b):
        sides.append(
            {
                "model": r.model,
                "model_sha": r.model_sha,
                "run_id": r.run_id,
                "status": r.status,
                "total": r.total,
                "completed": len(r.outcomes),
                "summary": r.summary,
                "by_suite": r.by_suite,
            }
        )
    rows = []
    for suite in sides[0]["by_suite"]:
        sa, sb = sides[0]["by_suite"][suite], sides[1]["by_suite"].get(suite) or {}
        cats = list(dict.fromkeys([*sa["by_category"], *sb.get("by_category", {})]))
        for cat in cats:
            rows.append(_row(suite, cat, sa["by_category"].get(cat), sb.get("by_category", {}).get(cat)))
        rows.append(_row(suite, "all", sa, sb))
    rows.append(_row("all", "all", sides[0]["summary"], sides[1]["summary"]))
    return {"a": sides[0], "b": sides[1], "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("report", nargs="?", type=Path, help="HTML report to render")
    ap.add_argument("--demo", action="store_true", help="render a demo run report instead")
    ap.add_argument("--demo-compare", action="store_true", help="render a demo --compare page instead")
    ap.add_argument("--out", type=Path, default=Path("."), help="directory for the PNGs (default: .)")
    ap.add_argument("--height", type=int, default=2400, help="window height in px (default 2400)")
    args = ap.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("error: chromium not found; install it (apt-get install chromium) or set $CHROMIUM", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    if args.demo or args.demo_compare:
        from bitagent_cli.report import write_compare_report, write_html_report

        path = args.out / ("demo-compare.html" if args.demo_compare else "demo-report.html")
        if args.demo_compare:
            write_compare_report(demo_compare(), path)
        else:
            write_html_report(demo_report(), path)
    elif args.report is not None:
        path = args.report
    else:
        ap.error("give a REPORT.html, --demo or --demo-compare")
    for w in WIDTHS:
        png = args.out / f"{path.stem}-{w}.png"
        try:
            screenshot(path, png, width=w, height=args.height, chromium=chromium)
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
