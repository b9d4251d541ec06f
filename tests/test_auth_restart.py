"""A signed query captured just before a miner restarts cannot be replayed after it (issue 18).

The replay cache is in memory, so a restart forgets the nonces it accepted; the miner's verifier refuses
every nonce older than the moment it started listening, so what the previous process accepted stays
refused, while a freshly signed request is accepted at once.
"""

from __future__ import annotations

import time

import pytest
from bittensor.sp_core import Keypair

from bitagent_cli.chain import auth
from bitagent_cli.neurons.miner import AuthRejected, make_verifier

VALIDATOR = Keypair.create_from_uri("//Alice")
MINER = Keypair.create_from_uri("//Bob")
BODY = b'{"task_id": "t1"}'


def _signed() -> dict[str, str]:
    return auth.sign_request(VALIDATOR, method="POST", path="/query", body=BODY, receiver_hotkey=MINER.ss58_address)


def _verify(headers, cache) -> str:
    return auth.verify_request(
        headers, BODY, method="POST", path="/query", self_hotkey=MINER.ss58_address, replay_cache=cache
    )


def test_a_request_signed_before_a_restart_is_refused_after_it_and_a_fresh_one_accepted():
    captured = _signed()
    before = auth.ReplayCache(not_before_ns=time.time_ns() - 10**9)  # the miner before the restart
    assert _verify(captured, before) == VALIDATOR.ss58_address
    with pytest.raises(auth.ReplayedRequest):  # the same process refuses a replay (as before)
        _verify(captured, before)
    after = auth.ReplayCache(not_before_ns=time.time_ns())  # the restarted miner: an empty cache
    with pytest.raises(auth.StaleRequest, match="signed before this server started"):
        _verify(captured, after)  # still inside the 10 s freshness window, yet refused
    assert _verify(_signed(), after) == VALIDATOR.ss58_address


def test_without_the_bound_the_restart_replay_would_pass():
    """What the bound closes: a fresh in-memory cache alone accepts the captured request again."""
    captured = _signed()
    assert _verify(captured, auth.ReplayCache()) == VALIDATOR.ss58_address
    assert _verify(captured, auth.ReplayCache()) == VALIDATOR.ss58_address  # a second process: accepted again


def test_the_miners_verifier_refuses_what_its_previous_process_accepted():
    captured = _signed()
    first = make_verifier(MINER.ss58_address, started_ns=time.time_ns() - 10**9)
    assert first(captured, BODY, "POST", "/query") == VALIDATOR.ss58_address
    restarted = make_verifier(MINER.ss58_address)  # started now: its own, empty cache
    with pytest.raises(AuthRejected, match="signed before this server started"):
        restarted(captured, BODY, "POST", "/query")
    assert restarted(_signed(), BODY, "POST", "/query") == VALIDATOR.ss58_address
    with pytest.raises(AuthRejected, match="already accepted"):  # and a replay inside one process, as before
        first(captured, BODY, "POST", "/query")


def test_a_malformed_nonce_is_left_to_the_sdk_to_refuse():
    headers = {**_signed(), "X-Bittensor-Nonce": "not-a-number"}
    with pytest.raises(auth.MalformedAuth):
        _verify(headers, auth.ReplayCache(not_before_ns=time.time_ns()))
