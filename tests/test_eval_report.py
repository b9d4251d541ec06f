"""The HTML report: self-contained, a bar per category, and hostile model output shown, never run."""

from __future__ import annotations

import html
import re

import pytest
from test_eval_fakes import FakeOpenAI, _key_of_task

from bitagent_cli._evaluate import evaluate, load_tasks
from bitagent_cli.config import load_settings
from bitagent_cli.report import render_html, write_html_report

HOSTILE = (
    '</pre></td></tr></table><script>alert("x")</script><img src=x onerror="alert(1)">'
    '<a href="javascript:alert(2)">click</a><style>body{display:none}</style>&amp;'
)


@pytest.fixture
def report():
    items = load_tasks(["bfcl", "glaive"], limit=8)
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], lambda t: t.category != "live_multiple")
        for it in items[:3]:
            srv.answers[_key_of_task(it.task)] = HOSTILE
        return evaluate(
            srv.model,
            settings=load_settings("local"),
            backend="endpoint",
            base_url=srv.base_url,
            suites=["bfcl", "glaive"],
            limit=8,
        )


def test_hostile_output_is_escaped(report, tmp_path):
    path = write_html_report(report, tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    tags = set(re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", page))
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "p",
        "table",
        "tr",
        "th",
        "td",
        "div",
        "span",
        "pre",
        "details",
        "summary",
        "code",
        "svg",
        "rect",
        "text",
        "line",
    }, tags
    # ... no script, img, a... from the model
    assert page.count("<style>") == 1  # only our own stylesheet
    assert not re.search(r"<[^>]*\son\w+\s*=", page)  # no event handler attribute in any real tag
    assert html.escape(HOSTILE, quote=True) in page  # shown, as text
    assert "default-src 'none'" in page  # and a CSP that forbids scripts even if one slipped through


def test_self_contained_with_a_bar_per_category(report):
    page = render_html(report)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no external asset
    for suite, summary in report.by_suite.items():
        assert f"<h2>{suite}: " in page
        for cat, c in summary["by_category"].items():  # one bar of the suite's SVG chart per category
            assert f"<title>{cat}: {c['accuracy'] * 100:.1f}%</title>" in page
    assert f"Failures ({len(report.failures())})" in page
    for f in report.failures():
        assert html.escape(f["id"]) in page


def test_renders_a_partial_report_dict():
    d = {
        "model": "<m>",
        "status": "error",
        "error": "server <died>",
        "suites": [],
        "by_suite": {},
        "failures": [],
        "settings": {},
    }
    page = render_html(d)
    assert "&lt;m&gt;" in page and "server &lt;died&gt;" in page and "None." in page
