"""``Chain.metagraph_snapshot`` against a ``SubnetInfoRuntimeApi_get_metagraph`` reply built from the real type.

The recordings hold no reply to the metagraph runtime call, so one is built here: a value with known fields for
three neurons, SCALE-encoded through the SDK's own codec (bittensor_core) as the output type that the real V15
metadata of spec 343 declares for ``get_metagraph`` (every other field of that type at its zero value, walked
from the type registry, so a field the type adds or drops changes the bytes). The replay server answers the
client's exact request with it (a ``synthetic`` reply, listed as such), and the test checks that each field our
``Neuron`` carries comes out of the SDK's decoder and our mapping as put in: hotkey, coldkey, stake, validator
permit, axon (IPv4, IPv6, none), active, last update, block at registration, incentive, emission.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import bittensor as bt
import pytest
from bittensor._transport.codec import RuntimeCodec, strip_option_opaque_metadata
from chain_replay import GENESIS, ReplayServer, metadata_v15_343_hex, recordings

from bitagent_cli import chain

API = "SubnetInfoRuntimeApi_get_metagraph"
RAO = 10**9


@pytest.fixture(scope="module")
def codec() -> RuntimeCodec:
    v15 = strip_option_opaque_metadata(bytes.fromhex(metadata_v15_343_hex().removeprefix("0x")))
    assert v15 is not None
    return RuntimeCodec(v15, spec_version=343, transaction_version=1)


def _zero(types: dict[int, dict[str, Any]], i: int) -> Any:
    """The zero value of registry type ``i``, in the shape the SDK's encoder takes."""
    t = types[i]
    kind, body = next(iter(t["def"].items()))
    if kind == "composite":
        fields = body["fields"]
        if t.get("path", [])[-1:] == ["AccountId32"]:
            return bytes(32)
        if fields and all(f.get("name") for f in fields):
            return {f["name"]: _zero(types, f["type"]) for f in fields}
        return _zero(types, fields[0]["type"]) if len(fields) == 1 else [_zero(types, f["type"]) for f in fields]
    if kind == "variant":
        if t.get("path") == ["Option"]:
            return None
        v = body["variants"][0]
        return v["name"] if not v["fields"] else {v["name"]: _zero(types, v["fields"][0]["type"])}
    if kind == "sequence":
        return []
    if kind == "array":
        if types[body["type"]]["def"].get("primitive") == "u8":
            return bytes(body["len"])
        return [_zero(types, body["type"]) for _ in range(body["len"])]
    if kind == "tuple":
        return [_zero(types, x) for x in body]
    if kind == "compact":
        return 0
    if kind == "primitive":
        return {"bool": False, "str": ""}.get(body, 0)
    raise AssertionError(f"type kind {kind} not handled")


def _keys(n: int) -> list[Any]:
    return [bt.sp_core.Keypair.create_from_uri(f"//replay-{i}") for i in range(n)]


def _axon(ip: str | None, port: int) -> dict[str, int]:
    addr = ipaddress.ip_address(ip) if ip else None
    return {
        "block": 5,
        "version": 1,
        "ip": int(addr) if addr else 0,
        "port": port,
        "ip_type": addr.version if addr else 0,
        "protocol": 4,
        "placeholder1": 0,
        "placeholder2": 0,
    }


NEURONS = [
    # (axon ip, port, active, permit, last_update, registered at, incentive u16, emission rao, total stake rao)
    ("203.0.113.7", 8091, True, True, 6_852_600, 6_000_000, 65535, 2_500_000_000, 1_234_000 * RAO),
    ("2001:db8::1", 9000, False, False, 6_852_001, 6_800_000, 32768, 0, 17 * RAO // 2),
    (None, 0, True, False, 0, 6_852_690, 0, 1, 0),
]


def _metagraph_reply(codec: RuntimeCodec, netuid: int) -> tuple[str, list[Any], list[Any]]:
    api = codec.runtime_api_map["SubnetInfoRuntimeApi"]["get_metagraph"]
    out_id = int(api["output"].removeprefix("scale_info::"))
    types = {t["id"]: t["type"] for t in codec.registry_types()}
    option = types[out_id]["def"]["variant"]
    assert types[out_id]["path"] == ["Option"]
    graph = _zero(types, option["variants"][1]["fields"][0]["type"])
    hot, cold = _keys(len(NEURONS)), _keys(2 * len(NEURONS))[len(NEURONS) :]
    columns = {
        "hotkeys": [bytes(k.public_key) for k in hot],
        "coldkeys": [bytes(k.public_key) for k in cold],
        "axons": [_axon(ip, port) for ip, port, *_ in NEURONS],
        "active": [n[2] for n in NEURONS],
        "validator_permit": [n[3] for n in NEURONS],
        "last_update": [n[4] for n in NEURONS],
        "block_at_registration": [n[5] for n in NEURONS],
        "incentives": [n[6] for n in NEURONS],
        "emission": [n[7] for n in NEURONS],
        "total_stake": [n[8] for n in NEURONS],
        # different from the total, so a mapping that took either part for the stake fails
        "alpha_stake": [n[8] // 3 for n in NEURONS],
        "tao_stake": [7 * RAO + i for i, _ in enumerate(NEURONS)],
    }
    for name, values in columns.items():
        assert name in graph, f"the metadata's Metagraph type has no field {name!r}"
        graph[name] = values
    graph["netuid"] = netuid
    graph["num_uids"] = len(NEURONS)
    raw = codec.encode(api["output"], graph)
    return "0x" + raw.hex(), hot, cold


def test_metagraph_snapshot_maps_every_field_we_use(codec):
    netuid = 1
    reply, hot, cold = _metagraph_reply(codec, netuid)
    head = recordings()["metagraph"]["chain_getHead"]["[]"]["result"]
    request = f"state_call {json.dumps([API, '0100', head])}"
    with ReplayServer("metagraph", synthetic={**GENESIS, request: lambda p: reply}) as srv:
        with chain.connect({"chain.network": srv.url}) as c:
            neurons = c.metagraph_snapshot(netuid)
    assert [e.source for e in srv.log if e.method == "state_call" and e.params[0] == API] == ["synthetic"]
    assert [n.uid for n in neurons] == [0, 1, 2]
    for n, row in zip(neurons, NEURONS, strict=True):
        ip, port, active, permit, last, registered, incentive, emission, stake = row
        assert n.hotkey == hot[n.uid].ss58_address
        assert n.coldkey == cold[n.uid].ss58_address
        assert n.stake == pytest.approx(stake / RAO)
        assert n.validator_permit is permit
        assert n.active is active
        assert n.last_update == last
        assert n.block_at_registration == registered
        assert n.incentive == pytest.approx(incentive / 65535)
        assert n.emission == pytest.approx(emission / RAO)
        assert (n.axon_ip, n.axon_port) == ((ip, port) if ip else (None, None))
    assert neurons[0].axon == "203.0.113.7:8091"
    assert neurons[1].axon == "[2001:db8::1]:9000"
    assert neurons[2].axon is None
    assert neurons[0].to_dict()["axon"] == "203.0.113.7:8091"


def test_a_subnet_the_runtime_says_does_not_exist_is_an_empty_snapshot(codec):
    head = recordings()["metagraph"]["chain_getHead"]["[]"]["result"]
    request = f"state_call {json.dumps([API, '0100', head])}"
    none = "0x00"  # Option::None, what get_metagraph answers for a netuid without a subnet
    with ReplayServer("metagraph", synthetic={**GENESIS, request: lambda p: none}) as srv:
        with chain.connect({"chain.network": srv.url}) as c:
            assert c.metagraph_snapshot(1) == []
