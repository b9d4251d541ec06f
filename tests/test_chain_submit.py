"""`bitagent submit-model` and the commitment format, against the in-memory chain (tests/chain_fakes.py):
vet -> repo@sha -> commit signed by the hotkey -> read back; --show; space-limit errors say when to retry."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

pytest.register_assert_rewrite("chain_fakes")
from chain_fakes import make_wallet  # noqa: E402

SHA = "0123456789abcdef0123456789abcdef01234567"
FP = "f1" * 32
SHA2 = "fedcba9876543210fedcba9876543210fedcba98"


def _json(out: str) -> dict:
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


@pytest.fixture
def vetted(monkeypatch):
    """Replace the Hub lookup of serving.vetting.vet_model; records the calls."""
    from bitagent_cli.serving import vetting

    calls = []

    def fake_vet(ref, *, max_params_b, max_download_gb, **kw):
        calls.append((ref, max_params_b, max_download_gb))
        repo, _, rev = ref.partition("@")
        if repo.endswith("/refused"):
            raise vetting.ModelRefused(f"{repo}: has custom code (auto_map); refused")
        return SimpleNamespace(
            repo=repo,
            sha=SHA2 if rev == "v2" else SHA,
            params=1_000_000,
            license="apache-2.0",
            size_bytes=2_000_000,
            local_path=None,
            fingerprint=FP,
        )

    def fake_fingerprint(repo, sha, **kw):  # the Hub's file metadata for --show
        calls.append(("fingerprint", repo, sha))
        return FP

    monkeypatch.setattr(vetting, "vet_model", fake_vet)
    monkeypatch.setattr(vetting, "remote_fingerprint", fake_fingerprint)
    return calls


@pytest.fixture
def miner(tmp_path, fake_chain):
    w = make_wallet(tmp_path / "wallets", "miner", "hk", hotkeys=("other",))
    fake_chain.register(76, w.hotkey_ss58, w.coldkey_ss58)
    return w


def test_commit_read_back_and_show(run_cli, fake_chain, miner, vetted):
    code, out, err = run_cli("submit-model", "org/tool-model", *miner.flags, "-y", "--json")
    assert code == 0, err
    obj = _json(out)
    assert obj["ok"] is True and obj["committed"] is True and obj["verified"] is True
    assert obj["payload"] == f"hf:org/tool-model@{SHA}" and obj["repo"] == "org/tool-model" and obj["sha"] == SHA
    assert obj["bytes"] <= 128 and obj["block"] == fake_chain.block and obj["hotkey"] == miner.hotkey_ss58
    assert fake_chain.commitment(76, miner.hotkey_ss58) == f"hf:org/tool-model@{SHA}"
    # signed by the hotkey, as one Raw field
    (ext,) = fake_chain.calls("set_commitment")
    assert ext.signer == miner.hotkey_ss58 and ext.params["netuid"] == 76
    # vetted with the eval settings, exactly as eval-model
    assert vetted == [("org/tool-model", 8.0, 40.0)]
    assert obj["vet"]["fingerprint"] == FP

    code, out, _ = run_cli("submit-model", "--show", *miner.flags, "--json")
    assert code == 0
    shown = _json(out)
    assert shown["committed"] is True and shown["payload"] == f"hf:org/tool-model@{SHA}"
    assert shown["model"] == {"repo": "org/tool-model", "sha": SHA} and shown["block"] == obj["block"]
    assert shown["fingerprint"] == FP and shown["fingerprint_error"] is None
    assert vetted[-1] == ("fingerprint", "org/tool-model", SHA)  # looked up for the committed sha
    code, out, _ = run_cli("submit-model", "--show", *miner.flags)
    assert code == 0 and "org/tool-model" in out and "weights fingerprint:" in out and FP in out.replace("\n", "")


def test_show_another_hotkey_by_address_or_name(run_cli, fake_chain, miner):
    fake_chain.set_commitment(76, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", f"hf:a/b@{SHA}")
    code, out, _ = run_cli(
        "submit-model", "--show", "--hotkey", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "--json"
    )
    assert code == 0 and _json(out)["model"] == {"repo": "a/b", "sha": SHA}
    # no Hub here (HF_HUB_OFFLINE): the commitment is still shown, the fingerprint says why it is missing
    assert _json(out)["fingerprint"] is None and "HF_HUB_OFFLINE" in _json(out)["fingerprint_error"]
    code, out, _ = run_cli("submit-model", "--show", "--hotkey", "other", *miner.flags, "--json")
    assert code == 0
    obj = _json(out)
    assert obj["committed"] is False and obj["payload"] is None and obj["model"] is None


def test_same_model_again_writes_nothing(run_cli, fake_chain, miner, vetted):
    assert run_cli("submit-model", "org/m", *miner.flags, "-y")[0] == 0
    code, out, _ = run_cli("submit-model", "org/m", *miner.flags, "--json")  # no -y needed: nothing to write
    assert code == 0
    obj = _json(out)
    assert obj["already_committed"] is True and obj["committed"] is False
    assert len(fake_chain.calls("set_commitment")) == 1


def test_new_revision_replaces_the_commitment(run_cli, fake_chain, miner, vetted):
    assert run_cli("submit-model", "org/m", *miner.flags, "-y")[0] == 0
    code, out, _ = run_cli("submit-model", "org/m@v2", *miner.flags, "-y", "--json")
    assert code == 0
    obj = _json(out)
    assert obj["previous"] == f"hf:org/m@{SHA}" and obj["sha"] == SHA2
    assert fake_chain.commitment(76, miner.hotkey_ss58) == f"hf:org/m@{SHA2}"


def test_dry_run_writes_nothing(run_cli, fake_chain, miner, vetted):
    code, out, _ = run_cli("submit-model", "org/m", *miner.flags, "--dry-run", "--json")
    assert code == 0
    obj = _json(out)
    assert obj["dry_run"] is True and obj["committed"] is False and obj["payload"] == f"hf:org/m@{SHA}"
    assert fake_chain.extrinsics == []


def test_refused_model_exits_1_and_writes_nothing(run_cli, fake_chain, miner, vetted):
    code, out, _ = run_cli("submit-model", "org/refused", *miner.flags, "-y", "--json")
    assert code == 1
    assert "custom code" in _json(out)["error"]
    assert fake_chain.extrinsics == []


def test_unregistered_hotkey(run_cli, fake_chain, tmp_path, vetted):
    w = make_wallet(tmp_path / "w", "nobody", "hk")
    code, _, err = run_cli("submit-model", "org/m", *w.flags, "-y")
    assert code == 1 and "bitagent register" in err
    assert fake_chain.extrinsics == []


def test_space_limit_says_when_to_retry(run_cli, fake_chain, miner, vetted):
    fake_chain.subnet(76).commit_space_bytes = 150  # room for one commitment per epoch
    assert run_cli("submit-model", "org/m", *miner.flags, "-y")[0] == 0
    code, out, _ = run_cli("submit-model", "org/m@v2", *miner.flags, "-y", "--json")
    assert code == 1
    obj = _json(out)
    next_epoch = fake_chain.subnet(76).last_epoch_block + fake_chain.subnet(76).tempo
    assert "SpaceLimitExceeded" in obj["error"] and obj["retry_at_block"] == next_epoch
    assert f"block {next_epoch}" in obj["error"]
    fake_chain.advance(next_epoch - fake_chain.block)  # a new epoch frees the space
    assert run_cli("submit-model", "org/m@v2", *miner.flags, "-y")[0] == 0


def test_confirmation_and_usage(run_cli, fake_chain, miner, vetted):
    code, _, err = run_cli("submit-model", "org/m", *miner.flags)  # no terminal, no -y
    assert code == 2 and "-y" in err
    assert fake_chain.extrinsics == []
    assert run_cli("submit-model", *miner.flags)[0] == 2  # no model
    assert run_cli("submit-model", "org/m", "--show", *miner.flags)[0] == 2  # both
    assert run_cli("submit-model", "org/m", "--hotkey", "x", *miner.flags)[0] == 2


def test_connection_drop_while_writing_is_checked_by_reading_back(run_cli, fake_chain, miner, vetted):
    fake_chain.drop_connection(1, during="submit")
    code, out, _ = run_cli("submit-model", "org/m", *miner.flags, "-y", "--json")
    assert code == 1 and "lost" in _json(out)["error"]  # it did not land: say so, do not guess
    assert fake_chain.commitment(76, miner.hotkey_ss58) is None


def test_library_submit_with_injected_vet(fake_chain, miner):
    from bitagent_cli.chain import connect, load_wallet, parse_commitment, submit_model

    def vet(ref, *, max_params_b, max_download_gb):
        assert max_params_b == 3.0
        return SimpleNamespace(repo="org/lib", sha=SHA, local_path=None)

    with connect(miner.settings(**{"chain.network": "local"})) as chain:
        out = submit_model(
            chain,
            load_wallet(miner.settings()),
            76,
            "org/lib",
            vet=vet,
            settings={"eval.max_params_b": 3.0, "eval.max_download_gb": 1.0},
        )
        assert out.verified and out.committed
        got = chain.get_commitments(76)
    assert parse_commitment(got[miner.hotkey_ss58][0]).ref == f"org/lib@{SHA}"


def test_local_directories_cannot_be_submitted(fake_chain, miner, tmp_path):
    from bitagent_cli.chain import ModelRejected, connect, load_wallet, submit_model

    def vet(ref, **kw):
        return SimpleNamespace(repo=str(tmp_path), sha="local:abc", local_path=tmp_path)

    with connect({"chain.network": "local"}) as chain, pytest.raises(ModelRejected, match="Hugging Face"):
        submit_model(chain, load_wallet(miner.settings()), 76, str(tmp_path), vet=vet)
    assert fake_chain.extrinsics == []


# ---------------------------------------------------------------- the format
def test_parse_and_format_commitment():
    from bitagent_cli.chain import MAX_COMMITMENT_BYTES, ModelRef, format_commitment, parse_commitment

    ref = ModelRef("Org-1/model_v2.5", SHA)
    text = format_commitment(ref)
    assert text == f"hf:Org-1/model_v2.5@{SHA}" and parse_commitment(text) == ref
    assert parse_commitment(f"Org-1/model_v2.5@{SHA}") == ref  # bare form accepted
    for bad in (
        None,
        "",
        "hello",
        f"hf:org/m@{SHA[:-1]}",
        f"hf:org/m@{SHA.upper()}",
        f"hf:org@{SHA}",
        f"hf:org/m/x@{SHA}",
        f"hf:../m@{SHA}",
        f"hf:org/m@{SHA}\n",
        "hf:org/m@main",
        "x" * 300,
        f"hf:org/m @{SHA}",
    ):
        assert parse_commitment(bad) is None, bad
    with pytest.raises(ValueError):
        format_commitment(ModelRef("org/" + "m" * 96, SHA))  # > 128 bytes
    assert len(format_commitment(ModelRef("o" * 40 + "/" + "m" * 40, SHA)).encode()) <= MAX_COMMITMENT_BYTES
