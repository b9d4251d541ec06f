"""A typo in a user profile (issue 11): 'did you mean', and `profile list/show` still run, marking the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def typo_profile(monkeypatch) -> Path:
    import os

    d = Path(os.environ["BITAGENT_CONFIG_DIR"]) / "profiles"
    d.mkdir(parents=True, exist_ok=True)
    path = d / "local.toml"
    path.write_text("[eval]\nconcurency = 8\nseed = 3\n")
    return path


def test_other_commands_say_did_you_mean(run_cli, typo_profile):
    code, _out, err = run_cli("runs", "list")
    assert code == 2
    assert err.strip() == (
        f"error: {typo_profile}: unknown key 'eval.concurency'; did you mean `concurrency` (eval.concurrency)?"
    )


def test_profile_show_still_runs_and_marks_the_problem(run_cli, typo_profile):
    code, out, err = run_cli("profile", "show", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["settings"]["eval.seed"] == {"value": 3, "source": str(typo_profile)}  # the good keys still apply
    assert d["settings"]["eval.concurrency"]["source"] == "default"
    assert len(d["problems"]) == 1 and "did you mean `concurrency`" in d["problems"][0]
    code, out, err = run_cli("profile", "show")
    assert code == 0 and "eval.concurency" in out and "did you mean" in out


def test_profile_list_marks_the_bad_file(run_cli, typo_profile):
    code, out, err = run_cli("profile", "list", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert str(typo_profile) in d["profiles"]["local"]
    assert list(d["problems"]) == [str(typo_profile)]
    code, out, err = run_cli("profile", "list")
    assert code == 0 and "errors" in out


def test_a_bad_value_and_bad_toml_are_marked_too(run_cli, typo_profile):
    typo_profile.write_text("[eval]\nrequest_timeout = nan\n")
    code, out, _ = run_cli("profile", "show", "--json")
    assert code == 0 and "finite number" in json.loads(out)["problems"][0]
    typo_profile.write_text("[eval\n")
    code, out, _ = run_cli("profile", "list", "--json")
    assert code == 0 and "not valid TOML" in json.loads(out)["problems"][str(typo_profile)][0]


def test_unknown_key_far_from_any_gets_the_list_hint(run_cli, typo_profile):
    typo_profile.write_text("[eval]\nqqqqqqqq = 1\n")  # no setting is close (xyzzy is close to eval.dtype)
    code, _, err = run_cli("runs", "list")
    assert code == 2 and "see `bitagent profile show` for the valid keys" in err


def test_profile_commands_take_profile(run_cli):
    code, out, _ = run_cli("profile", "show", "--profile", "mainnet", "--json")
    assert code == 0 and json.loads(out)["profile"] == "mainnet"
    code, out, _ = run_cli("profile", "list", "--profile", "testnet", "--json")
    assert code == 0 and json.loads(out)["active"] == "testnet"
