"""wallet-setup's next steps and every "create it with" fix keep --wallet-path (issue 11): following them must
use the same wallets directory, not make a second coldkey in ~/.bittensor/wallets."""

from __future__ import annotations

import json
import shlex

from chain_fakes import make_wallet


def test_next_steps_keep_the_wallet_path(run_cli, tmp_path):
    w = str(tmp_path / "wallets")
    code, out, err = run_cli("wallet-setup", "--role", "validator", "--no-password", "--wallet-path", w, "--json")
    assert code == 0, err
    steps = json.loads(out)["next_steps"]
    assert steps and all(f"--wallet-path {w}" in s or f"--wallet.path {w}" in s for s in steps), steps


def test_default_path_is_not_spelled_out(run_cli):
    code, out, err = run_cli("wallet-setup", "--role", "miner", "--no-password", "--json")
    assert code == 0, err
    assert not any("--wallet-path" in s for s in json.loads(out)["next_steps"])


def test_the_suggested_fix_adds_the_hotkey_to_the_same_coldkey(run_cli, tmp_path):
    w = tmp_path / "wallets"
    tw = make_wallet(w, "cold", "hk1")
    code, out, err = run_cli("submit-model", "--show", "--json", "--wallet-path", str(w), "-w", "cold", "-H", "hk2")
    assert code != 0
    msg = json.loads(out)["error"]
    fix = msg.split("`")[1]
    assert fix == f"bitagent wallet-setup -w cold -H hk2 --wallet-path {w}"
    args = shlex.split(fix)[1:]
    code, out, err = run_cli(*args, "--no-password", "--json")
    assert code == 0, err
    assert len(list(w.iterdir())) == 1  # still the one wallet directory
    assert (w / "cold" / "coldkeypub.txt").read_text().find(tw.coldkey_ss58) >= 0  # the same coldkey
    assert (w / "cold" / "hotkeys" / "hk2").is_file()


def test_doctor_fix_keeps_the_wallet_path(run_cli, tmp_path):
    _code, out, _err = run_cli(
        "doctor", "--json", "--wallet-path", str(tmp_path / "w"), "--network", "ws://127.0.0.1:1"
    )
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert f"--wallet-path {tmp_path / 'w'}" in checks["wallet"]["fix"]
