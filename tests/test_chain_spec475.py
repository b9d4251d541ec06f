"""Every call our chain code builds, and every storage item it reads, against the real metadata of two runtimes.

Spec 475 is current mainnet (real V14 metadata), spec 343 the recordings' runtime (real V15). Each call is built
with the SDK's generated builders (``bittensor.calls``, what ``Chain`` uses), SCALE-encoded with the runtime's
metadata through the SDK's codec and decoded back: the function, the argument names in the pallet's order and the
values must survive. The writes that the replay can take to a signed extrinsic are in test_chain_replay; this
covers the rest (the weight calls, whose preflight reads the recordings lack, and the MEV-shield carrier).
"""

from __future__ import annotations

from typing import Any

import bittensor as bt
import pytest
from bittensor._transport.codec import RuntimeCodec, strip_option_opaque_metadata
from bittensor._transport.errors import StorageFunctionNotFound
from chain_replay import metadata_v14_475, metadata_v15_343_hex

HOTKEY = "5DkzsviNQr4ZePXMmEfNPDcE7cQ9cVyepmQbgUw6YT3odcwh"
COLDKEY = "5CUkpcUWSSMKMdNUW23sfUke6WCkoYXixR4CPBDCLpvxLmSi"
PAYLOAD = b"hf:org/bitagent-8b@0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def codecs() -> dict[int, RuntimeCodec]:
    v15 = strip_option_opaque_metadata(bytes.fromhex(metadata_v15_343_hex().removeprefix("0x")))
    assert v15 is not None
    return {
        343: RuntimeCodec(v15, spec_version=343, transaction_version=1),
        475: RuntimeCodec(metadata_v14_475(), spec_version=475, transaction_version=1),
    }


def _signature(codec: RuntimeCodec, pallet: str, function: str) -> list[str] | None:
    for p in codec.metadata_ir().pallets:
        if p.name == pallet:
            for c in p.calls:
                if c.name == function:
                    return [a.name for a in c.args]
    return None


CALLS: list[tuple[str, Any, dict[str, Any]]] = [
    (
        "register (plain)",
        bt.calls.SubtensorModule.burned_register(netuid=20, hotkey=HOTKEY),
        {"netuid": 20, "hotkey": HOTKEY},
    ),
    (
        "serve_endpoint",
        bt.calls.SubtensorModule.serve_axon(
            netuid=20,
            version=1,
            ip=int.from_bytes(bytes([203, 0, 113, 7]), "big"),
            port=8091,
            ip_type=4,
            protocol=4,
            placeholder1=0,
            placeholder2=0,
        ),
        {
            "netuid": 20,
            "version": 1,
            "ip": 3405803783,
            "port": 8091,
            "ip_type": 4,
            "protocol": 4,
            "placeholder1": 0,
            "placeholder2": 0,
        },
    ),
    (
        "set_commitment",
        bt.calls.Commitments.set_commitment(netuid=20, info={"fields": [[{f"Raw{len(PAYLOAD)}": PAYLOAD}]]}),
        {"netuid": 20, "info": {"fields": [{f"Raw{len(PAYLOAD)}": "0x" + PAYLOAD.hex()}]}},
    ),
    (
        "set_weights (plain)",
        bt.calls.SubtensorModule.set_mechanism_weights(
            netuid=20, mecid=0, dests=[0, 3, 7], weights=[65535, 16384, 1], version_key=7
        ),
        {"netuid": 20, "mecid": 0, "dests": [0, 3, 7], "weights": [65535, 16384, 1], "version_key": 7},
    ),
    (
        "set_weights (commit-reveal v4)",
        bt.calls.SubtensorModule.commit_timelocked_mechanism_weights(
            netuid=20, mecid=0, commit=b"\x01" * 80, reveal_round=123456, commit_reveal_version=4
        ),
        {"netuid": 20, "mecid": 0, "commit": b"\x01" * 80, "reveal_round": 123456, "commit_reveal_version": 4},
    ),
    (
        "transfer",
        bt.calls.Balances.transfer_keep_alive(dest=COLDKEY, value=1_500_000_000),
        {"dest": COLDKEY, "value": 1_500_000_000},
    ),
    (
        "register (MEV-shield carrier)",
        bt.calls.MevShield.submit_encrypted(ciphertext=b"\x02" * 1200),
        {"ciphertext": b"\x02" * 1200},
    ),
]

#: What spec 343 lacks of the calls above (the MEV shield came later): each is a RuntimeLacks / plain fallback.
ABSENT_AT_343 = {("MevShield", "submit_encrypted")}


