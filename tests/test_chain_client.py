"""The chain client the neurons use (``bitagent_cli.chain.connect``), over the real bittensor SDK with the
in-memory chain of tests/chain_fakes.py injected through ``Subtensor(substrate=...)``; plus network
resolution and the btauth/1 request signing wrappers."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("chain_fakes")
from chain_fakes import make_wallet  # noqa: E402

LOCAL = {"chain.network": "local"}


@pytest.fixture
def net(tmp_path, fake_chain):
    """A subnet with a validator (permit, stake) and two miners, one serving an endpoint."""
    v = make_wallet(tmp_path / "w", "val", "hk")
    m = make_wallet(tmp_path / "w", "min", "hk")
    fake_chain.register(76, v.hotkey_ss58, v.coldkey_ss58, stake=5000.0, validator_permit=True)
    fake_chain.register(76, m.hotkey_ss58, m.coldkey_ss58, axon=("203.0.113.7", 8091))
    fake_chain.register(
        76, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
    )
    return v, m


def _chain(**kw):
    from bitagent_cli.chain import connect

    return connect(LOCAL, retry_wait_s=0, **kw)


def test_network_resolution(monkeypatch):
    from bitagent_cli.chain import NetworkConfigError, resolve_network

    fin = resolve_network("finney")
    assert fin.is_mainnet and not fin.is_local and fin.endpoint.startswith("wss://") and not fin.pinned
    test = resolve_network("test")
    assert not test.is_mainnet and not test.is_local
    assert resolve_network("local").endpoint == "ws://127.0.0.1:9944"
    monkeypatch.setenv("BT_CHAIN_ENDPOINT", "ws://10.0.0.5:9946")
    assert resolve_network("local").endpoint == "ws://10.0.0.5:9946"  # read at call time, not import time
    custom = resolve_network("ws://localhost:9945")
    assert custom.is_local and custom.pinned and custom.endpoint == "ws://localhost:9945"
    explicit = resolve_network("test", "wss://my-node.example:443")
    assert explicit.name == "test" and explicit.pinned and explicit.endpoint == "wss://my-node.example:443"
    assert resolve_network("wss://entrypoint-finney.opentensor.ai:443").is_mainnet
    for bad in (("nowhere", None), ("local", "http://x:9944")):
        with pytest.raises(NetworkConfigError):
            resolve_network(*bad)


def test_reads(fake_chain, net):
    v, m = net
    with _chain() as chain:
        assert chain.block == fake_chain.block
        assert chain.uid(m.hotkey_ss58, 76) == 1 and chain.uid(m.hotkey_ss58, 77) is None
        assert chain.subnet_exists(76) and not chain.subnet_exists(77)
        assert chain.burn_rao(76) == 10**9 and chain.registration_allowed(76)
        assert chain.block_time() == 12.0
        snap = chain.metagraph_snapshot(76)
    assert [n.uid for n in snap] == [0, 1, 2]
    val, mine = snap[0], snap[1]
    assert val.hotkey == v.hotkey_ss58 and val.coldkey == v.coldkey_ss58
    assert val.validator_permit and val.stake == 5000.0 and val.axon is None
    assert not mine.validator_permit and (mine.axon_ip, mine.axon_port) == ("203.0.113.7", 8091)
    assert mine.axon == "203.0.113.7:8091"
    with _chain() as chain:
        assert chain.metagraph_snapshot(99) == []
    assert not fake_chain.unhandled, fake_chain.unhandled  # the fake answers everything the SDK asked


def test_commitments(fake_chain, net):
    v, m = net
    fake_chain.set_commitment(76, m.hotkey_ss58, "hf:org/a@" + "1" * 40, block=900)
    fake_chain.set_commitment(76, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "not a model")
    with _chain() as chain:
        got = chain.get_commitments(76)
        one = chain.get_commitment(76, m.hotkey_ss58)
        none = chain.get_commitment(76, v.hotkey_ss58)
    assert got[m.hotkey_ss58] == ("hf:org/a@" + "1" * 40, 900)
    assert got["5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"][0] == "not a model"
    assert one == ("hf:org/a@" + "1" * 40, 900) and none is None


def test_set_weights_and_rate_limit(fake_chain, net):
    from bitagent_cli.chain import RateLimited, TxFailed, load_wallet

    v, m = net
    wallet = load_wallet(v.settings())
    with _chain() as chain:
        assert chain.weights_rate_limit(76) == 100
        assert chain.blocks_since_last_update(76, 0) == fake_chain.block  # never set: last_update 0
        res = chain.set_weights(wallet, 76, [1, 2], [0.25, 0.75])
        assert res.success and res.block == fake_chain.block
        (call,) = fake_chain.weights_calls
        assert call.hotkey == v.hotkey_ss58 and call.uids == [1, 2] and call.weights == [21845, 65535]
        assert chain.blocks_since_last_update(76, 0) == 0
        with pytest.raises(RateLimited) as e:
            chain.set_weights(wallet, 76, [1], [1.0])
        assert e.value.retry_in_blocks == 100 and e.value.code == "rate_limited"
        fake_chain.advance(100)
        assert chain.set_weights(wallet, 76, [1], [1.0]).success
        with pytest.raises(TxFailed) as e:  # a miner has no validator permit
            chain.set_weights(load_wallet(m.settings()), 76, [0], [1.0])
        assert e.value.name == "NeuronNoValidatorPermit"
    assert len(fake_chain.weights_calls) == 2


def test_commit_reveal_subnet_commits_timelocked(fake_chain, net):
    from bitagent_cli.chain import load_wallet

    v, _ = net
    fake_chain.subnet(76).commit_reveal = True
    with _chain() as chain:
        res = chain.set_weights(load_wallet(v.settings()), 76, [1, 2], [0.5, 0.5])
    assert res.success and "reveal_round" in res.data
    assert fake_chain.weights_calls[-1].committed


def test_serve_endpoint(fake_chain, net):
    from bitagent_cli.chain import TxFailed, load_wallet

    _, m = net
    with _chain() as chain:
        assert chain.serve_endpoint(load_wallet(m.settings()), 76, "198.51.100.4", 9000).success
        assert chain.metagraph_snapshot(76)[1].axon == "198.51.100.4:9000"
        fake_chain.fail_next("serve_axon", "ServingRateLimitExceeded")
        with pytest.raises(TxFailed) as e:
            chain.serve_endpoint(load_wallet(m.settings()), 76, "198.51.100.4", 9001)
        assert e.value.code == "rate_limited"
        with pytest.raises(ValueError):
            chain.serve_endpoint(load_wallet(m.settings()), 76, "not-an-ip", 1)


def test_dropped_connections_are_retried_then_reported(fake_chain, net):
    from bitagent_cli.chain import ChainUnavailable

    _, m = net
    fake_chain.drop_connection(2, during="read")
    with _chain(read_retries=3) as chain:
        assert chain.uid(m.hotkey_ss58, 76) == 1
        fake_chain.drop_connection(5, during="read")
        with pytest.raises(ChainUnavailable) as e:
            chain.uid(m.hotkey_ss58, 76)
        assert "cannot reach the chain" in e.value.message and "--network" in e.value.message
        fake_chain.drop_connection(1, during="connect")
        assert chain.block == fake_chain.block  # reconnects after the outage
    assert fake_chain.connections >= 3


def test_auth_sign_and_verify(tmp_path):
    from bitagent_cli.chain import auth, load_wallet

    v = make_wallet(tmp_path, "v", "hk")
    m = make_wallet(tmp_path, "m", "hk")
    wallet = load_wallet(v.settings())
    body = b'{"task": 1}'
    headers = auth.sign_request(
        wallet, method="post", path="http://1.2.3.4:8091/query?x=1", body=body, receiver_hotkey=m.hotkey_ss58
    )
    cache = auth.ReplayCache()
    assert (
        auth.verify_request(
            headers, body, method="POST", path="/query?x=1", self_hotkey=m.hotkey_ss58, replay_cache=cache
        )
        == v.hotkey_ss58
    )
    with pytest.raises(auth.ReplayedRequest):
        auth.verify_request(
            headers, body, method="POST", path="/query?x=1", self_hotkey=m.hotkey_ss58, replay_cache=cache
        )
    fresh = auth.sign_request(wallet, method="POST", path="/query?x=1", body=body, receiver_hotkey=m.hotkey_ss58)
    for kw, err in (
        ({"body": b"tampered"}, auth.BadSignature),
        ({"self_hotkey": v.hotkey_ss58}, auth.WrongReceiver),
        ({"path": "/other"}, auth.BadSignature),
    ):
        args = {"body": body, "path": "/query?x=1", "self_hotkey": m.hotkey_ss58, **kw}
        with pytest.raises(err):
            auth.verify_request(
                fresh,
                args["body"],
                method="POST",
                path=args["path"],
                self_hotkey=args["self_hotkey"],
                replay_cache=auth.ReplayCache(),
            )
    with pytest.raises(auth.StaleRequest):
        auth.verify_request(
            fresh,
            body,
            method="POST",
            path="/query?x=1",
            self_hotkey=m.hotkey_ss58,
            replay_cache=auth.ReplayCache(),
            now_ns=int(fresh["X-Bittensor-Nonce"]) + 60 * 10**9,
        )
    with pytest.raises(auth.AuthError):
        auth.verify_request({}, body, method="POST", path="/query", self_hotkey=m.hotkey_ss58)
    # a raw keypair signs as itself
    import bittensor as bt

    kp = bt.sp_core.Keypair.create_from_uri("//Bob")
    h = auth.sign_request(kp, method="GET", path="/health", receiver_hotkey=m.hotkey_ss58)
    assert auth.verify_request(h, b"", method="GET", path="/health", self_hotkey=m.hotkey_ss58) == kp.ss58_address


def test_fund_from_dev_account_only_on_local(fake_chain, tmp_path):
    import bittensor as bt

    from bitagent_cli.chain import NetworkConfigError, connect, resolve_network

    alice = bt.sp_core.Keypair.create_from_uri("//Alice").ss58_address
    fake_chain.fund(alice, 100)
    w = make_wallet(tmp_path, "f", "hk")
    with _chain() as chain:
        assert chain.fund_from_dev_account(w.coldkey_ss58, 3 * 10**9).success
    assert fake_chain.balance_tao(w.coldkey_ss58) == 3
    with connect(resolve_network("test")) as chain, pytest.raises(NetworkConfigError):
        chain.fund_from_dev_account(w.coldkey_ss58, 1)
