"""The chain client: network resolution, retried reads, and the writes the CLI and neurons need.

``connect(settings) -> Chain`` wraps a blocking ``bittensor.Subtensor`` (bittensor 11). Reads that hit a
dropped or refused connection are retried on a fresh connection (``read_retries`` times, exponential
wait) and then raise :class:`ChainUnavailable`. Writes are never resent automatically: a connection
lost mid-write raises :class:`ChainUnavailable` (``uncertain=True``) and the caller re-reads the chain
before deciding (``register`` re-checks the uid, ``submit-model`` re-reads the commitment).

Every method is blocking; from async code run them with ``asyncio.to_thread``. Amounts ending in
``_rao`` are integers (1 TAO = 10^9 rao); ``Neuron.stake`` is a float in the subnet's stake units.

Tests (and anyone embedding the client) inject a chain backend through the SDK's own seam,
``bittensor.Subtensor(substrate=...)``: pass ``substrate_factory=`` to :func:`connect`, or install a
process-wide factory with :func:`substrate_override` (what ``tests/chain_fakes.py`` does).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import bittensor as bt
from bittensor import settings as bt_settings

from .errors import (
    ChainUnavailable,
    NetworkConfigError,
    RateLimited,
    RuntimeLacks,
    TxFailed,
    error_text,
    sdk_error_kind,
    translate,
)

__all__ = [
    "DEV_ACCOUNT_URI",
    "Chain",
    "NetworkInfo",
    "Neuron",
    "TxResult",
    "connect",
    "network_from_settings",
    "resolve_network",
    "substrate_override",
]

log = logging.getLogger("bitagent_cli.chain")

RAO_PER_TAO = 10**9
DEV_ACCOUNT_URI = "//Alice"  # funded sudo account of every local subtensor (localnet)
_KNOWN = ("finney", "test", "local", "archive", "devnet")
_MAINNET_ENDPOINTS = frozenset(
    [
        bt_settings.NETWORKS["finney"],
        bt_settings.NETWORKS["archive"],
        *bt_settings.FALLBACK_ENDPOINTS.get("finney", []),
        *bt_settings.ARCHIVE_ENDPOINTS.get("finney", []),
    ]
)
#: Seconds a chain that was never reached gets before the one-line error (docs/chain.md).
CONNECT_BUDGET_S = 5.0
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "host.docker.internal"}


def _transport_failure(e: BaseException) -> bool:
    """A dropped, refused or timed-out connection, worth a reconnect: the SDK's own (RpcConnectionError,
    ConnectionNotReady...), websockets', and what a raw socket or a timed-out blocking call raises (OSError,
    TimeoutError), by chain/errors.py's table (a missing key file is an OSError too, but a wallet error there)."""
    return sdk_error_kind(e)[0] in ("unavailable", "rate_limited")


# ---------------------------------------------------------------- network resolution
@dataclass(frozen=True)
class NetworkInfo:
    """Where to connect. ``name`` is finney/test/local/archive/devnet, or the URL of a custom endpoint."""

    name: str
    endpoint: str
    pinned: bool = False  # an explicit endpoint: no fallback pool

    @property
    def is_mainnet(self) -> bool:
        return self.name in ("finney", "archive") or self.endpoint in _MAINNET_ENDPOINTS

    @property
    def is_local(self) -> bool:
        if self.name == "local":
            return True
        host = (urlparse(self.endpoint).hostname or "").lower()
        return host in _LOOPBACK_HOSTS

    def to_dict(self) -> dict[str, Any]:
        return {"network": self.name, "endpoint": self.endpoint, "mainnet": self.is_mainnet, "local": self.is_local}


def _is_ws(value: str) -> bool:
    return value.startswith(("ws://", "wss://"))


