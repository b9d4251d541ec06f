"""`bitagent validate` and `bitagent doctor` as a user runs them, against the fake chain."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("bittensor")

from chain_fakes import make_wallet


@pytest.fixture
def vali(tmp_path, fake_chain):
    w = make_wallet(tmp_path / "wallets", "vali", "hk")
    fake_chain.subnet(76).weights_rate_limit = 1
    fake_chain.register(76, w.hotkey_ss58, w.coldkey_ss58, stake=5000.0, validator_permit=True)
    other = make_wallet(tmp_path / "wallets", "miner", "hk")
    fake_chain.register(76, other.hotkey_ss58, other.coldkey_ss58)  # registered, no endpoint
    return w


def test_validate_runs_steps_and_prints_json(run_cli, vali, fake_chain, tmp_path):
    state = tmp_path / "state.sqlite"
    code, out, err = run_cli(
        "validate",
        *vali.flags,
        "--max-steps",
        "2",
        "--step-seconds",
        "0",
        "--no-offline",
        "--no-wandb",
        "--state-file",
        str(state),
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] is True and doc["steps_run"] == 2 and doc["uid"] == 0 and doc["netuid"] == 76
    assert doc["counts"]["steps"] == 2 and doc["counts"]["queries"] == 0  # nobody serves: nothing to ask
    assert [m["uid"] for m in doc["miners"]] == [1]
    assert doc["last_step"]["step"] == 1 and doc["last_step"]["committed"] is True
    assert fake_chain.weights_calls == []  # every score is 0: no weights rather than an even split
    # a second run resumes the same state
    code, out, _ = run_cli(
        "validate",
        *vali.flags,
        "--max-steps",
        "1",
        "--step-seconds",
        "0",
        "--no-offline",
        "--no-wandb",
        "--state-file",
        str(state),
        "--json",
    )
    assert code == 0 and json.loads(out)["counts"]["steps"] == 3


def test_validate_table_output_and_default_state_location(run_cli, vali, tmp_path):
    code, out, err = run_cli(
        "validate", *vali.flags, "--max-steps", "1", "--step-seconds", "0", "--no-wandb", "--dry-run"
    )
    assert code == 0, err
    assert "dry run" in err and "step 0 block" in err
    assert "validator uid 0 on netuid 76: 1 step(s) run" in out
    data = Path(os.environ["BITAGENT_PATHS_DATA_DIR"])
    assert [p.relative_to(data).parts[:2] for p in data.glob("validator/*/*/state.sqlite")] == [
        ("validator", "local-76")
    ]


def test_validate_missing_wallet_is_one_line(run_cli, tmp_path, fake_chain):
    code, out, err = run_cli("validate", "--wallet-path", str(tmp_path / "none"), "--max-steps", "1", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and "wallet-setup" in doc["error"]
    assert err.count("\n") == 1


def test_doctor_reaches_the_fake_chain(run_cli, vali):
    code, out, _err = run_cli("doctor", *vali.flags, "--json")
    doc = json.loads(out)
    chain = next(c for c in doc["checks"] if c["name"] == "chain")
    assert chain["status"] == "ok" and "block" in chain["detail"], chain
    wallet = next(c for c in doc["checks"] if c["name"] == "wallet")
    assert wallet["status"] == "ok", wallet
    assert code == 0, doc
