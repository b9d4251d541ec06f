"""``eval-model --report FILE.html``: one self-contained HTML page a miner studies after a run.

- the overall figure (accuracy over every task: the validator's offline score) and BFCL's own summary
  columns (Non-Live AST / Live / Multi-Turn / Relevance / Irrelevance, see ``scoring.summary``);
- an inline-SVG bar chart per suite, one bar per category, with the suite's overall accuracy marked;
- the failures grouped by error kind with counts; each failure opens (``<details>``) to the prompt, the
  tools offered, the expected call and the model's raw output. Expected answers are shown only for
  local runs (``details=True``, what ``eval-model`` writes); a validator never shows them to miners;
- the run's facts (settings, sha, cache use).

``render_compare_html`` is the page ``eval-model --compare A B --report FILE`` writes: both runs' overall
figures and BFCL columns, and every category side by side with the delta.

No scripts, no external assets, and a Content-Security-Policy that forbids both. Everything that comes from a
model, a task or a path goes through ``html.escape``: model output is hostile (``</td><script>``...), and the
page must show it, not run it. The file is written 0644 (a report is meant to be opened and shared).
"""

from __future__ import annotations

import html
import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..scoring.summary import BFCL_COLUMNS, bfcl_columns, bfcl_summary

__all__ = ["render_compare_html", "render_html", "write_compare_report", "write_html_report"]

