"""`bitagent register` against the in-memory chain (tests/chain_fakes.py), injected through the SDK's
``Subtensor(substrate=...)`` seam: idempotence, the price cap, block backoff on rate limits, dropped
connections, passwords, confirmation, dry runs and the --json shape."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.register_assert_rewrite("chain_fakes")
from chain_fakes import make_wallet  # noqa: E402

PASSWORD = "correct horse battery staple"


@pytest.fixture
def wallet(tmp_path, fake_chain):
    w = make_wallet(tmp_path / "wallets", "reg", "hk")
    fake_chain.fund(w.coldkey_ss58, 10)
    return w


@pytest.fixture(scope="session")
def _encrypted_template(tmp_path_factory):
    # Encrypting a coldkey takes seconds (argon2): make one per session, copy it per test.
    base = tmp_path_factory.mktemp("enc")
    return make_wallet(base / "wallets", "enc", "hk", password=PASSWORD)


@pytest.fixture
def enc_wallet(tmp_path, fake_chain, _encrypted_template):
    dest = tmp_path / "encwallets"
    shutil.copytree(_encrypted_template.path, dest)
    w = _encrypted_template
    fake_chain.fund(w.coldkey_ss58, 10)
    return type(w)(w.name, w.hotkey, str(dest), w.coldkey_ss58, w.hotkey_ss58, w.password)


def _json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def test_registers_and_prints_one_json_object(run_cli, fake_chain, wallet):
    code, out, err = run_cli("register", *wallet.flags, "--max-burn", "2", "-y", "--json")
    assert code == 0, err
    obj = _json(out)
    assert obj["ok"] is True and obj["registered"] is True and obj["already_registered"] is False
    assert obj["uid"] == 0 and obj["attempts"] == 1 and obj["cost"] == 1.0
    assert obj["block"] == fake_chain.block and obj["hotkey"] == wallet.hotkey_ss58
    assert {"uid", "cost", "attempts", "block", "coldkey", "netuid", "network", "extrinsic_id"} <= obj.keys()
    assert fake_chain.neuron(76, wallet.hotkey_ss58).uid == 0
    assert fake_chain.balance_tao(wallet.coldkey_ss58) == pytest.approx(9.0)
    assert "attempt 1" in err  # each attempt is logged on stderr


def test_already_registered_is_exit_0_and_spends_nothing(run_cli, fake_chain, wallet):
    fake_chain.register(76, wallet.hotkey_ss58, wallet.coldkey_ss58)
    fake_chain.register(76, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "x")
    n_ext = len(fake_chain.extrinsics)
    code, out, _ = run_cli("register", *wallet.flags, "--json")  # no -y needed: nothing to confirm
    assert code == 0
    obj = _json(out)
    assert obj["already_registered"] is True and obj["uid"] == 0 and obj["attempts"] == 0 and obj["cost"] == 0
    assert len(fake_chain.extrinsics) == n_ext
    assert fake_chain.balance_tao(wallet.coldkey_ss58) == 10


def test_second_run_is_idempotent(run_cli, fake_chain, wallet):
    assert run_cli("register", *wallet.flags, "-y")[0] == 0
    code, out, _ = run_cli("register", *wallet.flags, "-y", "--json")
    assert code == 0 and _json(out)["already_registered"] is True
    assert len(fake_chain.calls("burned_register")) == 1


def test_rate_limited_attempts_back_off_in_blocks_then_succeed(run_cli, fake_chain, wallet):
    sn = fake_chain.subnet(76)
    sn.adjustment_interval, sn.last_adjustment_block = 50, fake_chain.block - 10
    fake_chain.fail_next("burned_register", "TooManyRegistrationsThisInterval", times=2)
    start = fake_chain.block
    code, out, err = run_cli("register", *wallet.flags, "-y", "--json", "--max-attempts", "5")
    assert code == 0, err
    obj = _json(out)
    assert obj["attempts"] == 3 and obj["uid"] == 0
    assert [h["outcome"] for h in obj["history"]] == ["failed", "failed", "success"]
    assert obj["history"][0]["error_name"] == "TooManyRegistrationsThisInterval"
    # waited for the registration interval to reset, in blocks, between attempts
    blocks = [e.block for e in fake_chain.calls("burned_register")]
    assert blocks[1] - blocks[0] >= 39 and blocks[0] > start
    assert err.count("waiting") == 2 and "TooManyRegistrationsThisInterval" in err


def test_gives_up_after_max_attempts_with_exit_1(run_cli, fake_chain, wallet):
    fake_chain.fail_next("burned_register", "TooManyRegistrationsThisBlock", times=10)
    code, out, _ = run_cli("register", *wallet.flags, "-y", "--json", "--max-attempts", "3")
    assert code == 1
    obj = _json(out)
    assert obj["ok"] is False and obj["exit_code"] == 1 and obj["attempts"] == 3
    assert "gave up after 3 attempt" in obj["error"]
    assert len(fake_chain.calls("burned_register")) == 3
    assert fake_chain.balance_tao(wallet.coldkey_ss58) == 10


def test_price_rising_above_cap_mid_loop_exits_3_without_spending(run_cli, fake_chain, wallet):
    fake_chain.fail_next("burned_register", "TooManyRegistrationsThisInterval", times=1)
    fake_chain.on_submit(lambda chain, ext: chain.set_burn(76, 3.0))  # the price jumps after attempt 1
    code, out, err = run_cli("register", *wallet.flags, "-y", "--json", "--max-burn", "2")
    assert code == 3, err
    obj = _json(out)
    assert obj["exit_code"] == 3 and obj["price"] == 3.0 and obj["max_burn"] == 2.0 and obj["attempts"] == 2
    assert "above --max-burn" in obj["error"]
    assert len(fake_chain.calls("burned_register")) == 1  # the second attempt never submitted
    assert fake_chain.balance_tao(wallet.coldkey_ss58) == 10


def test_price_above_cap_before_the_first_attempt(run_cli, fake_chain, wallet):
    fake_chain.set_burn(76, 5.0)
    code, _, err = run_cli("register", *wallet.flags, "-y", "--max-burn", "1")
    assert code == 3 and "above --max-burn" in err
    assert fake_chain.calls("burned_register") == []


def test_connection_drops_are_retried(run_cli, fake_chain, wallet):
    fake_chain.drop_connection(2, during="read")
    code, out, err = run_cli("register", *wallet.flags, "-y", "--json")
    assert code == 0, err
    assert _json(out)["uid"] == 0
    assert fake_chain.connections >= 2  # reconnected


def test_connection_drop_while_submitting_rechecks_and_retries(run_cli, fake_chain, wallet):
    fake_chain.drop_connection(1, during="submit")
    code, out, err = run_cli("register", *wallet.flags, "-y", "--json")
    assert code == 0, err
    obj = _json(out)
    assert obj["attempts"] == 2 and obj["history"][0]["outcome"] == "connection"
    assert len(fake_chain.calls("burned_register")) == 1  # the dropped one never reached the chain


def test_lost_reply_after_landing_is_detected_not_paid_twice(run_cli, fake_chain, wallet):
    # The registration lands, then the connection drops before the reply: the next turn sees the uid.
    def drop_after_apply(chain, ext):
        if ext.function == "burned_register":
            chain.drop_connection(1, during="read")

    fake_chain.on_submit(drop_after_apply)
    code, out, err = run_cli("register", *wallet.flags, "-y", "--json")
    assert code == 0, err
    assert _json(out)["uid"] == 0
    assert len(fake_chain.calls("burned_register")) == 1
    assert fake_chain.balance_tao(wallet.coldkey_ss58) == 9


def test_insufficient_balance_gives_up_at_once(run_cli, fake_chain, tmp_path):
    w = make_wallet(tmp_path / "w2", "poor", "hk")
    fake_chain.fund(w.coldkey_ss58, 0.5)
    code, out, _ = run_cli("register", *w.flags, "-y", "--json")
    assert code == 1
    assert "fund it" in _json(out)["error"]
    assert fake_chain.calls("burned_register") == []


def test_closed_registration_waits_then_gives_up(run_cli, fake_chain, wallet):
    fake_chain.subnet(76).registration_allowed = False
    code, _, err = run_cli("register", *wallet.flags, "-y", "--max-attempts", "2", "--backoff-blocks", "3")
    assert code == 1 and "registration is closed" in err
    assert fake_chain.calls("burned_register") == []


def test_until_in_the_past_gives_up_after_one_attempt(run_cli, fake_chain, wallet):
    fake_chain.fail_next("burned_register", "TooManyRegistrationsThisInterval", times=5)
    code, _, err = run_cli("register", *wallet.flags, "-y", "--max-attempts", "0", "--until", "1000000000")
    assert code == 1 and "--until" in err
    assert len(fake_chain.calls("burned_register")) == 1


@pytest.mark.slow
def test_wrong_password_is_a_usage_error_and_sends_nothing(run_cli, fake_chain, enc_wallet, monkeypatch):
    monkeypatch.setenv("BT_WALLET_PASSWORD", "not the password")
    code, out, err = run_cli("register", *enc_wallet.flags, "-y", "--json")
    assert code == 2
    assert "wrong password" in _json(out)["error"]
    assert fake_chain.extrinsics == []
    assert "not the password" not in out + err


def test_missing_password_for_encrypted_coldkey(run_cli, fake_chain, enc_wallet):
    code, _, err = run_cli("register", *enc_wallet.flags, "-y")
    assert code == 2 and "BT_WALLET_PASSWORD" in err and "--password-file" in err
    assert fake_chain.extrinsics == []


@pytest.mark.slow
def test_password_file_unlocks_and_never_shows(run_cli, fake_chain, enc_wallet, tmp_path, caplog):
    pw = tmp_path / "pw.txt"
    pw.write_text(PASSWORD + "\n")
    caplog.set_level("DEBUG")
    code, out, err = run_cli("register", *enc_wallet.flags, "-y", "--json", "-v", "--password-file", str(pw))
    assert code == 0, err
    assert _json(out)["uid"] == 0
    assert PASSWORD not in out + err + caplog.text


def test_refuses_without_yes_and_without_a_terminal(run_cli, fake_chain, wallet):
    code, _, err = run_cli("register", *wallet.flags)
    assert code == 2
    assert "-y" in err and err.count("\n") == 1
    assert fake_chain.extrinsics == []


def test_dry_run_shows_plan_and_spends_nothing(run_cli, fake_chain, wallet):
    code, out, _ = run_cli("register", *wallet.flags, "--dry-run", "--json", "--max-burn", "2")
    assert code == 0
    obj = _json(out)
    assert obj["dry_run"] is True and obj["would_register"] is True and obj["price"] == 1.0
    assert obj["balance"] == 10 and obj["within_cap"] is True and obj["registered"] is False
    assert fake_chain.extrinsics == [] and fake_chain.balance_tao(wallet.coldkey_ss58) == 10
    code, out, _ = run_cli("register", *wallet.flags, "--dry-run")
    assert code == 0 and "nothing was sent" in out


def test_dry_run_exit_codes_follow_the_real_run(run_cli, fake_chain, wallet):
    fake_chain.set_burn(76, 3)
    assert run_cli("register", *wallet.flags, "--dry-run", "--max-burn", "2")[0] == 3
    fake_chain.set_burn(76, 30)
    assert run_cli("register", *wallet.flags, "--dry-run")[0] == 1
    assert fake_chain.extrinsics == []


def test_max_burn_is_required_on_finney(run_cli, fake_chain, wallet):
    code, _, err = run_cli("register", *wallet.flags, "-y", "--network", "finney", "--netuid", "76")
    assert code == 2 and "--max-burn" in err
    assert fake_chain.extrinsics == []


def test_usage_errors(run_cli, fake_chain, wallet):
    assert run_cli("register", *wallet.flags, "-y", "--netuid", "9")[0] == 2  # no such subnet
    assert run_cli("register", *wallet.flags, "-y", "--network", "nowhere")[0] == 2
    assert run_cli("register", *wallet.flags, "-y", "--until", "soonish")[0] == 2
    assert run_cli("register", *wallet.flags, "-y", "--max-attempts", "0")[0] == 2
    code, _, err = run_cli("register", "--wallet-name", "nobody", "--wallet-path", wallet.path, "-y")
    assert code == 2 and "wallet-setup" in err


def test_mev_shielded_registration_when_the_chain_has_a_key(run_cli, fake_chain, wallet):
    fake_chain.enable_mev_shield()
    code, out, err = run_cli("register", *wallet.flags, "-y", "--json")
    assert code == 0, err
    assert _json(out)["shielded"] is True
    assert [e.shielded for e in fake_chain.calls("burned_register")] == [True]
    assert len(fake_chain.calls("submit_encrypted")) == 1


def test_plain_call_fallback_without_a_shield_key(run_cli, fake_chain, wallet):
    code, out, _ = run_cli("register", *wallet.flags, "-y", "--json")
    assert code == 0 and _json(out)["shielded"] is False
    assert fake_chain.calls("submit_encrypted") == []


def test_help_documents_the_exit_codes(run_cli):
    code, out, _ = run_cli("register", "--help")
    assert code == 0
    for text in ("0 registered", "1 gave up", "2 usage", "3 price above"):
        assert text in " ".join(out.split())


def test_dotted_seed_flags_still_work(run_cli, fake_chain, wallet):
    code, out, _ = run_cli(
        "register",
        "--wallet.name",
        wallet.name,
        "--wallet.hotkey",
        wallet.hotkey,
        "--wallet.path",
        wallet.path,
        "--subtensor.network",
        "local",
        "-y",
        "--json",
    )
    assert code == 0 and _json(out)["uid"] == 0
