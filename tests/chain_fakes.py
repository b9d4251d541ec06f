"""An in-memory Bittensor chain for tests, plugged in through the SDK's own seam.

``bittensor.Subtensor(substrate=...)`` accepts any object implementing the SDK's ``Substrate``
protocol; :class:`FakeSubstrate` is one, backed by a :class:`FakeChain` that keeps state and
*applies* extrinsics (registration burns TAO and assigns a uid, commitments are stored, weights are
recorded, endpoints are published). Everything above it is the real SDK: reads, intents, the
executor, the MEV-shield path; and the real ``bitagent_cli.chain`` code.

    from chain_fakes import FakeChain, fake_chain, make_wallet   # fake_chain is a pytest fixture

    chain = FakeChain()
    chain.add_subnet(76, burn_tao=1.0, weights_rate_limit=100)
    uid = chain.register(76, hotkey_ss58, coldkey_ss58, stake=5000.0, validator_permit=True)
    with chain.installed():               # every bitagent_cli.chain.connect() now talks to it
        ...
    chain.commitments(76)                 # {hotkey: "hf:org/model@sha"}
    chain.weights_calls                   # [WeightsCall(netuid, hotkey, uid, uids, weights, block, ...)]

Failure injection: ``fail_next("burned_register", "TooManyRegistrationsThisInterval", times=2)``,
``drop_connection(times=1, during="read"|"submit"|"connect")``, ``on_submit(fn)`` (runs before each
extrinsic is applied; may change state, e.g. raise the burn), ``set_burn``, ``enable_mev_shield()``.
Time: each extrinsic is included in a new block; waiting for a block (``wait_for_block``) advances
the chain instantly (``realtime_block_s`` > 0 slows it down for neuron loops).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bittensor as bt
import pytest
from bittensor.balance import Balance
from bittensor.result import ChainError, ExtrinsicResult

RAO = 10**9
GENESIS_MS = 1_750_000_000_000


def _rao(tao: float) -> int:
    return round(float(tao) * RAO)


def _error_message(name: str) -> str:
    try:
        from bittensor.result import _message_for_named_error

        return str(_message_for_named_error(name))
    except Exception:  # noqa: BLE001 - private helper moved
        return name


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


# ---------------------------------------------------------------- state
@dataclass
class FakeNeuron:
    uid: int
    hotkey: str
    coldkey: str
    stake_rao: int = 0
    validator_permit: bool = False
    active: bool = True
    last_update: int = 0
    registered_at: int = 0
    axon: tuple[int, int, int] | None = None  # (ip as int, port, ip_type)
    incentive: int = 0  # u16 fraction

    @property
    def axon_str(self) -> str | None:
        if not self.axon or not self.axon[0]:
            return None
        ip = ipaddress.ip_address(self.axon[0]) if self.axon[2] == 4 else ipaddress.IPv6Address(self.axon[0])
        return f"{ip}:{self.axon[1]}"


@dataclass
class FakeSubnet:
    netuid: int
    burn_rao: int = RAO
    tempo: int = 360
    registration_allowed: bool = True
    weights_rate_limit: int = 100
    commit_reveal: bool = False
    min_allowed_weights: int = 0
    max_weights_limit: int = 65535
    max_uids: int = 256
    adjustment_interval: int = 360
    last_adjustment_block: int = 0
    max_regs_per_interval: int | None = None  # None: unlimited
    regs_this_interval: int = 0
    burn_increase_rao: int = 0  # added to the burn after each registration
    immunity_period: int = 4096
    last_epoch_block: int = 0
    epoch_index: int = 0
    commit_space_bytes: int | None = None  # per hotkey per epoch; each commit uses max(100, len)
    require_validator_permit: bool = True  # for set_weights
    owner_coldkey: str = ""
    owner_hotkey: str = ""
    neurons: list[FakeNeuron] = field(default_factory=list)
    commitments: dict[str, dict] = field(default_factory=dict)  # hotkey -> decoded CommitmentOf record
    space_used: dict[str, int] = field(default_factory=dict)

    def by_hotkey(self, hotkey: str) -> FakeNeuron | None:
        return next((n for n in self.neurons if n.hotkey == hotkey), None)


@dataclass
class WeightsCall:
    netuid: int
    hotkey: str
    uid: int
    uids: list[int] | None  # None for a timelocked commit (weights are encrypted)
    weights: list[int] | None  # u16 values as submitted
    block: int
    version_key: int = 0
    committed: bool = False  # commit-reveal (timelocked) instead of plain set

    def normalized(self) -> dict[int, float]:
        total = float(sum(self.weights or [])) or 1.0
        return {u: w / total for u, w in zip(self.uids or [], self.weights or [], strict=False)}


@dataclass
class Extrinsic:
    module: str
    function: str
    params: dict
    signer: str
    block: int
    success: bool
    error: str | None = None
    shielded: bool = False


@dataclass
class _Failure:
    function: str
    error: str
    times: int
    message: str | None


class FakeChain:
    """Chain state plus failure injection; see the module docstring."""

    def __init__(
        self, *, block: int = 1000, block_time: float = 12.0, fee_tao: float = 0.0, realtime_block_s: float = 0.0
    ):
        self.block = int(block)
        self.block_time = float(block_time)
        self.fee_rao = _rao(fee_tao)
        self.realtime_block_s = realtime_block_s
        self.subnets: dict[int, FakeSubnet] = {}
        self.balances: dict[str, int] = {}
        self.owners: dict[str, str] = {}  # hotkey -> coldkey
        self.mev_key: bytes | None = None
        self.extrinsics: list[Extrinsic] = []
        self.weights_calls: list[WeightsCall] = []
        self.unhandled: set[tuple[str, str]] = set()  # storage/runtime items nobody answered
        self.connections = 0  # substrates connected (reconnects show up here)
        self._failures: list[_Failure] = []
        self._drops: dict[str, int] = {"read": 0, "submit": 0, "connect": 0}
        self._hooks: list[Callable[[FakeChain, Extrinsic], None]] = []
        self._lock = threading.RLock()
        self._ext_index = itertools.count(1)

    # -- seeding
    def add_subnet(self, netuid: int, *, burn_tao: float = 1.0, **kw: Any) -> FakeSubnet:
        sn = FakeSubnet(netuid=netuid, burn_rao=_rao(burn_tao), **kw)
        sn.last_adjustment_block = sn.last_adjustment_block or self.block
        sn.last_epoch_block = sn.last_epoch_block or self.block
        self.subnets[netuid] = sn
        return sn

    def subnet(self, netuid: int) -> FakeSubnet:
        return self.subnets[netuid]

    def fund(self, ss58: str, tao: float) -> None:
        self.balances[ss58] = self.balances.get(ss58, 0) + _rao(tao)

    def balance_tao(self, ss58: str) -> float:
        return self.balances.get(ss58, 0) / RAO

    def set_burn(self, netuid: int, tao: float) -> None:
        self.subnets[netuid].burn_rao = _rao(tao)

    def register(
        self,
        netuid: int,
        hotkey: str,
        coldkey: str,
        *,
        stake: float = 0.0,
        validator_permit: bool = False,
        axon: tuple[str, int] | None = None,
    ) -> int:
        """Put a neuron on the subnet directly (no burn); returns its uid."""
        sn = self.subnets[netuid]
        existing = sn.by_hotkey(hotkey)
        if existing is not None:
            return existing.uid
        n = FakeNeuron(
            uid=len(sn.neurons),
            hotkey=hotkey,
            coldkey=coldkey,
            stake_rao=_rao(stake),
            validator_permit=validator_permit,
            registered_at=self.block,
        )
        if axon is not None:
            ip = ipaddress.ip_address(axon[0])
            n.axon = (int(ip), int(axon[1]), ip.version)
        sn.neurons.append(n)
        self.owners.setdefault(hotkey, coldkey)
        return n.uid

    def neuron(self, netuid: int, hotkey: str) -> FakeNeuron | None:
        return self.subnets[netuid].by_hotkey(hotkey)

    def set_commitment(self, netuid: int, hotkey: str, text: str | bytes, *, block: int | None = None) -> None:
        data = text.encode() if isinstance(text, str) else bytes(text)
        self.subnets[netuid].commitments[hotkey] = {
            "deposit": 0,
            "block": self.block if block is None else block,
            "info": {"fields": [{f"Raw{len(data)}": _hex(data)}]},
        }

    def commitment(self, netuid: int, hotkey: str) -> str | None:
        rec = self.subnets[netuid].commitments.get(hotkey)
        if rec is None:
            return None
        raw = b"".join(bytes.fromhex(v[2:]) for f in rec["info"]["fields"] for k, v in f.items() if k.startswith("Raw"))
        return raw.decode("utf-8", "replace")

    def commitments(self, netuid: int) -> dict[str, str]:
        return {hk: self.commitment(netuid, hk) or "" for hk in self.subnets[netuid].commitments}

    def advance(self, n: int = 1) -> int:
        with self._lock:
            for _ in range(int(n)):
                self.block += 1
                for sn in self.subnets.values():
                    if sn.adjustment_interval and self.block - sn.last_adjustment_block >= sn.adjustment_interval:
                        sn.last_adjustment_block = self.block
                        sn.regs_this_interval = 0
                    if sn.tempo and self.block - sn.last_epoch_block >= sn.tempo:
                        sn.last_epoch_block = self.block
                        sn.epoch_index += 1
                        sn.space_used.clear()
            return self.block

    # -- failure injection
    def fail_next(self, function: str, error: str, *, times: int = 1, message: str | None = None) -> None:
        """The next ``times`` extrinsics calling ``function`` fail on chain with ``error`` (a chain error
        name such as ``TooManyRegistrationsThisInterval``) and change nothing."""
        self._failures.append(_Failure(function, error, int(times), message))

    def drop_connection(self, times: int = 1, *, during: str = "read") -> None:
        """The next ``times`` operations of a kind raise ``bittensor.RpcConnectionError``: ``read``
        (storage/runtime reads), ``submit`` (an extrinsic; nothing is applied) or ``connect``."""
        if during not in self._drops:
            raise ValueError(f"during must be one of {sorted(self._drops)}")
        self._drops[during] += int(times)

    def on_submit(self, fn: Callable[[FakeChain, Extrinsic], None]) -> None:
        """``fn(chain, extrinsic)`` runs before each extrinsic is applied (``extrinsic.success`` unset)."""
        self._hooks.append(fn)

    def enable_mev_shield(self) -> None:
        self.mev_key = bytes(1184)  # an ML-KEM-768 public key shape; the fake never decrypts

    def calls(self, function: str) -> list[Extrinsic]:
        return [e for e in self.extrinsics if e.function == function]

    def _maybe_drop(self, kind: str) -> None:
        with self._lock:
            if self._drops.get(kind, 0) > 0:
                self._drops[kind] -= 1
                raise bt.RpcConnectionError(f"connection closed (FakeChain injected a dropped {kind})")

    # -- plumbing
    def substrate(self) -> FakeSubstrate:
        return FakeSubstrate(self)

    def factory(self, info: Any = None) -> FakeSubstrate:
        return FakeSubstrate(self)

    @contextlib.contextmanager
    def installed(self) -> Iterator[FakeChain]:
        """Within this block every ``bitagent_cli.chain.connect()`` builds its Subtensor on this chain."""
        from bitagent_cli.chain.client import substrate_override

        with substrate_override(self.factory):
            yield self

    # -- extrinsics
    def _result(
        self, ok: bool, ext: Extrinsic, error: str | None = None, message: str | None = None
    ) -> ExtrinsicResult:
        ext.success, ext.error = ok, error
        idx = next(self._ext_index)
        common = {
            "block_hash": f"0x{ext.block:064x}",
            "extrinsic_id": f"{ext.block}-{idx % 10000:04d}",
            "fee": Balance.from_rao(self.fee_rao),
        }
        if ok:
            return ExtrinsicResult(success=True, message="Success", **common)
        text = message or _error_message(error or "Other")
        return ExtrinsicResult(success=False, message=text, error=ChainError(text, error), **common)

    def apply(
        self, module: str, function: str, params: dict, signer: str, *, shielded: bool = False
    ) -> ExtrinsicResult:
        with self._lock:
            self.advance(1)  # included in the next block
            ext = Extrinsic(module, function, dict(params), signer, self.block, success=False, shielded=shielded)
            self.extrinsics.append(ext)
            for hook in list(self._hooks):
                hook(self, ext)
            for f in self._failures:
                if f.times > 0 and f.function == function:
                    f.times -= 1
                    return self._result(False, ext, f.error, f.message)
            handler = getattr(self, f"_x_{function}", None)
            if handler is None:
                return self._result(True, ext)
            err = handler(params, signer)
            if err:
                return self._result(False, ext, err)
            if self.fee_rao:
                payer = self.owners.get(signer, signer)
                self.balances[payer] = max(0, self.balances.get(payer, 0) - self.fee_rao)
            return self._result(True, ext)

    def _x_burned_register(self, p: dict, signer: str) -> str | None:
        sn = self.subnets.get(int(p["netuid"]))
        hotkey = str(p["hotkey"])
        if sn is None:
            return "SubnetNotExists"
        if not sn.registration_allowed:
            return "SubNetRegistrationDisabled"
        if sn.by_hotkey(hotkey) is not None:
            return "HotKeyAlreadyRegisteredInSubNet"
        if self.owners.get(hotkey, signer) != signer:
            return "NonAssociatedColdKey"
        if sn.max_regs_per_interval is not None and sn.regs_this_interval >= sn.max_regs_per_interval:
            return "TooManyRegistrationsThisInterval"
        if self.balances.get(signer, 0) < sn.burn_rao:
            return "NotEnoughBalanceToStake"
        if len(sn.neurons) >= sn.max_uids:
            return "NoNeuronIdAvailable"
        self.balances[signer] -= sn.burn_rao
        sn.neurons.append(FakeNeuron(uid=len(sn.neurons), hotkey=hotkey, coldkey=signer, registered_at=self.block))
        self.owners.setdefault(hotkey, signer)
        sn.regs_this_interval += 1
        sn.burn_rao += sn.burn_increase_rao
        return None

    def _x_set_commitment(self, p: dict, signer: str) -> str | None:
        sn = self.subnets.get(int(p["netuid"]))
        if sn is None:
            return "SubnetNotExists"
        if sn.by_hotkey(signer) is None:
            return "AccountNotAllowedCommit"
        fields: list[dict] = []
        for entry in (p["info"] or {}).get("fields") or []:
            for f in entry if isinstance(entry, list) else [entry]:
                fields.append({k: (_hex(v) if isinstance(v, (bytes, bytearray)) else v) for k, v in f.items()})
        size = sum(len(bytes.fromhex(v[2:])) for f in fields for k, v in f.items() if k.startswith("Raw"))
        if sn.commit_space_bytes is not None:
            used = sn.space_used.get(signer, 0) + max(100, size)
            if used > sn.commit_space_bytes:
                return "SpaceLimitExceeded"
            sn.space_used[signer] = used
        sn.commitments[signer] = {"deposit": 0, "block": self.block, "info": {"fields": fields}}
        return None

    def _weights_checks(self, netuid: int, signer: str) -> tuple[str | None, FakeSubnet | None, FakeNeuron | None]:
        sn = self.subnets.get(netuid)
        if sn is None:
            return "SubnetNotExists", None, None
        n = sn.by_hotkey(signer)
        if n is None:
            return "HotKeyNotRegisteredInSubNet", sn, None
        if sn.require_validator_permit and not n.validator_permit:
            return "NeuronNoValidatorPermit", sn, n
        if sn.weights_rate_limit and n.last_update and self.block - n.last_update < sn.weights_rate_limit:
            return "SettingWeightsTooFast", sn, n
        return None, sn, n

    def _x_set_mechanism_weights(self, p: dict, signer: str) -> str | None:
        err, sn, n = self._weights_checks(int(p["netuid"]), signer)
        if err:
            return err
        if sn.commit_reveal:
            return "CommitRevealEnabled"
        n.last_update = self.block
        self.weights_calls.append(
            WeightsCall(
                sn.netuid,
                signer,
                n.uid,
                [int(u) for u in p["dests"]],
                [int(w) for w in p["weights"]],
                self.block,
                int(p.get("version_key") or 0),
            )
        )
        return None

    _x_set_weights = _x_set_mechanism_weights

    def _x_commit_timelocked_mechanism_weights(self, p: dict, signer: str) -> str | None:
        err, sn, n = self._weights_checks(int(p["netuid"]), signer)
        if err:
            return err
        n.last_update = self.block
        self.weights_calls.append(WeightsCall(sn.netuid, signer, n.uid, None, None, self.block, committed=True))
        return None

    def _x_serve_axon(self, p: dict, signer: str) -> str | None:
        sn = self.subnets.get(int(p["netuid"]))
        if sn is None:
            return "SubnetNotExists"
        n = sn.by_hotkey(signer)
        if n is None:
            return "HotKeyNotRegisteredInNetwork"
        n.axon = (int(p["ip"]), int(p["port"]), int(p.get("ip_type") or 4))
        return None

    def _transfer(self, signer: str, dest: str, value: int) -> str | None:
        if self.balances.get(signer, 0) < value:
            return "InsufficientBalance"
        self.balances[signer] -= value
        self.balances[dest] = self.balances.get(dest, 0) + value
        return None

    def _x_transfer_keep_alive(self, p: dict, signer: str) -> str | None:
        return self._transfer(signer, str(p["dest"]), int(p["value"]))

    _x_transfer_allow_death = _x_transfer_keep_alive

    def _x_transfer_all(self, p: dict, signer: str) -> str | None:
        return self._transfer(signer, str(p["dest"]), self.balances.get(signer, 0))

    # -- reads (what FakeSubstrate answers)
    def storage(self, module: str, item: str, params: list) -> Any:
        sm = "SubtensorModule"

        def sn(i: int = 0) -> FakeSubnet | None:
            return self.subnets.get(int(params[i])) if params else None

        key = (module, item)
        if key == (sm, "Uids"):
            s = sn()
            n = s.by_hotkey(str(params[1])) if s else None
            return None if n is None else n.uid
        if key == ("System", "Account"):
            return {
                "nonce": 0,
                "consumers": 0,
                "providers": 1,
                "sufficients": 0,
                "data": {"free": self.balances.get(str(params[0]), 0), "reserved": 0, "frozen": 0, "flags": 0},
            }
        if key == ("Commitments", "CommitmentOf"):
            s = sn()
            return s.commitments.get(str(params[1])) if s else None
        if key == ("MevShield", "NextKey"):
            return self.mev_key
        if key == ("Timestamp", "Now"):
            return int(GENESIS_MS + self.block * self.block_time * 1000)
        if key == (sm, "Owner"):
            return self.owners.get(str(params[0]))
        if key == (sm, "LastUpdate"):
            s = self.subnets.get(int(params[0]) % 4096) if params else None
            return [n.last_update for n in s.neurons] if s else []
        if key == (sm, "ValidatorPermit"):
            s = sn()
            return [n.validator_permit for n in s.neurons] if s else []
        s = sn()
        per_subnet = {
            "NetworksAdded": lambda s: s is not None,
            "Burn": lambda s: s.burn_rao if s else 0,
            "CollateralLockShare": lambda s: 0,
            "NetworkRegistrationAllowed": lambda s: bool(s and s.registration_allowed),
            "SubnetworkN": lambda s: len(s.neurons) if s else 0,
            "Tempo": lambda s: s.tempo if s else 0,
            "WeightsSetRateLimit": lambda s: s.weights_rate_limit if s else 0,
            "CommitRevealWeightsEnabled": lambda s: bool(s and s.commit_reveal),
            "MinAllowedWeights": lambda s: s.min_allowed_weights if s else 0,
            "MaxWeightsLimit": lambda s: s.max_weights_limit if s else 65535,
            "SubnetEpochConsensus": lambda s: "Yuma",
            "AdjustmentInterval": lambda s: s.adjustment_interval if s else 0,
            "LastAdjustmentBlock": lambda s: s.last_adjustment_block if s else 0,
            "RegistrationsThisInterval": lambda s: s.regs_this_interval if s else 0,
            "TargetRegistrationsPerInterval": lambda s: (s.max_regs_per_interval or 3) if s else 0,
            "ImmunityPeriod": lambda s: s.immunity_period if s else 0,
            "MaxAllowedUids": lambda s: s.max_uids if s else 0,
            "LastEpochBlock": lambda s: s.last_epoch_block if s else 0,
            "BlocksSinceLastStep": lambda s: (self.block - s.last_epoch_block) if s else 0,
            "PendingEpochAt": lambda s: None,
            "SubnetEpochIndex": lambda s: s.epoch_index if s else 0,
            "RevealPeriodEpochs": lambda s: 1,
        }
        if module == sm and item in per_subnet:
            return per_subnet[item](s)
        self.unhandled.add(key)
        return None

    def storage_map(self, module: str, item: str, params: list) -> list[tuple[Any, Any]]:
        key = (module, item)
        s = self.subnets.get(int(params[0])) if params and key != ("SubtensorModule", "IsNetworkMember") else None
        if key == ("Commitments", "CommitmentOf"):
            return list(s.commitments.items()) if s else []
        if key == ("Commitments", "RevealedCommitments"):
            return []
        if key == ("SubtensorModule", "Uids"):
            return [(n.hotkey, n.uid) for n in s.neurons] if s else []
        if key == ("SubtensorModule", "IsNetworkMember"):
            hk = str(params[0])
            return [(netuid, True) for netuid, sn in self.subnets.items() if sn.by_hotkey(hk)]
        if key == ("SubtensorModule", "NetworksAdded"):
            return [(netuid, True) for netuid in self.subnets]
        if key == ("SubtensorModule", "TokenSymbol"):
            return []
        self.unhandled.add(key)
        return []

    def runtime(self, api: str, method: str, params: list) -> Any:
        if (api, method) == ("SubnetInfoRuntimeApi", "get_metagraph"):
            s = self.subnets.get(int(params[0]))
            return None if s is None else self._metagraph(s)
        if (api, method) in (("NeuronInfoRuntimeApi", "get_neurons_lite"), ("NeuronInfoRuntimeApi", "get_neurons")):
            s = self.subnets.get(int(params[0]))
            return [] if s is None else [self._neuron_lite(s, n) for n in s.neurons]
        if (api, method) == ("SubnetInfoRuntimeApi", "get_next_epoch_start_block"):
            s = self.subnets.get(int(params[0]))
            return None if s is None or not s.tempo else s.last_epoch_block + s.tempo
        if (api, method) == ("SubnetInfoRuntimeApi", "get_subnet_hyperparams_v3"):
            s = self.subnets.get(int(params[0]))
            if s is None:
                return None
            vals = {
                "weights_rate_limit": ("u64", s.weights_rate_limit),
                "tempo": ("u16", s.tempo),
                "registration_allowed": ("bool", s.registration_allowed),
                "commit_reveal_weights_enabled": ("bool", s.commit_reveal),
                "immunity_period": ("u16", s.immunity_period),
                "max_burn": ("u64", 100 * RAO),
                "min_burn": ("u64", 0),
            }
            return [{"name": k, "value": {t: v}} for k, (t, v) in vals.items()]
        self.unhandled.add((api, method))
        return None

    def _neuron_lite(self, s: FakeSubnet, n: FakeNeuron) -> dict:
        ip, port, ip_type = n.axon or (0, 0, 4)
        return {
            "uid": n.uid,
            "hotkey": n.hotkey,
            "coldkey": n.coldkey,
            "netuid": s.netuid,
            "active": n.active,
            "validator_permit": n.validator_permit,
            "last_update": n.last_update,
            "stake": [(n.coldkey, n.stake_rao)],
            "axon_info": {"ip": ip, "port": port, "ip_type": ip_type, "protocol": 4, "version": 1},
            "block_at_registration": n.registered_at,
        }

    def _metagraph(self, s: FakeSubnet) -> dict:
        ns = s.neurons

        def col(f: Callable[[FakeNeuron], Any]) -> list:
            return [f(n) for n in ns]

        return {
            "netuid": s.netuid,
            "name": list(b"bitagent"),
            "symbol": list("α".encode()),
            "block": self.block,
            "tempo": s.tempo,
            "last_step": s.last_epoch_block,
            "blocks_since_last_step": self.block - s.last_epoch_block,
            "owner_hotkey": s.owner_hotkey or "",
            "owner_coldkey": s.owner_coldkey or "",
            "network_registered_at": 0,
            "num_uids": len(ns),
            "max_uids": s.max_uids,
            "hotkeys": col(lambda n: n.hotkey),
            "coldkeys": col(lambda n: n.coldkey),
            "identities": col(lambda n: None),
            "axons": col(
                lambda n: {
                    "ip": (n.axon or (0, 0, 4))[0],
                    "port": (n.axon or (0, 0, 4))[1],
                    "ip_type": (n.axon or (0, 0, 4))[2],
                    "protocol": 4,
                    "version": 1,
                }
            ),
            "active": col(lambda n: n.active),
            "validator_permit": col(lambda n: n.validator_permit),
            "last_update": col(lambda n: n.last_update),
            "block_at_registration": col(lambda n: n.registered_at),
            "rank": col(lambda n: 0),
            "trust": col(lambda n: 0),
            "consensus": col(lambda n: 0),
            "incentives": col(lambda n: n.incentive),
            "dividends": col(lambda n: 0),
            "pruning_score": col(lambda n: 0),
            "emission": col(lambda n: 0),
            "alpha_stake": col(lambda n: n.stake_rao),
            "tao_stake": col(lambda n: 0),
            "total_stake": col(lambda n: n.stake_rao),
            "tao_in": 0,
            "alpha_in": 0,
        }


# ---------------------------------------------------------------- the Substrate protocol
class FakeSubstrate:
    """``bittensor.Substrate`` over a :class:`FakeChain` (one per Subtensor, like one websocket)."""

    def __init__(self, chain: FakeChain):
        self.chain = chain
        self.token_symbols: dict[int, str] = {}
        self.connected = False
        self._nonces: dict[str, int] = {}
        self._inner: dict[str, tuple[Any, str]] = {}  # inner hash -> (call, signer) of a shielded call
        self._inner_results: dict[str, ExtrinsicResult] = {}

    def balance(self, rao: int, netuid: int = 0) -> Balance:
        return Balance(int(rao), netuid, self.token_symbols.get(netuid) if netuid else None)

    # lifecycle
    async def connect(self) -> None:
        if not self.connected:
            self.chain._maybe_drop("connect")
            self.connected = True
            self.chain.connections += 1

    async def close(self) -> None:
        self.connected = False

    def _read(self) -> None:
        if not self.connected:
            raise bt.ConnectionNotReady("FakeSubstrate is not connected")
        self.chain._maybe_drop("read")

    # reads
    async def block_hash(self, block: int | None = None) -> str:
        return f"0x{(self.chain.block if block is None else int(block)):064x}"

    async def block_number(self) -> int:
        self._read()
        return self.chain.block

    async def finalized_block_number(self) -> int:
        return self.chain.block

    async def block_time(self) -> float:
        return self.chain.block_time

    async def spec_version(self) -> int:
        return 400

    async def get_block(self, block_number: int | None = None, block_hash: str | None = None) -> dict:
        number = self.chain.block if block_number is None else block_number
        return {"header": {"number": number, "hash": await self.block_hash(number)}, "extrinsics": []}

    async def query(
        self, module: str, storage_function: str, params: list | None = None, block_hash: str | None = None
    ) -> Any:
        self._read()
        return self.chain.storage(module, storage_function, list(params or []))

    async def map_has_entries(
        self, module: str, storage_function: str, params: list, block_hash: str | None = None
    ) -> bool:
        return bool(await self.query_map(module, storage_function, params, block_hash))

    async def query_map(
        self, module: str, storage_function: str, params: list | None = None, block_hash: str | None = None
    ) -> list[tuple[Any, Any]]:
        if (module, storage_function) != ("SubtensorModule", "TokenSymbol"):
            self._read()
        return self.chain.storage_map(module, storage_function, list(params or []))

    async def query_batch(
        self, module: str, storage_function: str, param_sets: list[list], block_hash: str | None = None
    ) -> list[Any]:
        return [await self.query(module, storage_function, list(p)) for p in param_sets]

    async def runtime_call(self, api: str, method: str, params: list, block_hash: str | None = None) -> Any:
        self._read()
        return self.chain.runtime(api, method, list(params or []))

    async def constant(self, module: str, name: str) -> Any:
        if (module, name) == ("Aura", "SlotDuration"):
            return int(self.chain.block_time * 1000)
        if (module, name) == ("Balances", "ExistentialDeposit"):
            return 500
        self.chain.unhandled.add((module, name))
        return None

    async def decode_scale(self, type_string: str, data: Any) -> Any:
        raise NotImplementedError("FakeSubstrate has no runtime metadata")

    async def blocks(self, *, finalized: bool = False) -> AsyncIterator[dict]:
        while True:
            await asyncio.sleep(self.chain.realtime_block_s)
            number = self.chain.advance(1)
            yield {"header": {"number": number, "parentHash": f"0x{number - 1:064x}"}}

    async def events(self, block_hash: str | None = None) -> list[dict]:
        return []

    # calls and fees
    async def compose(self, call: Any) -> Any:
        return call  # the generated Call(module, function, params) namedtuple

    async def estimate_fee(self, call: Any, keypair: Any) -> Balance:
        return Balance.from_rao(self.chain.fee_rao)

    async def estimate_weight(self, call: Any, keypair: Any) -> dict:
        return {"ref_time": 1_000_000, "proof_size": 3_593}

    async def account_next_index(self, address: str) -> int:
        return self._nonces.get(address, 0)

    # writes
    async def mev_next_key(self) -> bytes | None:
        return self.chain.mev_key

    async def sign_extrinsic(self, call: Any, keypair: Any, *, nonce: int, period: int) -> tuple[bytes, str]:
        keypair.sign(b"fake inner extrinsic")
        inner_hash = f"0x{abs(hash((repr(call), keypair.ss58_address, nonce))):064x}"[:66]
        self._inner[inner_hash] = (call, keypair.ss58_address)
        return repr(call).encode(), inner_hash

    async def find_extrinsic(self, extrinsic_hash: str, block_hash: str) -> ExtrinsicResult | None:
        return self._inner_results.get(extrinsic_hash)

    async def submit(
        self,
        call: Any,
        keypair: Any,
        *,
        nonce: int | None = None,
        period: int | None = None,
        wait_for_inclusion: bool = True,
        wait_for_finalization: bool = True,
    ) -> ExtrinsicResult:
        if not self.connected:
            raise bt.ConnectionNotReady("FakeSubstrate is not connected")
        self.chain._maybe_drop("submit")
        try:
            keypair.sign(b"fake extrinsic payload")  # a locked or wrong key fails here, as when signing for real
        except Exception as e:
            raise ChainError(str(e)) from e
        signer = keypair.ss58_address
        self._nonces[signer] = self._nonces.get(signer, 0) + 1
        module, function, params = call
        if (module, function) == ("MevShield", "submit_encrypted"):
            carrier = self.chain.apply(module, function, params, signer)
            for inner_hash, (inner, inner_signer) in list(self._inner.items()):
                m, f, p = inner
                self._inner_results[inner_hash] = self.chain.apply(m, f, p, inner_signer, shielded=True)
                # the inner extrinsic lands in the carrier's block in this fake
                res = self._inner_results[inner_hash]
                self._inner_results[inner_hash] = ExtrinsicResult(
                    success=res.success,
                    message=res.message,
                    block_hash=carrier.block_hash,
                    extrinsic_id=carrier.extrinsic_id,
                    fee=res.fee,
                    error=res.error,
                )
                del self._inner[inner_hash]
            return carrier
        return self.chain.apply(module, function, dict(params), signer)

    async def submit_signed(
        self, extrinsic: Any, keypair: Any, *, wait_for_inclusion: bool = True, wait_for_finalization: bool = True
    ) -> ExtrinsicResult:
        raise NotImplementedError

    async def prepare(self, call: Any, **kw: Any) -> Any:
        raise NotImplementedError

    async def submit_signature(self, unsigned: Any, signature: Any, **kw: Any) -> ExtrinsicResult:
        raise NotImplementedError

    def multisig_account(self, signatories: list[str], threshold: int) -> Any:
        raise NotImplementedError

    async def submit_multisig(self, call: Any, keypair: Any, multisig_account: Any, **kw: Any) -> ExtrinsicResult:
        raise NotImplementedError


# ---------------------------------------------------------------- helpers and fixtures
@dataclass(frozen=True)
class TestWallet:
    name: str
    hotkey: str
    path: str
    coldkey_ss58: str
    hotkey_ss58: str
    password: str | None = None

    __test__ = False  # not a pytest test class

    @property
    def flags(self) -> list[str]:
        return ["--wallet-name", self.name, "--wallet-hotkey", self.hotkey, "--wallet-path", self.path]

    def settings(self, **extra: Any) -> dict[str, Any]:
        return {"wallet.name": self.name, "wallet.hotkey": self.hotkey, "wallet.path": self.path, **extra}


def make_wallet(
    path: str | Path,
    name: str = "test",
    hotkey: str = "default",
    *,
    password: str | None = None,
    hotkeys: tuple[str, ...] = (),
) -> TestWallet:
    """Create a wallet for tests (unencrypted coldkey unless ``password``; encryption takes seconds)."""
    path = str(path)
    w = bt.Wallet(name, hotkey, path=path)
    w.create_new_coldkey(
        use_password=password is not None, coldkey_password=password, suppress=True, on_mnemonic=lambda m: None
    )
    w.create_new_hotkey(suppress=True, on_mnemonic=lambda m: None)
    for extra in hotkeys:
        bt.Wallet(name, extra, path=path).create_new_hotkey(suppress=True, on_mnemonic=lambda m: None)
    return TestWallet(name, hotkey, path, str(w.coldkeypub.ss58_address), str(w.hotkey.ss58_address), password)


@pytest.fixture
def fake_chain(tmp_path, monkeypatch) -> Iterator[FakeChain]:
    """A :class:`FakeChain` with subnet 76 (burn τ1, rate limit 100), installed for ``connect()``."""
    monkeypatch.setenv("BTCLI_TOKEN_SYMBOLS_CACHE", str(tmp_path / "btcli_token_symbols.json"))
    chain = FakeChain()
    chain.add_subnet(76, burn_tao=1.0)
    with chain.installed():
        yield chain
