"""`mine --dry-run` checks everything a start needs and lists every failure; the seed's network flags pick
the matching profile; loopback on a public network is warned about; validate with no chain fails (issue 11)."""

from __future__ import annotations

import json
import socket

from chain_fakes import make_wallet
from test_eval_fakes import FakeOpenAI


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_failure_is_listed(run_cli, tmp_path):
    code, out, err = run_cli(
        "mine",
        "--dry-run",
        "--json",
        "--axon.port",
        "99999",
        "--wallet.path",
        str(tmp_path / "nowhere"),
        "--openai-api-base",
        f"http://127.0.0.1:{_closed_port()}/v1",
    )
    assert code == 1, err
    d = json.loads(out)
    assert d["ok"] is False and d["dry_run"] is True
    assert [f["check"] for f in d["failures"]] == ["port", "wallet", "openai-api-base"]
    assert all(f["problem"] and f["fix"] for f in d["failures"])
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 3 check(s) failed (port, wallet, openai-api-base)")


def test_a_busy_port_fails(run_cli, tmp_path):
    make_wallet(tmp_path / "w", "default", "default")
    with socket.socket() as busy, FakeOpenAI() as srv:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, out, err = run_cli(
            "mine",
            "--dry-run",
            "--json",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--wallet-path",
            str(tmp_path / "w"),
            "--openai-api-base",
            srv.base_url,
        )
    assert code == 1, err
    failures = json.loads(out)["failures"]
    assert [f["check"] for f in failures] == ["port"] and "in use" in failures[0]["problem"]


def test_all_good_passes_and_the_table_lists_failures(run_cli, tmp_path):
    make_wallet(tmp_path / "w", "default", "default")
    with FakeOpenAI() as srv:
        code, out, err = run_cli(
            "mine",
            "--dry-run",
            "--port",
            str(_closed_port()),
            "--wallet-path",
            str(tmp_path / "w"),
            "--openai-api-base",
            srv.base_url,
        )
    assert code == 0, err
    assert "FAIL" not in out
    code, out, err = run_cli(
        "mine",
        "--dry-run",
        "--port",
        "0",
        "--wallet-path",
        str(tmp_path / "w"),
        "--openai-api-base",
        f"http://127.0.0.1:{_closed_port()}/v1",
    )
    assert code == 1 and "FAIL port" in out and "FAIL openai-api-base" in out


def test_seed_network_flag_selects_the_matching_profile(run_cli, tmp_path):
    code, out, err = run_cli(
        "mine",
        "--dry-run",
        "--json",
        "--subtensor.network",
        "finney",
        "--netuid",
        "20",
        "--axon.port",
        str(_closed_port()),
        "--openai-api-base",
        "http://127.0.0.1:1/v1",
    )
    assert code == 1, err  # no wallet, no server: listed; the plan is still shown
    plan = json.loads(out)["plan"]
    assert plan["network"] == "finney" and plan["host"] == "0.0.0.0" and plan["min_validator_stake"] == 1000.0
    _, _, err = run_cli(
        "mine", "--dry-run", "--subtensor.network", "test", "--openai-api-base", "http://127.0.0.1:1/v1"
    )
    assert "using profile testnet for --network test" in err


def test_loopback_on_a_public_network_is_warned_about(run_cli):
    _, out, _ = run_cli(
        "mine",
        "--dry-run",
        "--json",
        "--profile",
        "local",
        "--subtensor.network",
        "finney",
        "--openai-api-base",
        "http://127.0.0.1:1/v1",
    )
    warnings = json.loads(out)["warnings"]
    assert any("listen on 127.0.0.1 (loopback) on finney" in w for w in warnings), warnings
    assert any("profile local" in w and "--profile mainnet" in w for w in warnings), warnings
    _code, out, _err = run_cli(
        "mine", "--dry-run", "--json", "--profile", "local", "--openai-api-base", "http://127.0.0.1:1/v1"
    )
    assert not any("loopback" in w for w in json.loads(out)["warnings"])  # a local chain: loopback is fine


def test_validate_warns_and_fails_without_a_chain(run_cli, tmp_path):
    make_wallet(tmp_path / "w", "default", "default")
    code, out, err = run_cli(
        "validate",
        "--dry-run",
        "--max-steps",
        "1",
        "--no-wandb",
        "--json",
        "--wallet-path",
        str(tmp_path / "w"),
        "--profile",
        "local",
        "--chain-endpoint",
        f"ws://127.0.0.1:{_closed_port()}",
        "--state-file",
        str(tmp_path / "state.sqlite"),
    )
    assert code == 1, (out, err)
    d = json.loads(out)
    assert d["ok"] is False and "no step reached the chain" in d["error"] and "cannot reach the chain" in d["error"]
    assert "uid None" not in out + err


def test_validate_warns_about_the_local_profile_on_a_public_network():
    from bitagent_cli.cli._common import public_network_warnings
    from bitagent_cli.config import load_settings

    s = load_settings("local", {"chain.network": "finney"})
    (w,) = public_network_warnings(s, listens=False)  # a validator listens on nothing: only the profile
    assert "profile local" in w and "--profile mainnet" in w
    assert public_network_warnings(load_settings("mainnet"), listens=False) == []
    assert public_network_warnings(load_settings("local"), listens=True) == []
