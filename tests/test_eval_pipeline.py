"""evaluate() end to end against a fake OpenAI server (endpoint backend): exact accuracy, the cache,
resuming, prompt mode, per-task errors, a server that dies mid-run, usage errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from test_eval_fakes import FakeOpenAI

from bitagent_cli._evaluate import EvalError, evaluate, load_tasks, settings_hash
from bitagent_cli.config import load_settings
from bitagent_cli.serving import ServerError
from bitagent_cli.serving import client as client_mod
from bitagent_cli.store import ResultStore, default_path
from bitagent_cli.tasks.suites import UnknownCategory, UnknownSuite

SUITES = ["bfcl", "glaive"]
LIMIT = 24  # per suite


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch):
    monkeypatch.setattr(client_mod, "_BACKOFF_S", 0.01)


@pytest.fixture
def settings():
    return load_settings("local")


@pytest.fixture
def items():
    return load_tasks(SUITES, limit=LIMIT)


def _half_right(task) -> bool:
    return int.from_bytes(task.id.encode()[-2:], "big") % 2 == 0


def _run(srv: FakeOpenAI, settings, **kw):
    kw.setdefault("suites", SUITES)
    kw.setdefault("limit", LIMIT)
    return evaluate(srv.model, settings=settings, backend="endpoint", base_url=srv.base_url, **kw)


def _expected(srv: FakeOpenAI, items) -> tuple[int, dict]:
    right = {(it.suite, it.task.id) for it in items if srv.answers_right(it.task)}
    return len(right), right


def test_exact_accuracy_per_suite_and_category(settings, items):
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], _half_right)
        n_right, right = _expected(srv, items)
        seen = []
        rep = _run(srv, settings, concurrency=5, progress=seen.append)
    assert 0 < n_right < len(items)
    assert rep.ok and rep.status == "ok" and rep.error is None
    assert rep.total == len(items) == 2 * LIMIT and rep.tasks == rep.total
    assert rep.correct == n_right and rep.accuracy == pytest.approx(n_right / len(items))
    assert srv.requests == rep.requests == len(items)
    assert {(o.suite, o.id) for o in rep.outcomes if o.correct} == right
    assert [(o.suite, o.id) for o in rep.outcomes] == [(it.suite, it.task.id) for it in items]  # task order
    for suite in SUITES:
        mine = [it for it in items if it.suite == suite]
        s = rep.by_suite[suite]
        assert s["tasks"] == len(mine)
        assert s["correct"] == sum((it.suite, it.task.id) in right for it in mine)
        for cat, c in s["by_category"].items():
            in_cat = [it for it in mine if it.task.category == cat]
            assert c["tasks"] == len(in_cat)
            assert c["correct"] == sum((it.suite, it.task.id) in right for it in in_cat)
    fails = rep.failures()
    assert len(fails) == len(items) - n_right
    assert all(f["error"] and f["feedback"] and "wrong_fn" in f["output"] for f in fails)
    # what was sent: the task's tools, tool_choice auto, temperature 0, the profile's max_tokens
    body = srv.bodies[0]
    assert body["tool_choice"] == "auto" and body["temperature"] == 0.0 and body["max_tokens"] == 512
    assert body["model"] == "fake-model"
    # progress: starts at 0, ends at total, accuracy as it goes
    assert seen[0].done == 0 and seen[-1].done == rep.total and seen[-1].correct == n_right
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    d = rep.to_dict()
    assert d["ok"] and d["accuracy"] == rep.accuracy and d["requests"] == len(items) and d["not_run"] == 0
    assert d["tasks_per_s"] > 0
    assert d["model_sha"].startswith("endpoint:fake-model@")  # not a hub id nor a directory: name + identity


def test_rerun_comes_from_the_cache_without_a_server(settings, items):
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], _half_right)
        first = _run(srv, settings)
        n = srv.requests
        again = _run(srv, settings)
        assert srv.requests == n  # no request at all
        assert again.cached == again.total and again.requests == 0
        assert again.tasks_per_s is None  # nothing was sent
        assert again.accuracy == first.accuracy and again.by_suite == first.by_suite
        url = srv.base_url
    # the server is gone: an endpoint's results are keyed by what it serves, which only it can say (issue 11:
    # a restart with other weights under the same name must not bring the old scores back)
    with pytest.raises(ServerError, match="no OpenAI-compatible server answers"):
        evaluate("fake-model", settings=settings, backend="endpoint", base_url=url, suites=SUITES, limit=LIMIT)
    # a larger --limit keeps the tasks a smaller one chose: only the new ones are sent
    with FakeOpenAI() as srv:
        bigger = load_tasks(SUITES, limit=LIMIT + 6)
        srv.teach([it.task for it in bigger], _half_right)
        rep = _run(srv, settings, limit=LIMIT + 6)
        assert srv.requests == 12 and rep.cached == 2 * LIMIT


def test_no_cache_asks_again_and_other_settings_are_other_keys(settings, items):
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        _run(srv, settings)
        _run(srv, settings, use_cache=False)
        assert srv.requests == 2 * len(items)
        rep = _run(srv, settings, max_tokens=100)  # another request: another settings hash
        assert srv.requests == 3 * len(items) and rep.cached == 0
        assert rep.accuracy == 1.0
    assert settings_hash({"max_tokens": 100}) != settings_hash({"max_tokens": 512})


def test_prompt_mode_when_the_server_refuses_tools(settings, items):
    with FakeOpenAI(tools_supported=False) as srv:
        srv.teach([it.task for it in items], _half_right)
        n_right, _ = _expected(srv, items)
        rep = _run(srv, settings, concurrency=4)
        assert rep.ok and rep.prompt_mode and rep.correct == n_right
        # each worker learns it at most once; after that no request carries tools
        refused = sum(1 for b in srv.bodies if "tools" in b)
        assert 1 <= refused <= 4 and srv.requests == len(items) + refused
        assert srv.bodies[-1]["messages"][0]["content"].startswith("You are an expert in composing functions.")


@pytest.mark.slow
def test_failed_requests_score_zero_are_not_cached_and_are_retried(settings, items):
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        srv.fail_task(items[0].task, 400, "This model's maximum context length is 10 tokens")
        srv.fail_task(items[1].task, 500, "internal")
        rep = _run(srv, settings, concurrency=2)
        assert rep.ok  # a few failed requests are the model's failures, not the run's
        assert rep.request_errors == 2 and rep.correct == len(items) - 2
        bad = {o.id: o for o in rep.outcomes if o.request_error}
        assert "maximum context length" in bad[items[0].task.id].request_error
        assert bad[items[0].task.id].error == "no_response" and bad[items[0].task.id].feedback.startswith(
            "The request failed: HTTP 400"
        )
        assert "HTTP 500" in bad[items[1].task.id].request_error
        assert srv.requests == len(items) + 2  # the 500 was retried twice, the 400 never
        srv.fail.clear()
        rep = _run(srv, settings)
        assert srv.requests == len(items) + 4 and rep.accuracy == 1.0 and rep.cached == len(items) - 2


def test_irrelevance_task_whose_request_failed_is_not_a_correct_abstention(settings):
    items = load_tasks(["bfcl"], category="irrelevance", limit=3)
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        for it in items:
            srv.fail_task(it.task, 400, "nope")
        with pytest.raises(EvalError, match="no task was answered") as ei:  # nothing answered: a failed run
            _run(srv, settings, suites=["bfcl"], category="irrelevance", limit=3)
        rep = ei.value.report
        assert rep.correct == 0 and rep.request_errors == 3


def test_server_dying_mid_run_stores_what_was_done_and_resumes(settings, items):
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], _half_right)
        srv.die_after = 15
        with pytest.raises(EvalError) as ei:
            _run(srv, settings, concurrency=3)
    rep = ei.value.report
    assert rep.status == "error" and "stopped answering" in rep.error and "cannot reach" in rep.error
    assert "run again to resume" in str(ei.value)
    done = len(rep.outcomes)
    assert 10 <= done <= 15 and rep.not_run == len(items) - done
    assert all(not o.request_error for o in rep.outcomes)  # the lost requests are not failures
    with ResultStore(default_path(settings)) as store:
        assert store.count() == done
        run = store.runs("fake-model")[0]
        assert run["status"] == "error" and run["summary"]["completed"] == done
    with FakeOpenAI() as srv2:
        srv2.teach([it.task for it in items], _half_right)
        n_right, _ = _expected(srv2, items)
        rep2 = _run(srv2, settings)
        assert srv2.requests == len(items) - done
        assert rep2.ok and rep2.cached == done and rep2.correct == n_right


def test_wrong_model_name_fails_fast(settings, items):
    with FakeOpenAI() as srv:
        with pytest.raises(EvalError, match="refused the request: HTTP 404"):
            evaluate(
                "other-model",
                settings=settings,
                backend="endpoint",
                base_url=srv.base_url,
                suites=["bfcl"],
                limit=20,
                concurrency=2,
            )
        assert srv.requests <= 2


def test_usage_errors_come_before_any_request(settings):
    with FakeOpenAI() as srv:
        with pytest.raises(UnknownSuite):
            _run(srv, settings, suites=["nope"])
        with pytest.raises(UnknownCategory, match="choose from"):
            _run(srv, settings, category="no_such_category")
        with pytest.raises(ValueError, match="concurrency"):
            _run(srv, settings, concurrency=0)
        assert srv.requests == 0


def test_category_applies_to_the_suites_that_have_it(settings):
    with FakeOpenAI() as srv:
        items = load_tasks(SUITES, category=["live_simple", "simple"], limit=10)
        srv.teach([it.task for it in items], True)
        rep = _run(srv, settings, category=["live_simple", "simple"], limit=10)
        assert rep.accuracy == 1.0
        assert set(rep.by_suite["bfcl"]["by_category"]) == {"live_simple", "simple"}
        assert set(rep.by_suite["glaive"]["by_category"]) == {"simple"}  # glaive has no live_simple


@pytest.mark.slow
def test_resume_after_kill_9(settings, items, tmp_path):
    """A run SIGKILLed in the middle keeps its committed batches; the rerun sends only the rest."""
    with FakeOpenAI(delay=0.03) as srv:
        srv.teach([it.task for it in items], _half_right)
        script = textwrap.dedent(f"""
            import os, signal, sys
            sys.path.insert(0, {os.getcwd()!r})
            from bitagent_cli._evaluate import evaluate
            from bitagent_cli.config import load_settings

            def progress(p):
                if p.done >= 30 and p.elapsed_s > 1.2:
                    os.kill(os.getpid(), signal.SIGKILL)

            evaluate("fake-model", settings=load_settings("local"), backend="endpoint",
                     base_url={srv.base_url!r}, suites={SUITES!r}, limit={LIMIT}, concurrency=1, progress=progress)
        """)
        proc = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), timeout=120)
        assert proc.returncode == -signal.SIGKILL
        sent_before = srv.requests
        with ResultStore(default_path(settings)) as store:
            stored = store.count()
            killed = store.runs("fake-model")[0]
            assert killed["status"] == "running"  # it never got to record its end
        assert 0 < stored < len(items)
        rep = _run(srv, settings)
        n_right, _ = _expected(srv, items)
        assert srv.requests - sent_before == len(items) - stored
        assert rep.ok and rep.cached == stored and rep.correct == n_right
        # the next start saw the killed run's process gone: marked interrupted, and this run resumed it
        assert rep.resumed_run == killed["run_id"] and rep.to_dict()["resumed_run"] == killed["run_id"]
        with ResultStore(default_path(settings)) as store:
            runs = {r["run_id"]: r for r in store.runs("fake-model")}
            assert runs[killed["run_id"]]["status"] == "interrupted"
            assert runs[rep.run_id]["status"] == "ok"
        assert _run(srv, settings).resumed_run is None  # the latest run finished: nothing to resume


def test_concurrency_default_detection():
    from bitagent_cli._evaluate import _is_default
    from bitagent_cli.config import load_settings

    assert _is_default(load_settings("local"), "eval.concurrency")
    assert not _is_default(load_settings("local", {"eval.concurrency": 8}), "eval.concurrency")
    assert _is_default({}, "eval.concurrency") and not _is_default({"eval.concurrency": 8}, "eval.concurrency")
