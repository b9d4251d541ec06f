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
    return [
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
        *more,
    ]


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


# ---------------------------------------------------------------- item 3: an endpoint's cache identity
def _serve(items, *, good, probe_answer="get_weather(city='Paris')", root=None):
    srv = FakeOpenAI(model="served-name")
    srv.teach([it.task for it in items], good)
    srv.probe_answer = probe_answer
    if root:
        srv.model_info = {"root": root, "owned_by": "vllm"}
    return srv


def test_other_weights_under_the_same_name_are_not_served_from_the_cache(run_cli, items):
    with _serve(items, good=True) as srv:
        code, out, err = run_cli(*_args(srv, "--json"))
        assert code == 0, err
        assert srv.requests == 12 and _one_json(out)["accuracy"] == 1.0
    with _serve(items, good=False, probe_answer="something else entirely") as srv:  # restarted, other weights
        code, out, err = run_cli(*_args(srv, "--json"))
        assert code == 0, err
        d = _one_json(out)
        assert srv.requests == 12 and d["cached"] == 0 and d["accuracy"] == 0.0
    with _serve(items, good=True) as srv:  # the first weights again: their answers are in the cache
        code, out, err = run_cli(*_args(srv))
        assert code == 0, err
        assert srv.requests == 0 and srv.probes == 1
    assert "12 from the cache (--no-cache asks the model again)" in out
    assert "accuracy 100.0% (12/12)" in out


def test_the_servers_model_root_is_part_of_the_identity(run_cli, items):
    with _serve(items, good=True, root="/models/a") as srv:
        assert run_cli(*_args(srv, "--json"))[0] == 0
    with _serve(items, good=True, root="/models/b") as srv:
        code, out, err = run_cli(*_args(srv, "--json"))
        assert code == 0 and srv.requests == 12, err
        d = _one_json(out)
        assert d["endpoint"]["models"]["root"] == "/models/b"
        assert d["model_sha"] == "endpoint:served-name@" + d["endpoint"]["hash"]
    with _serve(items, good=True, root="/models/b") as srv:
        code, out, err = run_cli(*_args(srv, "--json"))
        assert code == 0 and srv.requests == 0 and _one_json(out)["cached"] == 12


# ---------------------------------------------------------------- item 12: progress lines without a terminal
def test_progress_lines_when_stderr_is_not_a_terminal(run_cli, items, monkeypatch):
    from bitagent_cli.cli import eval_model

    now = [1000.0]

    def clock() -> float:  # every look at the clock is 3 s later: a line every 4th task or so
        now[0] += 3.0
        return now[0]

    monkeypatch.setattr(eval_model, "_clock", clock)
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        code, out, err = run_cli(*_args(srv, "--json", "--concurrency", "1"))
    assert code == 0, err
    assert _one_json(out)["accuracy"] == 1.0  # stdout stays one JSON object
    lines = [ln for ln in err.splitlines() if ln.startswith("progress: ")]
    assert 2 <= len(lines) <= 6, err
    import re

    for ln in lines:
        m = re.match(
            r"progress: (\d+)/12 tasks \(\d+%\), accuracy so far ([\d.]+)%, [\d.]+ tasks/s, (ETA \S+|done)$", ln
        )
        assert m, ln
        assert m.group(2) == "100.0"
    assert lines[-1].startswith("progress: 12/12") and lines[-1].endswith("done")


def test_quiet_silences_progress(run_cli, items, monkeypatch):
    from bitagent_cli.cli import eval_model

    now = [0.0]

    def clock() -> float:
        now[0] += 30.0
        return now[0]

    monkeypatch.setattr(eval_model, "_clock", clock)
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        code, out, err = run_cli(*_args(srv, "--quiet"))
    assert code == 0, err
    assert "progress:" not in err and "attaching" not in err
    assert "accuracy 100.0% (12/12)" in out


def test_progress_line_format():
    from bitagent_cli._evaluate import Progress
    from bitagent_cli.cli.eval_model import progress_line

    p = Progress(done=120, total=480, correct=50, errors=0, cached=0, elapsed_s=60.0)
    assert progress_line(p) == "progress: 120/480 tasks (25%), accuracy so far 41.7%, 2.0 tasks/s, ETA 3m00s"


# ---------------------------------------------------------------- item 13: small things
def test_endpoint_without_base_url_says_so_first(run_cli):
    code, out, err = run_cli("eval-model", "m", "--backend", "endpoint")
    assert code == 2, (out, err)
    assert "attaching to None" not in err and "needs --base-url" in err


def test_header_shows_the_whole_endpoint_name(run_cli, items):
    name = "my-org/a-rather-long-served-model-name-v2"
    with FakeOpenAI(model=name) as srv:
        srv.teach([it.task for it in items], True)
        code, out, err = run_cli(
            "eval-model", name, "--backend", "endpoint", "--base-url", srv.base_url, "--suite", "bfcl", "--limit", "12"
        )
    assert code == 0, err
    header = out.splitlines()[0]
    assert f"sha endpoint:{name}@" in header