def resolve_network(network: str | None, endpoint: str | None = None) -> NetworkInfo:
    """``network`` is finney/test/local/archive/devnet or a ws(s):// URL; ``endpoint`` (optional) overrides
    the network's default URL. ``local`` is ``$BT_CHAIN_ENDPOINT`` or ``ws://127.0.0.1:9944``."""
    network = (network or "local").strip()
    endpoint = (endpoint or "").strip()
    if endpoint and not _is_ws(endpoint):
        raise NetworkConfigError(
            f"chain endpoint {endpoint!r} is not a ws:// or wss:// URL; pass e.g. --chain-endpoint ws://127.0.0.1:9944."
        )
    if _is_ws(network):
        url = endpoint or network
        label = {u: n for n, u in bt_settings.NETWORKS.items()}.get(url, url)
        return NetworkInfo(label, url, pinned=True)
    if network not in _KNOWN:
        raise NetworkConfigError(
            f"unknown network {network!r}; use finney, test, local or a ws:// URL (--network / chain.network)."
        )
    if network == "local":
        default = os.environ.get("BT_CHAIN_ENDPOINT") or "ws://127.0.0.1:9944"
    else:
        default = bt_settings.NETWORKS[network]
    return NetworkInfo(network, endpoint or default, pinned=bool(endpoint))


def network_from_settings(settings: Mapping[str, Any]) -> NetworkInfo:
    return resolve_network(settings.get("chain.network"), settings.get("chain.endpoint"))


# ---------------------------------------------------------------- test / embedding seam
SubstrateFactory = Callable[[NetworkInfo], Any]
_substrate_factory: SubstrateFactory | None = None


@contextlib.contextmanager
def substrate_override(factory: SubstrateFactory | None) -> Iterator[None]:
    """Make every :func:`connect` in this process build ``bittensor.Subtensor(substrate=factory(info))``.

    ``factory`` returns an object implementing bittensor's ``Substrate`` protocol (an in-memory fake
    chain in tests). The real Subtensor, reads, intents and executor run on top of it.
    """
    global _substrate_factory
    previous, _substrate_factory = _substrate_factory, factory
    try:
        yield
    finally:
        _substrate_factory = previous


# ---------------------------------------------------------------- results
@dataclass(frozen=True)
class Neuron:
    """One uid of a subnet (from the metagraph runtime call)."""

    uid: int
    hotkey: str
    coldkey: str
    stake: float
    validator_permit: bool
    axon_ip: str | None = None
    axon_port: int | None = None
    active: bool = True
    last_update: int = 0
    block_at_registration: int = 0
    incentive: float = 0.0
    emission: float = 0.0

    @property
    def axon(self) -> str | None:
        """``ip:port`` (``[v6]:port``) of the published endpoint, or None."""
        if not self.axon_ip or not self.axon_port:
            return None
        host = f"[{self.axon_ip}]" if ":" in self.axon_ip else self.axon_ip
        return f"{host}:{self.axon_port}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "hotkey": self.hotkey,
            "coldkey": self.coldkey,
            "stake": self.stake,
            "validator_permit": self.validator_permit,
            "axon": self.axon,
            "active": self.active,
            "last_update": self.last_update,
        }


