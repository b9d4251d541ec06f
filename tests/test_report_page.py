"""The page a miner studies after a run (issue 11): overall figure, BFCL's summary columns, a chart per
suite, failures grouped by kind and expandable, the --compare page, `runs list`; and a real browser render."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import stat
import struct
import sys
from pathlib import Path

import pytest
from test_eval_fakes import FakeOpenAI

from bitagent_cli._evaluate import evaluate, load_tasks
from bitagent_cli.config import load_settings
from bitagent_cli.report import render_compare_html, render_html
from bitagent_cli.scoring.summary import BFCL_COLUMNS, bfcl_columns, bfcl_summary
from bitagent_cli.serving import client as client_mod

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch):
    monkeypatch.setattr(client_mod, "_BACKOFF_S", 0.01)


# ---------------------------------------------------------------- bfcl_summary
def test_bfcl_columns_show_what_ran_and_not_run_columns_as_na():
    cats = {
        "simple": {"tasks": 10, "correct": 10, "accuracy": 1.0},
        "multiple": {"tasks": 30, "correct": 0, "accuracy": 0.0},
        "live_simple": {"tasks": 10, "correct": 10, "accuracy": 1.0},
        "live_multiple": {"tasks": 30, "correct": 0, "accuracy": 0.0},
        "irrelevance": {"tasks": 4, "correct": 4, "accuracy": 1.0},
        "live_irrelevance": {"tasks": 100, "correct": 50, "accuracy": 0.5},
    }
    cols, s = bfcl_columns(cats), bfcl_summary(cats)
    assert cols["non_live"]["categories"] == ["simple", "multiple"] and cols["non_live"]["tasks"] == 40
    assert cols["irrelevance"]["accuracy"] == s["irrelevance"] == 0.75  # mean of 1.0 and 0.5, not weighted
    assert cols["live"]["accuracy"] == s["live"] and 0 < s["live"] < 1
    assert cols["relevance"] == {"accuracy": None, "tasks": 0, "categories": []}  # not run: N/A, not 0
    assert cols["multi_turn"]["accuracy"] is None
    cols = bfcl_columns(
        {
            "multi_turn_base": {"tasks": 2, "correct": 1, "accuracy": 0.5},
            "multi_turn_miss_func": {"tasks": 2, "correct": 2, "accuracy": 1.0},
        }
    )
    assert cols["multi_turn"]["categories"] == ["multi_turn_base", "multi_turn_miss_func"]
    assert cols["non_live"]["accuracy"] is None


# ---------------------------------------------------------------- the run's page
@pytest.fixture(scope="module")
def report(tmp_path_factory):
    items = load_tasks(["bfcl"], limit=24)
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], lambda t: t.category in ("simple", "live_multiple"))
        return evaluate(
            srv.model,
            settings=load_settings("local"),
            backend="endpoint",
            base_url=srv.base_url,
            suites=["bfcl"],
            limit=24,
            store=tmp_path_factory.mktemp("store") / "r.sqlite",
        )


def test_overall_figure_and_bfcl_columns(report):
    page = render_html(report)
    assert f"{report.accuracy * 100:.1f}%" in page and "accuracy, all tasks" in page
    cols = bfcl_columns(report.by_suite["bfcl"]["by_category"])
    for key in ("non_live", "live", "relevance", "irrelevance"):
        label = BFCL_COLUMNS[key]
        acc = cols[key]["accuracy"]
        shown = "N/A" if acc is None else f"{acc * 100:.1f}%"
        assert re.search(
            rf"<div class=label>{re.escape(html.escape(label))}</div><div class=value>"
            rf"{re.escape(shown)}</div>",
            page,
        ), label


def test_one_svg_chart_per_suite_with_a_bar_per_category(report):
    page = render_html(report)
    charts = re.findall(r"<svg class=chart.*?</svg>", page, re.DOTALL)
    assert len(charts) == len(report.by_suite) == 1
    cats = report.by_suite["bfcl"]["by_category"]
    assert len(re.findall(r"<rect [^>]*fill='#(?:cf222e|d4a72c|2da44e)'", charts[0])) == len(cats)
    for cat, c in cats.items():
        assert f"<title>{cat}: {c['accuracy'] * 100:.1f}%</title>" in charts[0]


def test_failures_grouped_by_kind_with_counts_and_details(report):
    page = render_html(report)
    groups = {
        k: int(n) for k, n in re.findall(r"<details class=group><summary>([^<]+)<span class=count>(\d+)</span>", page)
    }
    want: dict[str, int] = {}
    for f in report.failures():
        want[f["error"] or "wrong_answer"] = want.get(f["error"] or "wrong_answer", 0) + 1
    assert groups == want and sum(groups.values()) == len(report.failures()) > 0
    assert page.count("<details class=fail>") == len(report.failures())
    f = report.failures()[0]
    task = report.task_index[(f["suite"], f["id"])]
    assert html.escape(task.messages[0]["content"]) in page  # the prompt
    assert html.escape(json.dumps(task.tools[0].name)) in page  # the tools offered
    assert "expected call" in page and "raw output" in page and "wrong_fn" in page


def test_no_expected_answers_without_details(report):
    page = render_html(report, details=False)
    assert "expected call" not in page and "prompt</div>" not in page
    assert page.count("<details class=fail>") == len(report.failures())  # still listed, with output


def test_a_partial_run_says_so_beside_the_figure():
    page = render_html(
        {
            "model": "m",
            "status": "error",
            "error": "server died",
            "accuracy": 1.0,
            "correct": 4,
            "tasks": 4,
            "completed": 4,
            "total": 10,
            "by_suite": {},
            "failures": [],
        }
    )
    assert "4 of 4 correct; only 4 of 10 tasks run" in page and "run error: server died" in page


def test_report_dict_renders_without_task_details():
    page = render_html(
        {
            "model": "m",
            "status": "ok",
            "accuracy": 0.5,
            "correct": 1,
            "tasks": 2,
            "by_suite": {
                "glaive": {
                    "tasks": 2,
                    "correct": 1,
                    "accuracy": 0.5,
                    "by_category": {"simple": {"tasks": 2, "correct": 1, "accuracy": 0.5}},
                }
            },
            "failures": [
                {
                    "suite": "glaive",
                    "id": "g/1",
                    "category": "simple",
                    "error": "no_call",
                    "feedback": "<b>",
                    "output": "x",
                }
            ],
        }
    )
    assert "Non-Live" not in page  # no bfcl suite: no BFCL columns
    assert "&lt;b&gt;" in page and "expected call" not in page


# ---------------------------------------------------------------- CLI: --compare, its page, runs list
def _run_model(run_cli, name: str, items, good) -> None:
    with FakeOpenAI(model=name) as srv:
        srv.teach([it.task for it in items], good)
        code, _out, err = run_cli(
            "eval-model",
            name,
            "--backend",
            "endpoint",
            "--base-url",
            srv.base_url,
            "--suite",
            "bfcl",
            "--limit",
            "12",
            "--json",
        )
        assert code == 0, err


def test_compare_as_the_readme_shows_it_and_its_page(run_cli, tmp_path):
    items = load_tasks(["bfcl"], limit=12)
    _run_model(run_cli, "model-a", items, lambda t: t.category == "simple")
    _run_model(run_cli, "model-b", items, True)
    c1, out1, err1 = run_cli("eval-model", "model-b", "--compare", "model-a", "--json")
    c2, out2, err2 = run_cli("eval-model", "--compare", "model-a", "model-b", "--json")
    assert c1 == 0 and c2 == 0, (err1, err2)
    d1, d2 = json.loads(out1), json.loads(out2)
    assert d1["a"]["model"] == d2["a"]["model"] == "model-a" and d1["b"]["model"] == "model-b"
    assert d1["rows"] == d2["rows"]
    page_path = tmp_path / "cmp" / "compare.html"
    code, out, err = run_cli("eval-model", "model-b", "--compare", "model-a", "--report", str(page_path), "--json")
    assert code == 0, err
    assert json.loads(out)["report"] == str(page_path)
    page = page_path.read_text()
    assert "model-a" in page and "model-b" in page and "<script" not in page and "default-src 'none'" in page
    for r in d1["rows"]:
        if r["delta"] is not None and r["suite"] != "all":
            assert f"{r['delta'] * 100:+.1f}</span>" in page
    assert render_compare_html(d1).count("<tr>") >= len(d1["rows"])
    assert stat.S_IMODE(os.stat(page_path).st_mode) & 0o044 == 0o044  # readable: a page is meant to be opened


def test_runs_list(run_cli):
    code, out, err = run_cli("runs", "list", "--json")
    assert code == 0, err
    assert json.loads(out)["runs"] == []
    items = load_tasks(["bfcl"], limit=12)
    _run_model(run_cli, "model-a", items, True)
    code, out, err = run_cli("runs", "list", "--json")
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert len(runs) == 1
    r = runs[0]
    assert r["model"] == "model-a" and r["suites"] == ["bfcl"] and r["accuracy"] == 1.0 and r["status"] == "ok"
    assert r["model_sha"] == "endpoint:model-a" or r["model_sha"].startswith("endpoint:")
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$", r["date"])
    code, out, err = run_cli("runs", "list")
    assert code == 0 and "model-a" in out and "100.0%" in out


def test_html_report_file_is_readable(run_cli, tmp_path):
    items = load_tasks(["bfcl"], limit=12)
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        code, _out, err = run_cli(
            "eval-model",
            srv.model,
            "--backend",
            "endpoint",
            "--base-url",
            srv.base_url,
            "--suite",
            "bfcl",
            "--limit",
            "12",
            "--report",
            str(tmp_path / "r.html"),
        )
    assert code == 0, err
    assert stat.S_IMODE(os.stat(tmp_path / "r.html").st_mode) & 0o044 == 0o044  # not 0600


# ---------------------------------------------------------------- a real browser
def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.slow
@pytest.mark.skipif(
    not (
        os.environ.get("CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    ),
    reason="chromium is not installed",
)
def test_chromium_renders_the_report_at_desktop_and_phone_widths(report, tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import screenshot_report
    finally:
        sys.path.pop(0)
    from bitagent_cli.report import write_html_report

    page = write_html_report(report, tmp_path / "report.html")
    assert screenshot_report.main([str(page), "--out", str(tmp_path / "shots"), "--height", "900"]) == 0
    for w in (1280, 390):
        png = tmp_path / "shots" / f"report-{w}.png"
        assert _png_size(png) == (w, 900)
        assert png.stat().st_size > 10_000  # something was drawn, not a blank page
