"""`bitagent eval-model` against the fake server: --json, the table, --report, --compare, exit codes."""

from __future__ import annotations

import json

import pytest
from test_eval_fakes import FakeOpenAI

from bitagent_cli._evaluate import load_tasks
from bitagent_cli.serving import client as client_mod


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch):
    monkeypatch.setattr(client_mod, "_BACKOFF_S", 0.01)


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


@pytest.fixture
def items():
    return load_tasks(["bfcl"], limit=12)


def _one_json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def test_json_is_one_object_with_the_exact_score(run_cli, items):
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], lambda t: t.category != "simple")
        right = sum(srv.answers_right(it.task) for it in items)
        code, out, err = run_cli(*_args(srv, "--json", "--concurrency", "3"))
    assert code == 0, err
    d = _one_json(out)
    assert d["ok"] and d["total"] == 12 and d["correct"] == right and d["accuracy"] == pytest.approx(right / 12)
    assert d["settings"]["concurrency"] == 3 and d["settings"]["max_tokens"] == 512
    assert set(d["by_suite"]) == {"bfcl"} and len(d["failures"]) == 12 - right
    assert {f["category"] for f in d["failures"]} == {"simple"}
    b = d["bfcl_summary"]  # BFCL's columns over the bfcl suite's categories, and v4's overall
    assert b["overall"] is not None and 0 <= b["overall"] <= 1 and "agentic" in b["overall_note"]


@pytest.mark.slow
def test_table_output_and_the_profile_defaults(run_cli, items, monkeypatch):
    monkeypatch.setenv("BITAGENT_EVAL_MAX_TOKENS", "77")
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        code, out, err = run_cli(*_args(srv))
        assert srv.bodies[0]["max_tokens"] == 77  # eval.max_tokens from the environment
    assert code == 0, err
    assert "bfcl" in out and "accuracy 100.0% (12/12)" in out and "simple" in out
    assert "attaching to" in err  # status goes to stderr


def test_rules_are_part_of_the_cache_key(run_cli, items):
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        code, out, err = run_cli(*_args(srv, "--json"))
        assert code == 0, err
        a = _one_json(out)
        code, out, err = run_cli(*_args(srv, "--json", "--rules", "bfcl"))
        assert code == 0, err
        b = _one_json(out)
        assert srv.requests == 24  # the answers stored under the default rules were not reused
        code, out, err = run_cli(*_args(srv, "--json", "--rules", "bfcl"))
        assert srv.requests == 24 and _one_json(out)["cached"] == 12
    assert a["settings"]["rules"] == "bitagent" and b["settings"]["rules"] == "bfcl"
    # BFCL's underscore_to_dot for what was sent: our client sends tool names as they are, so off
    assert b["settings"]["underscore_to_dot"] is False and "underscore_to_dot" not in a["settings"]
    assert a["settings_hash"] != b["settings_hash"] and a["cached"] == 0 and b["cached"] == 0
    assert b["correct"] == a["correct"] == 12  # structured tool_calls read the same under both


def test_report_file_is_written(run_cli, items, tmp_path):
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], False)
        code, out, err = run_cli(*_args(srv, "--report", str(tmp_path / "r" / "report.html"), "--json"))
    assert code == 0, err
    d = _one_json(out)
    html = (tmp_path / "r" / "report.html").read_text()
    assert d["report"] == str(tmp_path / "r" / "report.html")
    assert "<h2>bfcl: 0.0% " in html and "Failures (12)" in html and "<script" not in html


def test_compare_two_models(run_cli, items):
    with FakeOpenAI(model="model-a") as a:
        a.teach([it.task for it in items], lambda t: t.category == "simple")
        assert run_cli(*_args(a, "--json"))[0] == 0
        ra = sum(a.answers_right(it.task) for it in items)
    with FakeOpenAI(model="model-b") as b:
        b.teach([it.task for it in items], True)
        assert run_cli(*_args(b, "--json"))[0] == 0
    code, out, err = run_cli("eval-model", "--compare", "model-a", "model-b", "--json")
    assert code == 0, err
    d = _one_json(out)
    assert d["a"]["model"] == "model-a" and d["b"]["model"] == "model-b"
    overall = d["rows"][-1]
    assert overall["suite"] == "all" and overall["a"]["correct"] == ra and overall["b"]["correct"] == 12
    assert overall["delta"] == pytest.approx((12 - ra) / 12, abs=1e-6)
    simple = next(r for r in d["rows"] if r["category"] == "simple")
    assert simple["delta"] == 0.0
    code, out, _ = run_cli("eval-model", "--compare", "model-a", "model-b")
    assert code == 0 and "model-a" in out and "model-b" in out and "bfcl / simple" in out


