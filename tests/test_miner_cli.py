"""`bitagent mine`: flags, settings resolution and --dry-run (nothing is served, the chain is not touched)."""

from __future__ import annotations

import json
import socket

from chain_fakes import make_wallet
from test_eval_fakes import FakeOpenAI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dry_run_json_shows_the_plan(run_cli, tmp_path):
    make_wallet(tmp_path / "w", "cold", "hot")
    port = _free_port()
    with FakeOpenAI() as srv:
        code, out, err = run_cli(
            "mine",
            "--dry-run",
            "--json",
            "--openai-api-base",
            srv.base_url,
            "--axon.port",
            str(port),
            "--wallet.name",
            "cold",
            "--wallet.hotkey",
            "hot",
            "--wallet.path",
            str(tmp_path / "w"),
            "--netuid",
            "20",
            "--min-validator-stake",
            "25",
        )
    assert code == 0, err
    data = json.loads(out)
    assert data["ok"] is True and data["dry_run"] is True and data["failures"] == []
    plan = data["plan"]
    assert plan["backend"] == "endpoint" and plan["openai_api_base"] == srv.base_url
    assert plan["port"] == port and plan["netuid"] == 20 and plan["wallet"] == "cold/hot"
    assert plan["min_validator_stake"] == 25.0
    assert plan["protocol_version"] == "1.0"
    assert plan["external_ip"] == "127.0.0.1"  # the local profile listens on loopback, fine on a local chain
    assert data["vetted"] == {"model": None, "submit_model": None}
    assert data["warnings"] == []


def test_dry_run_reads_env_and_profile(run_cli, monkeypatch):
    monkeypatch.setenv("BITAGENT_MINER_OPENAI_API_BASE", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("BITAGENT_MINER_RATE_LIMIT_PER_MIN", "7")
    code, out, _ = run_cli(
        "mine",
        "--dry-run",
        "--json",
        "--profile",
        "testnet",
        "--port",
        "8100",
        "--host",
        "0.0.0.0",
        "--external-ip",
        "203.0.113.7",
    )
    assert code == 1  # no wallet, no server on :8000 (listed, see test_mine_dry_run.py)
    plan = json.loads(out)["plan"]
    assert plan["rate_limit_per_min"] == 7 and plan["network"] == "test" and plan["netuid"] == 76
    assert (plan["host"], plan["port"], plan["external_ip"]) == ("0.0.0.0", 8100, "203.0.113.7")


def test_dry_run_warns_about_an_unreachable_address(run_cli):
    code, out, _ = run_cli(
        "mine",
        "--dry-run",
        "--json",
        "--profile",
        "mainnet",
        "--openai-api-base",
        "http://127.0.0.1:8000/v1",
        "--host",
        "127.0.0.1",
    )
    assert code == 1  # no wallet, no server on :8000
    data = json.loads(out)
    assert any("miner.external_ip" in w for w in data["warnings"])


def test_no_model_is_a_usage_error(run_cli):
    code, out, err = run_cli("mine", "--dry-run", "--json")
    assert code == 2
    data = json.loads(out)
    assert data["ok"] is False and "--hf-model-name-to-run" in data["error"]
    assert err.count("\n") == 1


def test_model_refused_in_dry_run_is_one_line(run_cli, tmp_path):
    code, _, err = run_cli("mine", "--dry-run", "--hf-model-name-to-run", str(tmp_path / "missing"))
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1


def test_bad_backend_is_a_usage_error(run_cli):
    code, _, err = run_cli("mine", "--dry-run", "--backend", "tpu", "--openai-api-base", "http://x/v1")
    assert code == 2 and "--backend" in err


def test_help_lists_the_seed_flags(run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("TERMINAL_WIDTH", "250")
    code, out, _ = run_cli("mine", "--help")
    assert code == 0
    for flag in (
        "--hf-model-name-to-run",
        "--openai-api-base",
        "--miner-hf-model-name-to-submit",
        "--port",
        "--dry-run",
        "--wallet-name",
        "--network",
        "--json",
    ):
        assert flag in out
