"""scripts/quickstart_local.sh (the seed's setup_and_run flags) and the pm2 ecosystem files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "quickstart_local.sh"


def quickstart(*args, env=None):
    out = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    return out.returncode, out.stdout, out.stderr


def commands(stdout):
    return [line[2:] for line in stdout.splitlines() if line.startswith("+ ")]


def test_help_lists_the_seed_flags():
    out = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    for flag in (
        "--num_validators",
        "--num_miners",
        "--subnet_prefix",
        "--skip-wallet",
        "--skip-faucet",
        "--skip-subnet",
        "--skip-reg",
        "--skip-val-reg",
        "--skip-miner-reg",
        "--skip-launch",
        "--skip-launch_v",
        "--only-launch",
        "--test-net",
        "--main-net",
        "--netuid",
    ):
        assert flag in out.stdout


def test_default_run_is_one_validator_two_miners_on_local():
    code, out, err = quickstart()
    assert code == 0, err
    cmds = commands(out)
    assert sum("wallet-setup" in c and "--role miner" in c for c in cmds) == 2
    assert sum("wallet-setup" in c and "--role validator" in c for c in cmds) == 1
    assert sum(c.startswith("bitagent register") for c in cmds) == 3
    mines = [c for c in cmds if c.startswith("bitagent mine")]
    assert len(mines) == 2 and "--port 8091" in mines[0] and "--port 8092" in mines[1]
    assert all("--network local" in c and "--netuid 1" in c for c in mines)
    vals = [c for c in cmds if c.startswith("bitagent validate")]
    assert len(vals) == 1 and "local_subnet_testing_bitagent_validator_0" in vals[0]
    assert any(c.startswith("btcli subnets create") for c in cmds)
    setups = [c for c in cmds if c.startswith("bitagent wallet-setup")]
    assert setups and all("--no-password" in c and "--netuid" not in c for c in setups)
    funds = [c for c in setups if "--fund" in c]
    assert len(funds) == 4 and "--fund 10000" in funds[0] and all("--fund 100" in c for c in funds[1:])


def test_only_launch_and_counts_and_prefix():
    code, out, _ = quickstart("--only-launch", "--num_validators", "2", "--num_miners", "3", "--subnet_prefix", "t")
    cmds = commands(out)
    assert code == 0
    assert not [c for c in cmds if "wallet-setup" in c or "register" in c or "btcli" in c]
    assert [c.split()[1] for c in cmds] == ["mine"] * 3 + ["validate"] * 2
    assert "t_miner_2" in cmds[2] and "t_validator_1" in cmds[4]


def test_skips():
    _, out, _ = quickstart("--skip-wallet", "--skip-faucet", "--skip-subnet", "--skip-miner-reg", "--skip-launch_v")
    cmds = commands(out)
    assert [c.split()[1] for c in cmds] == ["register", "mine", "mine"]
    assert "validator_0" in cmds[0]
    _, out, _ = quickstart("--skip-reg", "--skip-launch", "--skip-subnet", "--skip-faucet")
    assert {c.split()[1] for c in commands(out)} == {"wallet-setup"}


def test_test_net_and_main_net():
    _, out, _ = quickstart("--test-net", "--skip-launch")
    cmds = commands(out)
    assert cmds and all("--network test" in c and "--profile testnet" in c for c in cmds)
    assert all("--netuid 76" in c for c in cmds if "wallet-setup" not in c)
    assert not [c for c in cmds if "--fund" in c or "btcli" in c]  # no faucet, no subnet creation
    code, _, err = quickstart("--main-net")
    assert code == 2 and "--max-burn" in err  # real TAO: the cap is required
    code, out, _ = quickstart("--main-net", "--max-burn", "1.5", "--skip-launch", "--password-file", "/p")
    regs = [c for c in commands(out) if c.startswith("bitagent register")]
    assert code == 0 and len(regs) == 3
    assert all("--netuid 20" in c and "--max-burn 1.5" in c and "--password-file /p" in c for c in regs)
    assert all("--password-file /p" in c for c in commands(out) if "wallet-setup" in c)


def test_model_and_llm_flags():
    _, out, _ = quickstart(
        "--only-launch", "--openai-api-base", "http://127.0.0.1:8000/v1", "--llm-base-url", "http://127.0.0.1:9000/v1"
    )
    cmds = commands(out)
    mines = [c for c in cmds if " mine " in f" {c} "]
    assert mines and all("--openai-api-base http://127.0.0.1:8000/v1" in c for c in mines)
    assert "--llm-base-url http://127.0.0.1:9000/v1" in next(c for c in cmds if "validate" in c)


def test_bad_flags_are_usage_errors():
    assert quickstart("--num_miners")[0] == 2
    assert quickstart("--num_miners", "two")[0] == 2
    assert quickstart("--bogus")[0] == 2


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("role", ["miner", "validator"])
def test_pm2_ecosystem_files_build_the_command(role):
    env = {
        **os.environ,
        "NAME": f"x-{role}",
        "WALLET_NAME": "cold",
        "WALLET_HOTKEY": "hk",
        "PROFILE": "mainnet",
        "MODEL": "org/m",
        "PORT": "9000",
        "LLM_BASE_URL": "http://l/v1",
        "WANDB": "1",
        "BITAGENT_BIN": "/venv/bin/bitagent",
    }
    js = f"const c=require('./scripts/ecosystem.{role}.config.js'); console.log(JSON.stringify(c.apps[0]))"
    app = json.loads(
        subprocess.run(
            ["node", "-e", js], capture_output=True, text=True, cwd=REPO, env=env, check=True, timeout=30
        ).stdout
    )
    assert app["name"] == f"x-{role}" and app["script"] == "/venv/bin/bitagent" and app["interpreter"] == "none"
    args = app["args"]
    assert args[0] == ("mine" if role == "miner" else "validate")
    assert args[args.index("--profile") + 1] == "mainnet" and args[args.index("--wallet-name") + 1] == "cold"
    if role == "miner":
        assert args[args.index("--port") + 1] == "9000" and "--hf-model-name-to-run" in args
    else:
        assert "--wandb" in args and args[args.index("--llm-base-url") + 1] == "http://l/v1"
