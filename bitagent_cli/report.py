"""``eval-model --report FILE.html``: one self-contained HTML file (no scripts, no external assets).

A bar per category for each suite (CSS bars), the run's facts, and a table of every failed task with
the model's output. Everything that comes from a model, a task or a path goes through ``html.escape``:
model output is hostile (``</td><script>``...), and the page must show it, not run it.
"""

from __future__ import annotations

import html
import os
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["render_html", "write_html_report"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1b1f24;padding:0 1rem}
h1{font-size:1.4rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem}
.muted{color:#57606a}.err{color:#b42318;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.facts td:first-child{color:#57606a;width:12rem}
.bar{background:#eaeef2;border-radius:3px;height:14px;width:100%;min-width:8rem}
.bar>span{display:block;height:100%;border-radius:3px;background:#2da44e}
.bar.low>span{background:#cf222e}.bar.mid>span{background:#d4a72c}
.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
pre{white-space:pre-wrap;word-break:break-word;margin:0;max-height:12rem;overflow:auto;
font:12px/1.35 ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:.3rem}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _bar(acc: float) -> str:
    pct = max(0.0, min(100.0, acc * 100))
    cls = "low" if pct < 40 else "mid" if pct < 70 else ""
    return f'<div class="bar {cls}" title="{pct:.1f}%"><span style="width:{pct:.1f}%"></span></div>'


def _category_table(summary: dict[str, Any]) -> str:
    rows = []
    for cat, c in (summary.get("by_category") or {}).items():
        acc = float(c.get("accuracy", 0.0))
        rows.append(f"<tr><td>{_e(cat)}</td><td class=num>{int(c.get('tasks', 0))}</td>"
                    f"<td class=num>{int(c.get('correct', 0))}</td><td class=num>{acc * 100:.1f}%</td>"
                    f"<td>{_bar(acc)}</td></tr>")
    acc = float(summary.get("accuracy", 0.0))
    rows.append(f"<tr><th>all</th><th class=num>{int(summary.get('tasks', 0))}</th>"
                f"<th class=num>{int(summary.get('correct', 0))}</th><th class=num>{acc * 100:.1f}%</th>"
                f"<th>{_bar(acc)}</th></tr>")
    return ("<table><tr><th>category</th><th class=num>tasks</th><th class=num>correct</th>"
            "<th class=num>accuracy</th><th style='width:40%'></th></tr>" + "".join(rows) + "</table>")


def render_html(report: Any) -> str:
    """The report as one HTML document (``report`` is an ``EvalReport`` or its ``to_dict()``)."""
    d = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    title = f"bitagent eval-model: {d.get('model')}"
    facts = [
        ("model", d.get("model")), ("model sha", d.get("model_sha")), ("served as", d.get("served_model")),
        ("backend", d.get("backend")), ("prompt mode", "yes (BFCL system prompt)" if d.get("prompt_mode") else "no"),
        ("suites", ", ".join(f"{s['name']} ({s['tasks']} tasks, {s['hash']})" for s in d.get("suites", []))),
        ("tasks", f"{d.get('completed')} of {d.get('total')} done, {d.get('cached')} from the cache, "
                  f"{d.get('request_errors')} failed requests"),
        ("accuracy", f"{float(d.get('accuracy', 0)) * 100:.2f}% ({d.get('correct')}/{d.get('tasks')})"),
        ("wall time", f"{d.get('wall_s')} s"), ("settings", ", ".join(f"{k}={v}" for k, v in
                                                                      (d.get("settings") or {}).items())),
        ("run", d.get("run_id")),
    ]
    vet = d.get("vet") or {}
    if vet:
        facts.append(("parameters", f"{vet.get('params', 0):,}"))
        facts.append(("license", vet.get("license") or "not declared"))
        facts.append(("weights fingerprint", vet.get("fingerprint") or "unknown"))
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8>"
             f"<meta name=viewport content='width=device-width,initial-scale=1'>"
             f"<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'\">"
             f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1><p class=muted>generated {_e(time.strftime('%Y-%m-%d %H:%M:%S'))}</p>"]
    if d.get("error"):
        parts.append(f"<p class=err>run {_e(d.get('status'))}: {_e(d.get('error'))}</p>")
    parts.append("<table class=facts>" + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in facts)
                 + "</table>")
    for name, summary in (d.get("by_suite") or {}).items():
        parts.append(f"<h2>{_e(name)}: {float(summary.get('accuracy', 0)) * 100:.1f}%</h2>")
        parts.append(_category_table(summary))
    failures = d.get("failures") or []
    parts.append(f"<h2>Failures ({len(failures)})</h2>")
    if failures:
        rows = "".join(
            f"<tr><td>{_e(f.get('suite'))}</td><td>{_e(f.get('id'))}</td><td>{_e(f.get('category'))}</td>"
            f"<td>{_e(f.get('error'))}</td><td>{_e(f.get('feedback'))}</td>"
            f"<td><pre>{_e(f.get('output'))}</pre></td></tr>" for f in failures)
        parts.append("<table><tr><th>suite</th><th>task</th><th>category</th><th>error</th><th>feedback</th>"
                     "<th style='width:35%'>model output</th></tr>" + rows + "</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_html_report(report: Any, path: str | os.PathLike[str]) -> Path:
    """Write :func:`render_html` to ``path`` atomically (a temp file, then rename); returns the path."""
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(render_html(report))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
