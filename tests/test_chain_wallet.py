"""`bitagent wallet-setup` and the wallet helpers: non-interactive creation, never overwriting, 0600
files, mnemonics only in --mnemonic-out, no secret on stdout, stderr or in logs, //Alice funding on a
local chain (the in-memory chain of tests/chain_fakes.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

pytest.register_assert_rewrite("chain_fakes")
from chain_fakes import make_wallet  # noqa: E402

PASSWORD = "s3cret-wallet-pass"


def _json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _key_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_no_password_test_keys_with_json(run_cli, tmp_path):
    wp = tmp_path / "wallets"
    code, out, err = run_cli(
        "wallet-setup", "--role", "miner", "-w", "m", "-H", "hk", "--wallet-path", str(wp), "--no-password", "--json"
    )
    assert code == 0, err
    obj = _json(out)
    assert obj["ok"] is True and obj["role"] == "miner" and obj["wallet"] == "m"
    kinds = [(k["kind"], k["name"]) for k in obj["created"]]
    assert kinds == [("coldkey", "m"), ("hotkey", "m/hk")]
    assert obj["created"][0]["encrypted"] is False and obj["existing"] == [] and obj["mnemonics_saved"] == 0
    assert all(k["ss58"] and k["ss58"].startswith("5") for k in obj["created"])
    assert any("bitagent register -w m -H hk" in s for s in obj["next_steps"])
    files = _key_files(wp)
    assert {p.name for p in files} == {"coldkey", "coldkeypub.txt", "hk", "hkpub.txt"}
    assert all(_mode(p) == 0o600 for p in files)
    assert "mnemonics were not saved" in err


@pytest.mark.slow
def test_encrypted_coldkey_from_env_password_and_secrets_stay_secret(run_cli, tmp_path, monkeypatch, caplog):
    import bittensor as bt

    wp, mfile = tmp_path / "wallets", tmp_path / "mnemonics.txt"
    monkeypatch.setenv("BT_WALLET_PASSWORD", PASSWORD)
    caplog.set_level("DEBUG")
    code, out, err = run_cli(
        "wallet-setup",
        "--role",
        "validator",
        "-w",
        "v",
        "-H",
        "hk",
        "--wallet-path",
        str(wp),
        "--mnemonic-out",
        str(mfile),
        "-v",
    )
    assert code == 0, err
    assert _mode(mfile) == 0o600
    lines = [ln for ln in mfile.read_text().splitlines() if not ln.startswith("#")]
    assert [ln.split(":")[0] for ln in lines] == ["coldkey v", "hotkey v/hk"]
    phrases = [ln.split(": ", 1)[1] for ln in lines]
    assert all(len(p.split()) == 12 for p in phrases)
    shown = out + err + caplog.text
    for secret in [*phrases, PASSWORD]:
        assert secret not in shown
    for word_run in (" ".join(p.split()[:3]) for p in phrases):  # not even part of a phrase
        assert word_run not in shown
    w = bt.Wallet("v", "hk", path=str(wp))
    assert w.coldkey_file.is_encrypted()
    assert w.get_coldkey(PASSWORD).ss58_address == w.coldkeypub.ss58_address
    # the mnemonic restores the same key
    assert bt.sp_core.Keypair.create_from_mnemonic(phrases[0]).ss58_address == w.coldkeypub.ss58_address
    assert all(_mode(p) == 0o600 for p in _key_files(wp))


@pytest.mark.slow
def test_password_file_and_json_never_contain_secrets(run_cli, tmp_path, caplog):
    wp, pw, mfile = tmp_path / "wallets", tmp_path / "pw", tmp_path / "m.txt"
    pw.write_text(PASSWORD + "\n")
    caplog.set_level("DEBUG")
    code, out, err = run_cli(
        "wallet-setup",
        "-w",
        "p",
        "--wallet-path",
        str(wp),
        "--password-file",
        str(pw),
        "--mnemonic-out",
        str(mfile),
        "--json",
        "-vv",
    )
    assert code == 0, err
    obj = _json(out)
    assert obj["created"][0]["encrypted"] is True and obj["mnemonics_saved"] == 2
    assert obj["mnemonic_out"] == str(mfile)
    phrases = [ln.split(": ", 1)[1] for ln in mfile.read_text().splitlines() if not ln.startswith("#")]
    for secret in [*phrases, PASSWORD]:
        assert secret not in out + err + caplog.text


def test_existing_hotkey_is_refused_without_overwrite(run_cli, tmp_path):
    wp = tmp_path / "wallets"
    args = ("wallet-setup", "-w", "x", "-H", "hk", "--wallet-path", str(wp), "--no-password")
    assert run_cli(*args)[0] == 0
    before = {p: p.read_bytes() for p in _key_files(wp)}
    code, out, _ = run_cli(*args, "--json")
    assert code == 2
    obj = _json(out)
    assert obj["ok"] is False and obj["kind"] == "exists" and "--overwrite" in obj["error"]
    assert {p: p.read_bytes() for p in _key_files(wp)} == before  # nothing touched
    code, out, _ = run_cli(*args, "--overwrite", "--json")
    assert code == 0
    obj = _json(out)
    assert [k["kind"] for k in obj["replaced"]] == ["coldkey", "hotkey"]
    after = {p: p.read_bytes() for p in _key_files(wp)}
    assert after[wp / "x" / "hotkeys" / "hk"] != before[wp / "x" / "hotkeys" / "hk"]


def test_existing_coldkey_is_kept_and_new_hotkeys_added(run_cli, tmp_path):
    wp = tmp_path / "wallets"
    assert run_cli("wallet-setup", "-w", "x", "-H", "a", "--wallet-path", str(wp), "--no-password")[0] == 0
    cold = (wp / "x" / "coldkey").read_bytes()
    # no password needed: the coldkey exists and is kept
    code, out, err = run_cli("wallet-setup", "-w", "x", "-H", "b", "--wallet-path", str(wp), "--json")
    assert code == 0, err
    obj = _json(out)
    assert [k["kind"] for k in obj["existing"]] == ["coldkey"] and [k["name"] for k in obj["created"]] == ["x/b"]
    assert (wp / "x" / "coldkey").read_bytes() == cold


def test_count_creates_numbered_hotkeys(run_cli, tmp_path):
    wp = tmp_path / "wallets"
    code, out, _ = run_cli(
        "wallet-setup",
        "-w",
        "local",
        "-H",
        "miner",
        "--count",
        "3",
        "--wallet-path",
        str(wp),
        "--no-password",
        "--json",
    )
    assert code == 0
    assert _json(out)["hotkeys"] == ["miner1", "miner2", "miner3"]
    assert sorted(p.name for p in (wp / "local" / "hotkeys").iterdir()) == [
        "miner1",
        "miner1pub.txt",
        "miner2",
        "miner2pub.txt",
        "miner3",
        "miner3pub.txt",
    ]


def test_no_password_given_is_a_usage_error(run_cli, tmp_path):
    wp = tmp_path / "wallets"
    code, _, err = run_cli("wallet-setup", "-w", "x", "--wallet-path", str(wp))
    assert code == 2 and "--password-file" in err and "BT_WALLET_PASSWORD" in err and "--no-password" in err
    assert not wp.exists()


def test_option_conflicts_and_mainnet_refuses_unencrypted(run_cli, tmp_path):
    wp, pw = tmp_path / "wallets", tmp_path / "pw"
    pw.write_text("x\n")
    assert run_cli("wallet-setup", "--wallet-path", str(wp), "--no-password", "--password-file", str(pw))[0] == 2
    code, _, err = run_cli("wallet-setup", "--wallet-path", str(wp), "--no-password", "--network", "finney")
    assert code == 2 and "finney" in err
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert run_cli("wallet-setup", "--wallet-path", str(wp), "--password-file", str(empty))[0] == 2
    assert run_cli("wallet-setup", "--wallet-path", str(wp), "--no-password", "-w", "../evil")[0] == 2
    assert run_cli("wallet-setup", "--wallet-path", str(wp), "--no-password", "--role", "king")[0] == 2
    assert not wp.exists()


def test_dry_run_writes_nothing(run_cli, tmp_path):
    wp, mfile = tmp_path / "wallets", tmp_path / "m.txt"
    code, out, _ = run_cli(
        "wallet-setup",
        "-w",
        "d",
        "--wallet-path",
        str(wp),
        "--no-password",
        "--dry-run",
        "--mnemonic-out",
        str(mfile),
        "--json",
    )
    assert code == 0
    obj = _json(out)
    assert obj["dry_run"] is True and [k["kind"] for k in obj["created"]] == ["coldkey", "hotkey"]
    assert not wp.exists() and not mfile.exists()


def test_mnemonic_file_is_appended_not_clobbered(run_cli, tmp_path):
    wp, mfile = tmp_path / "wallets", tmp_path / "m.txt"
    mfile.write_text("# my older notes\n")
    os.chmod(mfile, 0o644)
    assert (
        run_cli("wallet-setup", "-w", "a", "--wallet-path", str(wp), "--no-password", "--mnemonic-out", str(mfile))[0]
        == 0
    )
    text = mfile.read_text()
    assert text.startswith("# my older notes\n") and "coldkey a:" in text
    assert _mode(mfile) == 0o600


def test_fund_from_alice_on_a_local_chain(run_cli, fake_chain, tmp_path):
    import bittensor as bt

    alice = bt.sp_core.Keypair.create_from_uri("//Alice").ss58_address
    fake_chain.fund(alice, 1000)
    wp = tmp_path / "wallets"
    code, out, err = run_cli(
        "wallet-setup", "-w", "f", "--wallet-path", str(wp), "--no-password", "--fund", "25", "--json"
    )
    assert code == 0, err
    obj = _json(out)
    cold = obj["created"][0]["ss58"]
    assert obj["funded"]["amount"] == 25 and obj["funded"]["balance"] == 25
    assert fake_chain.balance_tao(cold) == 25 and fake_chain.balance_tao(alice) == 975
    assert fake_chain.calls("transfer_keep_alive")[0].signer == alice


def test_fund_is_refused_off_a_local_chain(run_cli, tmp_path):
    code, _, err = run_cli(
        "wallet-setup", "--wallet-path", str(tmp_path / "w"), "--no-password", "--fund", "5", "--network", "test"
    )
    assert code == 2 and "local chain" in err
    assert not (tmp_path / "w").exists()


# ---------------------------------------------------------------- library helpers
def test_load_wallet_and_unlock_errors(tmp_path, monkeypatch):
    from bitagent_cli.chain import WalletError, load_wallet, resolve_password, unlock_coldkey

    w = make_wallet(tmp_path, "lib", "hk")
    wal = load_wallet(w.settings())
    assert wal.hotkey.ss58_address == w.hotkey_ss58
    assert unlock_coldkey(wal).coldkey.ss58_address == w.coldkey_ss58  # unencrypted: no password needed
    with pytest.raises(WalletError) as e:
        load_wallet(w.settings(**{"wallet.hotkey": "nope"}))
    assert e.value.kind == "missing" and "wallet-setup" in e.value.message
    with pytest.raises(WalletError) as e:
        load_wallet({"wallet.name": "ghost", "wallet.path": str(tmp_path)})
    assert e.value.kind == "missing"
    monkeypatch.setenv("BT_WALLET_PASSWORD", "from-env")
    assert resolve_password() == "from-env"
    pw = tmp_path / "pw"
    pw.write_text("from-file\nsecond line\n")
    assert resolve_password(password_file=str(pw)) == "from-file"  # the flag wins over the env
    monkeypatch.delenv("BT_WALLET_PASSWORD")
    monkeypatch.setenv("BT_WALLET_PASSWORD_FILE", str(pw))
    assert resolve_password() == "from-file"
    with pytest.raises(WalletError):
        resolve_password(password_file=str(tmp_path / "missing"))