@pytest.mark.parametrize(
    "argv,code,message",
    [
        (["eval-model"], 2, "missing MODEL"),
        (["eval-model", "m", "--compare", "a", "b"], 2, "unexpected extra argument"),
        (["eval-model", "--compare", "a", "--compare", "b", "--compare", "c"], 2, "needs two models"),
        (["eval-model", "--compare", "a"], 2, "needs two models"),
        (["eval-model", "--compare", "nobody", "else"], 1, "no run of 'nobody'"),
        (
            ["eval-model", "m", "--backend", "endpoint", "--base-url", "http://127.0.0.1:9/v1", "--suite", "nope"],
            2,
            "unknown suite 'nope'",
        ),
        (
            ["eval-model", "m", "--backend", "endpoint", "--base-url", "http://127.0.0.1:9/v1", "--category", "x"],
            2,
            "no category 'x'",
        ),
        (["eval-model", "m", "--backend", "warp"], 2, "eval.backend"),
        (["eval-model", "m", "--concurrency", "0"], 2, ""),
    ],
)
def test_usage_errors(run_cli, argv, code, message):
    got, out, err = run_cli(*argv)
    assert got == code, (out, err)
    assert message in err


def test_unreachable_endpoint_is_exit_1(run_cli):
    code, out, err = run_cli(
        "eval-model", "m", "--backend", "endpoint", "--base-url", "http://127.0.0.1:9/v1", "--limit", "2", "--json"
    )
    assert code == 1
    assert _one_json(out)["ok"] is False and "no OpenAI-compatible server answers" in err


def test_refused_model_is_one_line_exit_1(run_cli, tmp_path):
    bad = tmp_path / "pickled"
    bad.mkdir()
    (bad / "config.json").write_text("{}")
    (bad / "pytorch_model.bin").write_bytes(b"\0" * 16)
    code, _out, err = run_cli("eval-model", str(bad), "--backend", "transformers", "--limit", "2")
    assert code == 1
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: model refused: ") and "pickle" in errors[0]


def test_server_dying_is_exit_1_with_the_partial_report(run_cli, items):
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        srv.die_after = 5
        code, out, err = run_cli(*_args(srv, "--json", "--concurrency", "1"))
    assert code == 1
    d = _one_json(out)
    assert d["ok"] is False and d["status"] == "error" and d["completed"] == 5 and d["not_run"] == 7
    assert "error: the model server stopped answering" in err and "run again to resume" in err


def test_progress_bar_on_a_terminal(run_cli, items, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # stderr counts as a terminal: the rich bar is drawn there
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        code, out, err = run_cli(*_args(srv, "--json"))
    assert code == 0, err
    assert _one_json(out)["accuracy"] == 1.0  # stdout stays one JSON object
    assert "evaluating" in err and "12/12" in err and "acc 100.0%" in err and "tasks/s" in err


def test_table_shows_model_output_as_text_not_markup(run_cli, items):
    from test_eval_fakes import _key_of_task

    hostile = [
        {"id": "c", "type": "function", "function": {"name": "[link=https://evil.example]x[/link]", "arguments": "{}"}}
    ]
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], False)
        for it in items:
            srv.answers[_key_of_task(it.task)] = hostile
        code, out, err = run_cli(*_args(srv))
    assert code == 0, err
    assert "[link=https://evil.example]" in out  # printed literally, not turned into a hyperlink


@pytest.mark.slow
def test_a_killed_run_is_marked_interrupted_and_the_next_one_says_it_resumed_it(run_cli, items):
    import os
    import signal
    import subprocess
    import sys
    import textwrap

    from bitagent_cli.config import load_settings
    from bitagent_cli.store import ResultStore, default_path

    with FakeOpenAI(delay=0.15) as srv:
        srv.teach([it.task for it in items], True)
        script = textwrap.dedent(f"""
            import os, signal, sys
            sys.path.insert(0, {os.getcwd()!r})
            from bitagent_cli._evaluate import evaluate
            from bitagent_cli.config import load_settings

            def progress(p):
                if p.done >= 4 and p.elapsed_s > 1.2:
                    os.kill(os.getpid(), signal.SIGKILL)

            evaluate({srv.model!r}, settings=load_settings("local"), backend="endpoint", base_url={srv.base_url!r},
                     suites=["bfcl"], limit=12, concurrency=1, progress=progress)
        """)
        proc = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), timeout=120, check=False)
        assert proc.returncode == -signal.SIGKILL
        with ResultStore(default_path(load_settings("local"))) as store:
            killed = store.runs()[0]
            stored = store.count()
        assert killed["status"] == "running" and stored > 0
        code, out, err = run_cli(*_args(srv, "--concurrency", "4"))
    assert code == 0, err
    assert f"resumed interrupted run {killed['run_id']}: {stored} task(s)" in out.replace("\n", " ")
    assert f"run {killed['run_id']} of {srv.model} was interrupted (its process is gone)" in err
    with ResultStore(default_path(load_settings("local"))) as store:
        assert store.runs()[1]["run_id"] == killed["run_id"] and store.runs()[1]["status"] == "interrupted"