#: Failures shown with their full details (prompt, tools, expected, output); the rest are listed by id.
MAX_DETAILED_FAILURES = 300
#: Characters of each detail block (prompt, tools, output) kept.
MAX_DETAIL_CHARS = 6000
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;
color:#1b1f24;padding:1.5rem 1rem 3rem;background:#fff}
h1{font-size:1.5rem;margin:0 0 .2rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:2.2rem 0 .6rem;padding-bottom:.25rem;border-bottom:1px solid #d0d7de}
h3{font-size:1rem;margin:1rem 0 .3rem}
.muted{color:#57606a}.small{font-size:.85rem}
.err{color:#b42318;font-weight:600;background:#fff1f0;border:1px solid #ffccc7;padding:.5rem .75rem;border-radius:6px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.6rem;margin:1rem 0}
.card{border:1px solid #d0d7de;border-radius:8px;padding:.6rem .8rem;background:#f6f8fa}
.card .label{font-size:.8rem;color:#57606a;text-transform:uppercase;letter-spacing:.03em}
.card .value{font-size:1.6rem;font-weight:650;font-variant-numeric:tabular-nums}
.card .sub{font-size:.8rem;color:#57606a}
.card.main{background:#0969da;border-color:#0969da;color:#fff}
.card.main .label,.card.main .sub{color:#dbeafe}
.card.na .value{color:#8c959f}
.pos{color:#1a7f37}.neg{color:#cf222e}
.chart{width:100%;display:block;margin:.3rem 0 1rem}
.chart text{font:13px system-ui,-apple-system,Segoe UI,Roboto,sans-serif;fill:#1b1f24}
.chart .pct{font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
.cmp td:first-child,.cmp th:first-child{overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.facts td:first-child{color:#57606a;width:1%;white-space:nowrap}
.facts td{overflow-wrap:anywhere}
details{margin:.3rem 0}
details.group{border:1px solid #d0d7de;border-radius:8px;padding:.2rem .8rem;margin:.6rem 0}
details.group>summary{font-weight:600;cursor:pointer;padding:.35rem 0}
details.fail{border-top:1px solid #eaeef2;padding:.25rem 0}
details.fail>summary{cursor:pointer;overflow-wrap:anywhere}
.count{display:inline-block;min-width:2rem;text-align:center;background:#cf222e;color:#fff;border-radius:1rem;
padding:0 .5rem;font-size:.8rem;margin-left:.4rem}
.kv{display:grid;grid-template-columns:9rem 1fr;gap:.3rem .8rem;margin:.4rem 0 .6rem}
.kv>div:nth-child(odd){color:#57606a;font-size:.85rem}
.kv>div{min-width:0}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;max-height:18rem;overflow:auto;
font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:.4rem;border-radius:4px}
@media (max-width:600px){body{padding:1rem .6rem 2rem;font-size:14px}.card .value{font-size:1.3rem}
.kv{grid-template-columns:1fr}
.bars,.cnt{display:none}th,td{padding:.3rem .3rem}}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _pct(x: float | None, digits: int = 1) -> str:
    return "N/A" if x is None else f"{x * 100:.{digits}f}%"


def _clip(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"


def _colour(acc: float) -> str:
    return "#cf222e" if acc < 0.4 else "#d4a72c" if acc < 0.7 else "#2da44e"


def _page(title: str, body: Iterable[str]) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f'<meta http-equiv=Content-Security-Policy content="{_CSP}">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>" + "".join(body) + "</body></html>\n"
    )


# ---------------------------------------------------------------- pieces
def _card(label: str, value: str, sub: str = "", cls: str = "") -> str:
    return (
        f"<div class='card {cls}'><div class=label>{_e(label)}</div><div class=value>{_e(value)}</div>"
        f"<div class=sub>{_e(sub)}</div></div>"
    )


def _bfcl_suite(by_suite: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The per-category results of the run's BFCL suite (``bfcl-full`` first, else ``bfcl``); None if neither ran."""
    s = by_suite.get("bfcl-full") or by_suite.get("bfcl")
    return (s or {}).get("by_category") or None


def _bfcl_cards(by_category: Mapping[str, Any]) -> list[str]:
    overall = bfcl_summary(by_category)
    cards = [_card("BFCL v4 overall", _pct(overall.get("overall")), overall.get("overall_note") or "")]
    for key, col in bfcl_columns(by_category).items():
        acc = col["accuracy"]
        sub = (
            (f"{col['tasks']} task{'s' if col['tasks'] != 1 else ''}: " + ", ".join(col["categories"]))
            if acc is not None
            else "not in this run"
        )
        cards.append(_card(BFCL_COLUMNS.get(key, key), _pct(acc), sub, "na" if acc is None else ""))
    return cards


def bar_chart(by_category: Mapping[str, Mapping[str, Any]], overall: float | None = None, *, label: str = "") -> str:
    """An inline SVG: one row per category (name and figures above a bar), widths in % so it fits any
    screen without scaling the text; ``overall`` is drawn as a dashed line."""
    row = 38
    rows = list(by_category.items())
    h = row * len(rows) + 6
    parts = [
        f"<svg class=chart xmlns='http://www.w3.org/2000/svg' width='100%' height='{h}' role=img "
        f"aria-label='{_e(label or 'accuracy per category')}'>"
    ]
    for i, (cat, c) in enumerate(rows):
        acc = max(0.0, min(1.0, float(c.get("accuracy", 0.0))))
        y = i * row
        figs = f"{acc * 100:.1f}%  {int(c.get('correct', 0))}/{int(c.get('tasks', 0))}"
        parts.append(
            f"<text x='0' y='{y + 14}'>{_e(cat)}</text>"
            f"<text class=pct x='100%' y='{y + 14}' text-anchor='end'>{_e(figs)}</text>"
            f"<rect x='0' y='{y + 20}' width='100%' height='11' rx='3' fill='#eaeef2'/>"
            f"<rect x='0' y='{y + 20}' width='{acc * 100:.2f}%' height='11' rx='3' "
            f"fill='{_colour(acc)}'><title>{_e(cat)}: {acc * 100:.1f}%</title></rect>"
        )
    if overall is not None and rows:
        x = f"{max(0.0, min(1.0, overall)) * 100:.2f}%"
        parts.append(
            f"<line x1='{x}' x2='{x}' y1='16' y2='{h}' stroke='#0969da' stroke-width='2' "
            f"stroke-dasharray='4 3'><title>suite accuracy {overall * 100:.1f}%</title></line>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _expected_text(task: Any) -> str:
    """The expected calls with every acceptable value: ``f(a=1 | 2, b=(may be omitted) | 'x')``."""
    if not task.expected:
        if str(task.category).endswith("relevance") and not str(task.category).endswith("irrelevance"):
            return "any call to one of the tools offered"
        return "no call (none of the tools fits the request)"
    lines = []
    for e in task.expected:
        args = []
        for k, values in e.arguments.items():
            alts = " | ".join("(may be omitted)" if v == "" else json.dumps(v, ensure_ascii=False) for v in values)
            args.append(f"{k}={alts}")
        lines.append(f"{e.name}({', '.join(args)})")
    return "\n".join(lines)


def _prompt_text(task: Any) -> str:
    def content(m: dict) -> str:
        c = m.get("content")
        return c if isinstance(c, str) else json.dumps(c, ensure_ascii=False)

    return "\n\n".join(f"[{m.get('role')}]\n{content(m)}" for m in task.messages)


def _tools_text(task: Any) -> str:
    return json.dumps([t.to_dict() for t in task.tools], ensure_ascii=False, indent=1)


def _raw_output(o: Any) -> str:
    parts = []
    if getattr(o, "tool_calls", None):
        parts.append("tool_calls: " + json.dumps(o.tool_calls, ensure_ascii=False, indent=1))
    if getattr(o, "text", None):
        parts.append(o.text)
    if getattr(o, "request_error", None):
        parts.append(f"(request failed: {o.request_error})")
    return "\n".join(parts) or "(empty)"


def _failure_item(f: Mapping[str, Any], detail: Mapping[str, str] | None) -> str:
    head = (
        f"<summary><code>{_e(f.get('id'))}</code> <span class=muted>{_e(f.get('suite'))} · "
        f"{_e(f.get('category'))}</span> — {_e((f.get('feedback') or '')[:160])}</summary>"
    )
    rows = [("feedback", f.get("feedback") or "")]
    if detail is not None:
        rows += [
            ("prompt", detail["prompt"]),
            ("tools offered", detail["tools"]),
            ("expected call", detail["expected"]),
            ("raw output", detail["output"]),
        ]
    else:
        rows.append(("model output", f.get("output") or ""))
    body = "".join(f"<div>{_e(k)}</div><div><pre>{_e(_clip(v))}</pre></div>" for k, v in rows)
    return f"<details class=fail>{head}<div class=kv>{body}</div></details>"


def _failures_section(d: Mapping[str, Any], report: Any, details: bool) -> list[str]:
    failures = list(d.get("failures") or [])
    parts = [f"<h2>Failures ({len(failures)})</h2>"]
    if not failures:
        return [*parts, "<p>None.</p>"]
    index: Mapping[tuple[str, str], Any] = (getattr(report, "task_index", None) or {}) if details else {}
    outcomes = {(o.suite, o.id): o for o in getattr(report, "outcomes", []) or []} if index else {}
    if details and index:
        parts.append(
            "<p class='muted small'>Each failure opens to the prompt, the tools offered, the expected "
            "call and the model's raw output (local runs only).</p>"
        )
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for f in failures:
        groups.setdefault(str(f.get("error") or "wrong_answer"), []).append(f)
    shown = 0
    for kind, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        parts.append(f"<details class=group><summary>{_e(kind)}<span class=count>{len(items)}</span></summary>")
        for f in items:
            key = (str(f.get("suite")), str(f.get("id")))
            detail = None
            if key in index and shown < MAX_DETAILED_FAILURES:
                task, o = index[key], outcomes.get(key)
                detail = {
                    "prompt": _prompt_text(task),
                    "tools": _tools_text(task),
                    "expected": _expected_text(task),
                    "output": _raw_output(o) if o is not None else (f.get("output") or ""),
                }
                shown += 1
            parts.append(_failure_item(f, detail))
        parts.append("</details>")
    if index and shown < len(failures):
        parts.append(
            f"<p class='muted small'>Details are shown for the first {shown} failures; "
            f"the others show their feedback and output.</p>"
        )
    return parts


# ---------------------------------------------------------------- the run's page
def render_html(report: Any, *, details: bool = True) -> str:
    """The report as one HTML document (``report`` is an ``EvalReport`` or its ``to_dict()``).

    ``details``: open each failure to its prompt, tools and expected call (needs an ``EvalReport``; a local
    run only, never a page shown to miners by a validator)."""
    d = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    model = str(d.get("model") or "")
    title = f"{model}: bitagent eval-model report"
    parts = [
        f"<h1>{_e(model)}</h1><p class='muted small'>bitagent eval-model report · generated "
        f"{_e(time.strftime('%Y-%m-%d %H:%M:%S'))}"
        + (f" · run {_e(d.get('run_id'))}" if d.get("run_id") else "")
        + "</p>"
    ]
    if d.get("error") or (d.get("status") not in (None, "ok")):
        parts.append(f"<p class=err>run {_e(d.get('status'))}: {_e(d.get('error'))}</p>")
    acc = float(d.get("accuracy") or 0.0)
    sub = f"{d.get('correct', 0)} of {d.get('tasks', 0)} correct"
    if d.get("total") is not None and d.get("completed") is not None and d["completed"] < d["total"]:
        sub += f"; only {d['completed']} of {d['total']} tasks run"
    cards = [_card("accuracy, all tasks", _pct(acc), sub, "main")]
    by_suite = d.get("by_suite") or {}
    bfcl_cats = _bfcl_suite(by_suite)
    if bfcl_cats:
        cards += _bfcl_cards(bfcl_cats)
    parts.append("<div class=cards>" + "".join(cards) + "</div>")
    if bfcl_cats:
        parts.append(
            "<p class='muted small'>BFCL columns as its leaderboard computes them (bfcl-eval's summary) "
            "from the BFCL categories of this run: Non-Live and Irrelevance are unweighted means, Live is "
            "weighted by BFCL's category sizes, and a category not run counts 0, as in BFCL's Overall.</p>"
        )
    for name, summary in by_suite.items():
        summary = summary or {}
        sacc = float(summary.get("accuracy", 0.0))
        parts.append(
            f"<h2>{_e(name)}: {sacc * 100:.1f}% <span class='muted small'>({int(summary.get('correct', 0))}"
            f"/{int(summary.get('tasks', 0))})</span></h2>"
        )
        parts.append(bar_chart(summary.get("by_category") or {}, sacc, label=f"{name}: accuracy per category"))
    errors = d.get("errors") or {}
    parts += _failures_section(d, report, details)
    facts = [
        ("model", d.get("model")),
        ("model sha", d.get("model_sha")),
        ("served as", d.get("served_model")),
        ("backend", d.get("backend")),
        ("prompt mode", "yes (BFCL system prompt)" if d.get("prompt_mode") else "no"),
        ("suites", ", ".join(f"{s['name']} ({s['tasks']} tasks, {s['hash']})" for s in d.get("suites", []))),
        (
            "tasks",
            f"{d.get('completed')} of {d.get('total')} done, {d.get('cached')} from the cache, "
            f"{d.get('request_errors')} failed requests",
        ),
        ("errors by kind", ", ".join(f"{k} {v}" for k, v in errors.items()) or "none"),
        ("wall time", f"{d.get('wall_s')} s"),
        ("settings", ", ".join(f"{k}={v}" for k, v in (d.get("settings") or {}).items())),
        ("run", d.get("run_id")),
    ]
    vet = d.get("vet") or {}
    if vet:
        facts.append(("parameters", f"{vet.get('params', 0):,}"))
        facts.append(("license", vet.get("license") or "not declared"))
        facts.append(("weights fingerprint", vet.get("fingerprint") or "unknown"))
    parts.append(
        "<h2>Run</h2><div class=scroll><table class=facts>"
        + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in facts)
        + "</table></div>"
    )
    return _page(title, parts)


# ---------------------------------------------------------------- the comparison page
def _delta(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "<span class=muted>–</span>"
    dv = (b - a) * 100
    cls = "pos" if dv > 1e-9 else "neg" if dv < -1e-9 else "muted"
    return f"<span class={cls}>{dv:+.1f}</span>"


def _pair_svg(a: float | None, b: float | None) -> str:
    """Two thin bars (A grey above, B blue below) for one row of the comparison table."""
    out = ["<svg xmlns='http://www.w3.org/2000/svg' width='100%' height='18' role=img aria-label='A and B'>"]
    for y, v, fill in ((1, a, "#8c959f"), (10, b, "#0969da")):
        out.append(f"<rect x='0' y='{y}' width='100%' height='7' rx='2' fill='#eaeef2'/>")
        if v is not None:
            out.append(
                f"<rect x='0' y='{y}' width='{max(0.0, min(1.0, v)) * 100:.2f}%' height='7' rx='2' fill='{fill}'/>"
            )
    out.append("</svg>")
    return "".join(out)


def render_compare_html(data: Mapping[str, Any]) -> str:
    """The ``--compare`` page from ``compare_runs``' result: overall figures, BFCL columns, per-category deltas."""
    a, b = data["a"], data["b"]
    title = f"{a['model']} vs {b['model']}: bitagent comparison"
    parts = [
        f"<h1>{_e(b['model'])} <span class=muted>vs</span> {_e(a['model'])}</h1>"
        f"<p class='muted small'>bitagent eval-model --compare · generated "
        f"{_e(time.strftime('%Y-%m-%d %H:%M:%S'))} · delta = B − A in points</p>"
    ]
    sa, sb = a.get("summary") or {}, b.get("summary") or {}
    acc_a = float(sa["accuracy"]) if sa else None
    acc_b = float(sb["accuracy"]) if sb else None
    cards = [
        _card("A: " + str(a["model"]), _pct(acc_a), f"run {a.get('run_id')} ({a.get('status')})"),
        _card("B: " + str(b["model"]), _pct(acc_b), f"run {b.get('run_id')} ({b.get('status')})"),
        _card(
            "B − A",
            "N/A" if acc_a is None or acc_b is None else f"{(acc_b - acc_a) * 100:+.1f}",
            "points of accuracy, all tasks",
            "main",
        ),
    ]
    parts.append("<div class=cards>" + "".join(cards) + "</div>")
    bfa = _bfcl_suite(a.get("by_suite") or {})
    bfb = _bfcl_suite(b.get("by_suite") or {})
    if bfa or bfb:
        ca, cb = bfcl_columns(bfa or {}), bfcl_columns(bfb or {})
        rows = []
        for key in dict.fromkeys([*ca, *cb]):
            va = (ca.get(key) or {}).get("accuracy")
            vb = (cb.get(key) or {}).get("accuracy")
            rows.append(
                f"<tr><td>{_e(BFCL_COLUMNS.get(key, key))}</td><td class=num>{_pct(va)}</td>"
                f"<td class=num>{_pct(vb)}</td><td class=num>{_delta(va, vb)}</td></tr>"
            )
        parts.append(
            "<h2>BFCL summary</h2><div class=scroll><table><tr><th>column</th><th class=num>A</th>"
            "<th class=num>B</th><th class=num>B − A</th></tr>" + "".join(rows) + "</table></div>"
        )
    parts.append(
        "<h2>Per category</h2><p class='muted small'>Bars: A grey (top), B blue (bottom).</p>"
        "<div class=scroll><table class=cmp><tr><th>suite / category</th><th class=num>A</th><th class=num>B</th>"
        "<th class=num>B − A</th><th class=bars style='width:30%'></th></tr>"
    )
    for r in data.get("rows") or []:
        ra, rb = r.get("a"), r.get("b")
        va = None if ra is None else float(ra["accuracy"])
        vb = None if rb is None else float(rb["accuracy"])
        label = "all" if r["suite"] == "all" else f"{r['suite']} / {r['category']}"
        tag = "th" if r["category"] == "all" else "td"
        cell = lambda c, v: "–" if c is None else f"{_pct(v)} <span class='muted small cnt'>({int(c['tasks'])})</span>"
        parts.append(
            f"<tr><{tag}>{_e(label)}</{tag}><{tag} class=num>{cell(ra, va)}</{tag}>"
            f"<{tag} class=num>{cell(rb, vb)}</{tag}><{tag} class=num>{_delta(va, vb)}</{tag}>"
            f"<{tag} class=bars>{_pair_svg(va, vb)}</{tag}></tr>"
        )
    parts.append("</table></div>")
    facts = []
    for side, run in (("A", a), ("B", b)):
        facts.append(
            (
                f"{side}",
                f"{run['model']} · sha {run.get('model_sha')} · run {run.get('run_id')} "
                f"({run.get('status')}) · {run.get('completed')}/{run.get('total')} tasks",
            )
        )
    parts.append(
        "<h2>Runs</h2><div class=scroll><table class=facts>"
        + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in facts)
        + "</table></div>"
    )
    return _page(title, parts)


# ---------------------------------------------------------------- writing
def _write(text: str, path: str | os.PathLike[str]) -> Path:
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; a report is a normal file
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def write_html_report(report: Any, path: str | os.PathLike[str], *, details: bool = True) -> Path:
    """Write :func:`render_html` to ``path`` atomically (a temp file, then rename); returns the path."""
    return _write(render_html(report, details=details), path)


def write_compare_report(data: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write :func:`render_compare_html` to ``path`` atomically; returns the path."""
    return _write(render_compare_html(data), path)
