import json

import pytest

from bitagent_cli.config import ConfigError, load_settings


def test_shipped_profiles_resolve():
    assert load_settings("mainnet")["chain.netuid"] == 20
    assert load_settings("mainnet")["chain.network"] == "finney"
    assert load_settings("testnet")["chain.netuid"] == 76
    assert load_settings("testnet")["chain.network"] == "test"
    assert load_settings()["chain.network"] == "local"


def test_precedence_flag_over_env_over_profile(monkeypatch):
    monkeypatch.setenv("BITAGENT_CHAIN_NETUID", "99")
    s = load_settings("mainnet")
    assert s["chain.netuid"] == 99 and s.sources["chain.netuid"] == "env BITAGENT_CHAIN_NETUID"
    s = load_settings("mainnet", {"chain.netuid": 5})
    assert s["chain.netuid"] == 5 and s.sources["chain.netuid"] == "flag"
    s = load_settings("mainnet", {"chain.netuid": None})  # flag not given
    assert s["chain.netuid"] == 99


def test_user_profile_overrides_and_adds(tmp_path, monkeypatch):
    d = tmp_path / "cfg"
    (d / "profiles").mkdir(parents=True)
    (d / "profiles" / "mainnet.toml").write_text('[wallet]\nname = "cold"\n')
    (d / "profiles" / "mine.toml").write_text("[chain]\nnetuid = 3\n")
    monkeypatch.setenv("BITAGENT_CONFIG_DIR", str(d))
    s = load_settings("mainnet")
    assert s["wallet.name"] == "cold" and s["chain.netuid"] == 20
    assert s.sources["wallet.name"].endswith("mainnet.toml")
    assert load_settings("mine")["chain.netuid"] == 3


@pytest.mark.parametrize(
    "body,needle",
    [
        ('[chain]\nnetuid = "abc"\n', "chain.netuid"),
        ('[chain]\nnetwrk = "x"\n', "unknown key 'chain.netwrk'"),
        ("[chain\n", "not valid TOML"),
        ('[eval]\nbackend = "gpu"\n', "use one of"),
    ],
)
def test_bad_toml_is_one_line_naming_file_and_key(tmp_path, monkeypatch, body, needle):
    d = tmp_path / "cfg"
    (d / "profiles").mkdir(parents=True)
    (d / "profiles" / "bad.toml").write_text(body)
    monkeypatch.setenv("BITAGENT_CONFIG_DIR", str(d))
    with pytest.raises(ConfigError) as e:
        load_settings("bad")
    msg = str(e.value)
    assert needle in msg and "bad.toml" in msg and "\n" not in msg


def test_unknown_profile_cli(run_cli):
    code, out, err = run_cli("profile", "show", "nope", "--json")
    assert code == 2
    assert json.loads(out)["ok"] is False
    assert "unknown profile 'nope'" in err and "Traceback" not in err


def test_profile_show_json_sources(run_cli, monkeypatch):
    monkeypatch.setenv("BITAGENT_WALLET_NAME", "alice")
    code, out, _ = run_cli("profile", "show", "testnet", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["profile"] == "testnet"
    assert d["settings"]["wallet.name"] == {"value": "alice", "source": "env BITAGENT_WALLET_NAME"}
    assert d["settings"]["chain.netuid"]["value"] == 76


def test_dotted_aliases_rewritten():
    from bitagent_cli.cli._common import rewrite_argv

    assert rewrite_argv(
        ["mine", "--subtensor.network", "test", "--wallet.name=a", "--logging.debug", "--axon.port", "9"]
    ) == ["mine", "--network", "test", "--wallet-name=a", "-v", "--port", "9"]


def test_usage_error_exit_2(run_cli):
    code, _, err = run_cli("profile", "show", "--bogus")
    assert code == 2 and "No such option" in err
