"""The weights fingerprint in eval-model's report: --json, the HTML report and the runs table (issue 10)."""

from __future__ import annotations

import json

import pytest
from test_eval_fakes import FakeOpenAI

from bitagent_cli._evaluate import evaluate, load_tasks
from bitagent_cli.config import load_settings
from bitagent_cli.report import render_html
from bitagent_cli.serving.vetting import local_fingerprint
from bitagent_cli.store.results import ResultStore


@pytest.mark.slow
def test_report_carries_the_weights_fingerprint(tiny_model_dir, tmp_path):
    items = load_tasks(["bfcl"], limit=2)
    fp = local_fingerprint(tiny_model_dir)
    with FakeOpenAI(model=str(tiny_model_dir.resolve())) as srv:
        srv.teach([it.task for it in items], lambda t: True)
        report = evaluate(
            str(tiny_model_dir),
            settings=load_settings("local"),
            backend="endpoint",
            base_url=srv.base_url,
            suites=["bfcl"],
            limit=2,
            store=tmp_path / "r.sqlite",
        )
    assert report.ok, report.error
    d = json.loads(json.dumps(report.to_dict()))
    assert fp and d["fingerprint"] == fp == d["vet"]["fingerprint"] == report.fingerprint
    assert f"<td>weights fingerprint</td><td>{fp}</td>" in render_html(report)
    run = ResultStore(tmp_path / "r.sqlite").runs(report.model)[0]
    summary = run["summary"] if isinstance(run["summary"], dict) else json.loads(run["summary"])
    assert summary["fingerprint"] == fp