@dataclass(frozen=True)
class TxResult:
    """The outcome of one extrinsic, free of SDK types."""

    success: bool
    message: str = ""
    block: int | None = None
    extrinsic_id: str | None = None
    explorer_url: str | None = None
    fee_tao: float | None = None
    error_name: str | None = None
    error_code: str | None = None
    remediation: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "success": self.success,
            "message": self.message,
            "block": self.block,
            "extrinsic_id": self.extrinsic_id,
        }
        for k in ("explorer_url", "fee_tao", "error_name", "error_code", "remediation"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        if self.data:
            out["data"] = {k: v for k, v in self.data.items() if isinstance(v, (str, int, float, bool))}
        return out


def _tx(result: Any, **data: Any) -> TxResult:
    err = result.error
    block = None
    if result.extrinsic_id:
        head = str(result.extrinsic_id).partition("-")[0]
        block = int(head) if head.isdigit() else None
    fee = None
    if result.fee is not None:
        with contextlib.suppress(Exception):
            fee = result.fee.rao / RAO_PER_TAO
    return TxResult(
        success=bool(result.success),
        message=str(result.message or ""),
        block=block,
        extrinsic_id=result.extrinsic_id,
        explorer_url=result.explorer_url,
        fee_tao=fee,
        error_name=getattr(err, "name", None),
        error_code=getattr(getattr(err, "code", None), "value", None),
        remediation=getattr(err, "remediation", None) if err is not None else None,
        data={**dict(result.data or {}), **data},
    )


_RETRY_IN = re.compile(r"[Rr]etry in ~?(\d+) blocks?")


def _raise_for(result: TxResult, what: str) -> TxResult:
    if result.success:
        return result
    msg = f"{what} failed: {result.error_name or 'error'}: {result.message}"
    if result.remediation:
        msg += f"; {result.remediation}"
    if result.error_code == "rate_limited":
        raise RateLimited(msg, name=result.error_name, code=result.error_code, result=result)
    raise TxFailed(msg, name=result.error_name, code=result.error_code, result=result)


def _with_fix(text: str, e: BaseException) -> str:
    """``text`` as one sentence that ends with what to do: the SDK's remediation, else our table's fix."""
    text = " ".join(text.split())
    if text.endswith((".", "!", "?")):
        return text
    fix = getattr(e, "remediation", None)
    if not isinstance(fix, str) or not fix.strip():
        fix = sdk_error_kind(e)[2]
    return f"{text}; {fix.strip().rstrip('.')}."


def _from_chain_error(e: Any, what: str) -> TxFailed:
    """An SDK ``ChainError`` raised before signing (intent preflight) as our error."""
    code = getattr(getattr(e, "code", None), "value", None)
    message = _with_fix(getattr(e, "message", None) or error_text(e), e)
    if code == "rate_limited":
        m = _RETRY_IN.search(message)
        return RateLimited(
            f"{what}: {message}",
            name=getattr(e, "name", None),
            code=code,
            retry_in_blocks=int(m.group(1)) if m else None,
        )
    return TxFailed(f"{what}: {message}", name=getattr(e, "name", None), code=code)


def _result_or_chain_error(fn: Callable[[], Any]) -> Any:
    """``fn()``'s ExtrinsicResult, or the SDK ChainError it raised (a refusal reported as a result, not raised)."""
    try:
        return fn()
    except bt.ChainError as e:
        return e


def _refused(e: Any) -> TxResult:
    return TxResult(
        False,
        error_text(e),
        error_name=getattr(e, "name", None),
        error_code=getattr(getattr(e, "code", None), "value", None),
        remediation=getattr(e, "remediation", None),
    )


def _parse_axon(axon: str | None) -> tuple[str | None, int | None]:
    if not axon:
        return None, None
    host, _, port = axon.rpartition(":")
    host = host.strip("[]")
    try:
        return host, int(port)
    except ValueError:
        return None, None


class _Keyed:
    """A wallet-shaped object for the SDK (``coldkey``, ``coldkeypub``, ``hotkey`` keypairs).

    Lets a write sign with a key we already unlocked, instead of the SDK re-reading (and possibly
    prompting for) the key file.
    """

    def __init__(self, coldkey: Any = None, coldkeypub: Any = None, hotkey: Any = None):
        self.coldkey = coldkey
        self.coldkeypub = coldkeypub if coldkeypub is not None else coldkey
        self.hotkey = hotkey

    def __repr__(self) -> str:  # never show key material
        return "<signing wallet>"


def _hotkey_signer(wallet: Any) -> Any:
    """What the SDK should sign hotkey extrinsics with: the already loaded hotkey keypair."""
    if isinstance(wallet, bt.Wallet):
        return _Keyed(coldkey=None, coldkeypub=None, hotkey=wallet.hotkey)
    return wallet


# ---------------------------------------------------------------- the client
class Chain:
    """A connection to one network. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        info: NetworkInfo,
        *,
        substrate_factory: SubstrateFactory | None = None,
        read_retries: int = 3,
        retry_wait_s: float = 1.0,
    ):
        self.info = info
        self._factory = substrate_factory
        self.read_retries = max(0, int(read_retries))
        self.retry_wait_s = float(retry_wait_s)
        self._sub: Any = None
        self._block_time: float | None = None
        self._reached = False  # whether a read has succeeded (then retries use the full backoff)

    # -- lifecycle
    @property
    def network(self) -> str:
        return self.info.name

    @property
    def endpoint(self) -> str:
        return self.info.endpoint

    def _new_subtensor(self) -> Any:
        kwargs: dict[str, Any] = {}
        factory = self._factory or _substrate_factory
        if factory is not None:
            kwargs["substrate"] = factory(self.info)
        elif self.info.pinned:
            kwargs["fallback_endpoints"] = []
        # A preset name keeps the SDK's fallback/archive pools (finney); anything else is the URL.
        target = (
            self.info.name
            if (self.info.name in _KNOWN and self.info.name != "local" and not self.info.pinned)
            else self.info.endpoint
        )
        return bt.Subtensor(target, **kwargs)

    @property
    def sub(self) -> Any:
        """The underlying ``bittensor.Subtensor`` (blocking mode), created on first use."""
        if self._sub is None:
            self._sub = self._new_subtensor()
        return self._sub

    def _drop(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                sub.close()

    def reconnect(self) -> None:
        self._drop()
        self.sub.connect()

    def close(self) -> None:
        self._drop()

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Chain({self.info.name!r}, {self.info.endpoint!r})"

    # -- retry plumbing
    def _read(self, what: str, fn: Callable[[Any], Any]) -> Any:
        last: BaseException | None = None
        # A chain never reached in this process (wrong URL, node down) fails within CONNECT_BUDGET_S; one
        # that answered before gets the full backoff (a node restarting, a dropped websocket).
        deadline = None if self._reached else time.monotonic() + CONNECT_BUDGET_S
        for attempt in range(self.read_retries + 1):
            try:
                out = fn(self.sub)
                self._reached = True
                return out
            except Exception as e:  # noqa: BLE001 - the SDK boundary: only our errors leave (chain/errors.py)
                if not _transport_failure(e):
                    raise translate(e, f"reading {what}", endpoint=self.endpoint) from None
                last = e
                self._drop()
                if attempt < self.read_retries:
                    wait = self.retry_wait_s * (2**attempt)
                    retry_after = getattr(e, "retry_after", None)
                    with contextlib.suppress(TypeError, ValueError):
                        wait = max(wait, float(retry_after)) if retry_after else wait
                    if deadline is not None:
                        wait = min(wait, self.retry_wait_s / 2)
                        if time.monotonic() + wait > deadline:
                            break
                    # details for -v: the one-sentence error below is what a user sees
                    log.info(
                        "reading %s from %s: %s; reconnecting (retry %d/%d in %.1fs)",
                        what,
                        self.endpoint,
                        error_text(e),
                        attempt + 1,
                        self.read_retries,
                        wait,
                    )
                    time.sleep(wait)
        raise ChainUnavailable(
            f"cannot reach the chain at {self.endpoint} (reading {what}: {error_text(last) if last else 'no answer'}); "
            f"check --network/--chain-endpoint and that the node is up, then retry.",
            endpoint=self.endpoint,
        )

    def _write(self, what: str, fn: Callable[[Any], Any]) -> Any:
        self._read("the current block", lambda s: s.block)  # connects (with retries) before signing
        try:
            return fn(self.sub)
        except Exception as e:  # noqa: BLE001 - the SDK boundary: only our errors leave (chain/errors.py)
            if not _transport_failure(e):
                raise translate(e, what, endpoint=self.endpoint, write=True) from None
            self._drop()
            raise ChainUnavailable(
                f"connection to {self.endpoint} lost while {what} ({error_text(e)}); it may or may "
                f"not have landed: re-check the chain before retrying.",
                endpoint=self.endpoint,
                uncertain=True,
            ) from None

    # -- reads
    @property
    def block(self) -> int:
        """The current block number."""
        return int(self._read("the current block", lambda s: s.block))

    def block_time(self) -> float:
        """Seconds per block (12 on finney/test, 0.25 on a fast-blocks localnet)."""
        if self._block_time is None:
            self._block_time = float(self._read("the block time", lambda s: s.block_time()))
        return self._block_time

    def subnet_exists(self, netuid: int) -> bool:
        return bool(
            self._read(f"subnet {netuid}", lambda s: s.query(bt.storage.SubtensorModule.NetworksAdded, [netuid]))
        )

    def uid(self, hotkey_ss58: str, netuid: int) -> int | None:
        """The hotkey's uid on the subnet, or None when it is not registered there."""
        return self._read("the uid", lambda s: s.neurons.uid(hotkey_ss58=hotkey_ss58, netuid=netuid))

    def burn_rao(self, netuid: int) -> int:
        """The current registration price (burn + collateral lock) of the subnet, in rao."""
        return int(self._read("the registration price", lambda s: s.subnets.burn(netuid)).rao)

    def balance_rao(self, coldkey_ss58: str) -> int:
        """Free balance of a coldkey, in rao."""
        return int(self._read("the balance", lambda s: s.balances.get(coldkey_ss58)).rao)

    def registration_allowed(self, netuid: int) -> bool:
        return bool(
            self._read(
                "registration_allowed",
                lambda s: s.query(bt.storage.SubtensorModule.NetworkRegistrationAllowed, [netuid]),
            )
        )

    def registration_window(self, netuid: int) -> dict[str, int]:
        """When the per-interval registration count resets: ``blocks_left`` until the next adjustment."""

        def fn(s: Any) -> dict[str, int]:
            snap = s.at()
            st = bt.storage.SubtensorModule
            interval = int(snap.query(st.AdjustmentInterval, [netuid]) or 0)
            last = int(snap.query(st.LastAdjustmentBlock, [netuid]) or 0)
            left = max(1, last + interval - snap.block) if interval else 1
            return {
                "block": snap.block,
                "adjustment_interval": interval,
                "last_adjustment_block": last,
                "blocks_left": left,
            }

        return self._read("the registration interval", fn)

    def next_epoch_block(self, netuid: int) -> int | None:
        return self._read("the next epoch", lambda s: s.epochs.next_epoch_start_block(netuid))

    def mev_shield_active(self) -> bool:
        return bool(self._read("the MEV-shield key", lambda s: s.query(("MevShield", "NextKey"))))

    def metagraph_snapshot(self, netuid: int) -> list[Neuron]:
        """Every uid of the subnet (empty when the subnet does not exist)."""
        mg = self._read("the metagraph", lambda s: s.subnets.metagraph(netuid, commitments=False))
        if mg is None:
            return []
        out = []
        for n in mg.neurons:
            ip, port = _parse_axon(n.axon)
            out.append(
                Neuron(
                    uid=int(n.uid),
                    hotkey=str(n.hotkey),
                    coldkey=str(n.coldkey),
                    stake=float(n.total_stake.rao) / RAO_PER_TAO,
                    validator_permit=bool(n.validator_permit),
                    axon_ip=ip,
                    axon_port=port,
                    active=bool(n.active),
                    last_update=int(n.last_update),
                    block_at_registration=int(n.block_at_registration),
                    incentive=float(n.incentive),
                    emission=float(n.emission.rao) / RAO_PER_TAO,
                )
            )
        return out

    def get_commitments(self, netuid: int) -> dict[str, tuple[str, int]]:
        """Every readable commitment on the subnet: hotkey -> (payload text, block committed)."""
        records = self._read("the commitments", lambda s: s.subnets.commitments(netuid))
        return {str(hk): (str(c.value), int(c.block)) for hk, c in dict(records).items() if c.value}

    def get_commitment(self, netuid: int, hotkey_ss58: str) -> tuple[str, int] | None:
        """The hotkey's commitment on the subnet as (payload text, block), or None."""
        c = self._read("the commitment", lambda s: s.read("commitment", netuid=netuid, hotkey_ss58=hotkey_ss58))
        if c is None or not c.data:
            return None
        return str(c.data), int(c.block)

    def weights_rate_limit(self, netuid: int) -> int:
        """Blocks a validator must wait between weight sets."""
        return int(self._read("weights_rate_limit", lambda s: s.hyperparameters.weights_rate_limit(netuid)))

    def blocks_since_last_update(self, netuid: int, uid: int) -> int | None:
        """Blocks since ``uid`` last set weights (None when unknown)."""
        return self._read("blocks_since_last_update", lambda s: s.epochs.blocks_since_last_update(netuid, uid))

    # -- waiting
    def wait_for_block(self, target: int, *, timeout_s: float | None = None) -> int:
        """Block until the chain reaches ``target``; returns the block reached."""
        now = self.block
        if now >= target:
            return now
        if timeout_s is None:
            timeout_s = (target - now) * self.block_time() * 3 + 60
        try:
            header = self.sub.wait_for_block(target, timeout=timeout_s)
        except Exception as e:  # noqa: BLE001 - the SDK boundary (chain/errors.py)
            if not _transport_failure(e):
                raise translate(e, f"waiting for block {target}", endpoint=self.endpoint) from None
            self._drop()
            if isinstance(e, (TimeoutError, concurrent.futures.TimeoutError)):
                raise ChainUnavailable(
                    f"the chain at {self.endpoint} did not reach block {target} within "
                    f"{timeout_s:.0f}s; is it producing blocks?"
                ) from None
            return self.block  # dropped subscription: the caller re-reads and decides
        return int(header.number)

    def wait_blocks(self, n: int, *, timeout_s: float | None = None) -> int:
        return self.wait_for_block(self.block + max(0, int(n)), timeout_s=timeout_s)

    # -- writes
    def burned_register(self, signer: Any, netuid: int, hotkey_ss58: str) -> TxResult:
        """Pay the registration price from the (unlocked) coldkey in ``signer`` for ``hotkey_ss58``.

        Uses the SDK's ``BurnedRegister`` intent (MEV-shielded). When the chain has no MEV-shield key
        (local chains, some testnets), submits the plain ``burned_register`` call instead. Returns the
        result (check ``success``); raises only for transport problems.
        """
        intent = bt.BurnedRegister(netuid=netuid, hotkey_ss58=hotkey_ss58)
        try:
            shielded = self.mev_shield_active()
        except RuntimeLacks:  # no MevShield pallet at all (an older localnet, a lagging testnet)
            log.info("this chain's runtime has no MEV shield; registering with the plain call")
            shielded = False
        if shielded:
            res = self._write("registering", lambda s: _result_or_chain_error(lambda: s.execute(intent, signer)))
            if not isinstance(res, bt.ChainError):
                return _tx(res, shielded=True)
            if "MEV Shield" not in str(res):
                return _refused(res)
            log.info("MEV-shield key vanished; registering with the plain call")
        call = bt.calls.SubtensorModule.burned_register(netuid=netuid, hotkey=hotkey_ss58)
        res = self._write(
            "registering", lambda s: _result_or_chain_error(lambda: s.submit_call(call, signer, signer="coldkey"))
        )
        if isinstance(res, bt.ChainError):
            return _refused(res)
        return _tx(res, shielded=False)

    def set_commitment(self, wallet: Any, netuid: int, payload: bytes) -> TxResult:
        """Write ``payload`` (at most 128 bytes) as the hotkey's commitment; returns the result."""
        if not 0 < len(payload) <= 128:
            raise ValueError(f"commitment payload must be 1..128 bytes, got {len(payload)}")
        info = {"fields": [[{f"Raw{len(payload)}": payload}]]}
        call = bt.calls.Commitments.set_commitment(netuid=netuid, info=info)
        signer = _hotkey_signer(wallet)
        res = self._write(
            "writing the commitment",
            lambda s: _result_or_chain_error(lambda: s.submit_call(call, signer, signer="hotkey")),
        )
        if isinstance(res, bt.ChainError):
            return _refused(res)
        return _tx(res)

    def _execute(self, what: str, intent: Any, signer: Any) -> TxResult:
        def run(s: Any) -> Any:
            try:
                return s.execute(intent, signer)
            except bt.ChainError as e:  # intent preflight: not registered, rate limited, bad weights
                raise _from_chain_error(e, what) from None
            except bt.PolicyError:
                raise
            except bt.BittensorError as e:  # bad arguments (e.g. all weights zero)
                if _transport_failure(e):
                    raise
                raise TxFailed(_with_fix(f"{what}: {error_text(e)}", e), code="invalid_argument") from None

        return _raise_for(_tx(self._write(what, run)), what)

    def serve_endpoint(self, wallet: Any, netuid: int, ip: str, port: int) -> TxResult:
        """Publish ``ip:port`` for the hotkey on the subnet (``ServeAxon``). Raises on failure."""
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ValueError(f"not an IP address: {ip!r}") from None
        return self._execute(
            f"publishing {ip}:{port} on netuid {netuid}",
            bt.ServeAxon(netuid=netuid, ip=ip, port=int(port)),
            _hotkey_signer(wallet),
        )

    def set_weights(
        self, wallet: Any, netuid: int, uids: list[int], weights: list[float], *, version_key: int = 0
    ) -> TxResult:
        """Set weights (the SDK picks plain or commit-reveal). Raises :class:`RateLimited` (with
        ``retry_in_blocks``) when ``weights_rate_limit`` blocks have not passed, :class:`TxFailed` otherwise."""
        intent = bt.SetWeights(
            netuid=netuid,
            uids=[int(u) for u in uids],
            weights=[float(w) for w in weights],
            version_key=int(version_key),
        )
        return self._execute(f"setting weights on netuid {netuid}", intent, _hotkey_signer(wallet))

    def transfer(self, signer: Any, dest_ss58: str, amount_rao: int) -> TxResult:
        """Send ``amount_rao`` from the unlocked coldkey in ``signer`` to ``dest_ss58``. Raises on failure."""
        intent = bt.Transfer(dest_ss58=dest_ss58, amount_tao=bt.Balance.from_rao(int(amount_rao)))
        return self._execute(f"transferring to {dest_ss58}", intent, signer)

    def fund_from_dev_account(self, dest_ss58: str, amount_rao: int, *, uri: str = DEV_ACCOUNT_URI) -> TxResult:
        """Local chains only: send ``amount_rao`` from the dev account (``//Alice``) to ``dest_ss58``."""
        if not self.info.is_local:
            raise NetworkConfigError(
                f"funding from {uri} only works on a local chain (this is {self.info.name}); get test TAO another way."
            )
        dev = bt.sp_core.Keypair.create_from_uri(uri)
        return self.transfer(_Keyed(coldkey=dev, coldkeypub=dev, hotkey=dev), dest_ss58, amount_rao)


def connect(
    settings: Mapping[str, Any] | NetworkInfo,
    *,
    substrate_factory: SubstrateFactory | None = None,
    read_retries: int = 3,
    retry_wait_s: float = 1.0,
) -> Chain:
    """A :class:`Chain` for the network in ``settings`` (``chain.network``, ``chain.endpoint``).

    Nothing is opened until the first call; use ``with connect(settings) as chain: ...``.
    """
    info = settings if isinstance(settings, NetworkInfo) else network_from_settings(settings)
    return Chain(info, substrate_factory=substrate_factory, read_retries=read_retries, retry_wait_s=retry_wait_s)
