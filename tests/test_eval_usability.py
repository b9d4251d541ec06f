"""What a new user trips on in `eval-model` (issue 11): honest exit codes, --compare as the README shows it,
cache identity of endpoints, progress under pm2/CI, small things."""

from __future__ import annotations

import json

import pytest
from test_eval_fakes import FakeOpenAI

from bitagent_cli._evaluate import load_tasks
from bitagent_cli.serving import client as client_mod


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch):
    monkeypatch.setattr(client_mod, "_BACKOFF_S", 0.01)


@pytest.fixture
def items():
    return load_tasks(["bfcl"], limit=12)


def _args(srv: FakeOpenAI, *more: str) -> list[str]:
    return ["eval-model", srv.model, "--backend", "endpoint", "--base-url", srv.base_url, "--suite", "bfcl",
            "--limit", "12", *more]


def _one_json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


# ---------------------------------------------------------------- item 2: a run with nothing answered fails
def test_every_request_failing_is_exit_1_naming_the_first_error(run_cli, items):
    with FakeOpenAI() as srv:
        for it in items:
            srv.fail_task(it.task, 500, "kaboom")
        code, out, err = run_cli(*_args(srv, "--json"))
    assert code == 1, (out, err)
    d = _one_json(out)
    assert d["ok"] is False and d["status"] == "error"
    assert "no task was answered" in d["error"] and "HTTP 500: kaboom" in d["error"]
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "HTTP 500: kaboom" in errors[0]


def test_some_requests_failing_is_still_a_run(run_cli, items):
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        srv.fail_task(items[0].task, 500, "kaboom")
        code, out, err = run_cli(*_args(srv, "--json"))
    assert code == 0, err
    d = _one_json(out)
    assert d["ok"] and d["request_errors"] >= 1


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_request_timeout_must_be_a_positive_finite_number(run_cli, monkeypatch, value):
    monkeypatch.setenv("BITAGENT_EVAL_REQUEST_TIMEOUT", value)
    code, out, err = run_cli("eval-model", "m", "--backend", "endpoint", "--base-url", "http://127.0.0.1:9/v1")
    assert code == 2, (out, err)
    assert "eval.request_timeout" in err and "finite number above 0" in err
