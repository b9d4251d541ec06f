"""`eval-model --generation bfcl|bitagent` (eval.generation): what is sent, the cache key, the output says it."""

from __future__ import annotations

import json

import pytest
from test_eval_fakes import FakeOpenAI

from bitagent_cli._evaluate import GENERATIONS, load_tasks
from bitagent_cli.serving import client as client_mod


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch):
    monkeypatch.setattr(client_mod, "_BACKOFF_S", 0.01)


@pytest.fixture
def items():
    return load_tasks(["bfcl"], limit=6)


def _args(srv: FakeOpenAI, *more: str) -> list[str]:
    where = ["--backend", "endpoint", "--base-url", srv.base_url]
    return ["eval-model", srv.model, *where, "--suite", "bfcl", "--limit", "6", *more]


def _one_json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def test_bfcl_generation_sends_bfcls_settings_and_is_its_own_cache_key(run_cli, items):
    assert GENERATIONS["bfcl"] == {"temperature": 0.001, "max_tokens": 4096}  # bfcl-eval 2026.3.23's
    with FakeOpenAI() as srv:
        srv.teach([it.task for it in items], True)
        code, out, err = run_cli(*_args(srv, "--json"))
        assert code == 0, err
        a = _one_json(out)
        assert {(b["temperature"], b["max_tokens"]) for b in srv.bodies} == {(0.0, 512)}
        n = srv.requests
        code, out, err = run_cli(*_args(srv, "--json", "--generation", "bfcl"))
        assert code == 0, err
        b = _one_json(out)
        sent = srv.bodies[n:]
        assert len(sent) == 6 and {(x["temperature"], x["max_tokens"]) for x in sent} == {(0.001, 4096)}
        assert not any(k in x for x in sent for k in ("top_p", "top_k", "seed"))  # BFCL sends no other one
        code, out, err = run_cli(*_args(srv, "--generation", "bfcl"))  # the table says which ran
        assert code == 0, err
        assert srv.requests == n + 6  # from the cache now
        assert "generation bfcl" in out and "tools native" in out
    assert a["settings"]["generation"] == "bitagent" and b["settings"]["generation"] == "bfcl"
    assert b["settings"]["temperature"] == 0.001 and b["settings"]["max_tokens"] == 4096
    assert a["settings_hash"] != b["settings_hash"] and b["cached"] == 0


def test_prompt_mode_is_said_in_the_table(run_cli, items):
    with FakeOpenAI(tools_supported=False) as srv:
        srv.teach([it.task for it in items], True)
        code, out, err = run_cli(*_args(srv))
    assert code == 0, err
    assert "tools in the prompt (BFCL's prompt mode)" in out


@pytest.mark.parametrize(
    "more,message",
    [
        (["--generation", "greedy"], "eval.generation"),
        (["--generation", "bfcl", "--max-tokens", "100"], "drop --max-tokens"),
    ],
)
def test_generation_usage_errors(run_cli, more, message):
    got, out, err = run_cli("eval-model", "m", "--backend", "endpoint", "--base-url", "http://127.0.0.1:9/v1", *more)
    assert got == 2, (out, err)
    assert message in err