@pytest.mark.parametrize("spec", [475, 343])
@pytest.mark.parametrize(("what", "call", "decoded"), CALLS, ids=[c[0] for c in CALLS])
def test_each_call_encodes_with_the_runtime_s_metadata_and_decodes_back(codecs, spec, what, call, decoded):
    codec = codecs[spec]
    signature = _signature(codec, call.module, call.function)
    if (call.module, call.function) in ABSENT_AT_343 and spec == 343:
        assert signature is None
        return
    assert signature == list(decoded), f"{call.module}.{call.function} at spec {spec}"
    data = codec.call_data(codec.compose_call(call.module, call.function, call.params))
    back = codec.decode_call(data)
    assert (back["call_module"], back["call_function"]) == (call.module, call.function)
    assert [a["name"] for a in back["call_args"]] == signature
    got = {a["name"]: a["value"] for a in back["call_args"]}
    assert {k: _bytes(v) if isinstance(decoded[k], bytes) else v for k, v in got.items()} == decoded


def _bytes(v: Any) -> bytes:
    """The decoder gives a byte vector as text when it is valid UTF-8, else as 0x-hex."""
    if isinstance(v, str) and v.startswith("0x"):
        return bytes.fromhex(v[2:])
    return v.encode() if isinstance(v, str) else bytes(v)


def test_the_nested_commitment_fields_encode_as_the_flat_form_and_the_cap_is_128_bytes(codecs):
    codec = codecs[475]
    nested = bt.calls.Commitments.set_commitment(netuid=20, info={"fields": [[{"Raw5": b"hello"}]]})
    flat = bt.calls.Commitments.set_commitment(netuid=20, info={"fields": [{"Raw5": b"hello"}]})
    enc = [codec.call_data(codec.compose_call(c.module, c.function, c.params)) for c in (nested, flat)]
    assert enc[0] == enc[1]
    fits = bt.calls.Commitments.set_commitment(netuid=20, info={"fields": [[{"Raw128": b"x" * 128}]]})
    assert codec.compose_call(fits.module, fits.function, fits.params)
    too_long = bt.calls.Commitments.set_commitment(netuid=20, info={"fields": [[{"Raw129": b"x" * 129}]]})
    with pytest.raises(ValueError, match='no variant named "Raw129"'):
        codec.compose_call(too_long.module, too_long.function, too_long.params)


#: The storage items our reads and the SDK's preflights for our writes ask for, with the Chain method that does.
STORAGE = [
    ("SubtensorModule", "NetworksAdded", "subnet_exists"),
    ("SubtensorModule", "Uids", "uid; set_weights preflight"),
    ("SubtensorModule", "Burn", "burn_rao"),
    ("System", "Account", "balance_rao"),
    ("SubtensorModule", "NetworkRegistrationAllowed", "registration_allowed"),
    ("SubtensorModule", "AdjustmentInterval", "registration_window"),
    ("SubtensorModule", "LastAdjustmentBlock", "registration_window"),
    ("Commitments", "CommitmentOf", "get_commitment(s)"),
    ("SubtensorModule", "WeightsSetRateLimit", "weights_rate_limit; set_weights preflight"),
    ("SubtensorModule", "LastUpdate", "blocks_since_last_update; set_weights preflight"),
    ("SubtensorModule", "CommitRevealWeightsEnabled", "set_weights preflight"),
    ("SubtensorModule", "MinAllowedWeights", "set_weights preflight"),
    ("SubtensorModule", "MaxWeightsLimit", "set_weights preflight"),
    ("SubtensorModule", "ValidatorPermit", "set_weights preflight (Null consensus)"),
    ("SubtensorModule", "SubnetEpochConsensus", "set_weights preflight"),
    ("MevShield", "NextKey", "mev_shield_active; burned_register"),
]
#: Absent from spec 343: the two items whose probe crashed burned_register and set_weights on older runtimes.
STORAGE_ABSENT_AT_343 = {("MevShield", "NextKey"), ("SubtensorModule", "SubnetEpochConsensus")}


def test_every_storage_item_we_read_is_in_475_and_343_lacks_exactly_the_two_that_crashed(codecs):
    for pallet, item, _ in STORAGE:
        assert codecs[475].storage_entry(pallet, item)
    absent = set()
    for pallet, item, _ in STORAGE:
        try:
            codecs[343].storage_entry(pallet, item)
        except StorageFunctionNotFound:
            absent.add((pallet, item))
    assert absent == STORAGE_ABSENT_AT_343
