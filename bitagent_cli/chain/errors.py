"""Errors raised by ``bitagent_cli.chain``: one sentence each, saying what to do.

This module imports nothing from bittensor, so callers can catch these without pulling in the SDK.
Messages never contain passwords, mnemonics or private keys.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import BitagentError, ModelRefused


class ChainOpError(BitagentError):
    """Base class: ``message`` is one line with the fix; ``data`` goes into ``--json`` error objects."""

    def __init__(self, message: str, **data: Any):
        super().__init__(message)
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return self.message


class NetworkConfigError(ChainOpError):
    """A network, endpoint or netuid that cannot be used (a usage error: fix the flag or profile)."""


class ChainUnavailable(ChainOpError):
    """The chain could not be reached (after retries), or the connection dropped mid-operation."""


class WalletError(ChainOpError):
    """A wallet problem. ``kind`` is one of: ``missing`` (no such key files), ``exists`` (refusing to
    overwrite), ``password_missing`` (an encrypted key and no password given), ``wrong_password``,
    ``invalid`` (unreadable key file or bad option)."""

    def __init__(self, message: str, kind: str, **data: Any):
        super().__init__(message, kind=kind, **data)
        self.kind = kind


class NotRegistered(ChainOpError):
    """The hotkey holds no uid on the subnet."""


class TxFailed(ChainOpError):
    """An extrinsic was rejected or failed on chain. ``name`` is the exact chain error (e.g.
    ``TooManyRegistrationsThisInterval``), ``code`` the SDK's semantic code (e.g. ``rate_limited``)."""

    def __init__(
        self, message: str, *, name: str | None = None, code: str | None = None, result: Any = None, **data: Any
    ):
        super().__init__(message, error_name=name, error_code=code, **data)
        self.name = name
        self.code = code
        self.result = result


class RateLimited(TxFailed):
    """A chain rate limit; ``retry_in_blocks`` says how long to wait when known."""

    def __init__(self, message: str, *, retry_in_blocks: int | None = None, **kw: Any):
        super().__init__(message, retry_in_blocks=retry_in_blocks, **kw)
        self.retry_in_blocks = retry_in_blocks


class PriceAboveCap(ChainOpError):
    """``register``: the registration price is above ``--max-burn`` (nothing was spent)."""


class RegistrationGaveUp(ChainOpError):
    """``register``: no uid after the allowed attempts or time (rate limits, closed registration,
    insufficient balance, dropped connections). ``data`` has the attempts and the last reason."""


class CommitmentError(ChainOpError):
    """``submit-model``: the commitment could not be written or read back as written.
    ``retry_at_block`` is set when waiting helps (space or rate limits)."""

    def __init__(self, message: str, *, retry_at_block: int | None = None, **data: Any):
        super().__init__(message, retry_at_block=retry_at_block, **data)
        self.retry_at_block = retry_at_block


#: ``submit-model``: the model failed vetting (same rules as ``eval-model``). The same class as
#: ``serving.ModelRefused`` (one error for a refused model); the name is kept for compatibility.
ModelRejected = ModelRefused


class ChainError(ChainOpError):
    """The chain answered, but not in a way this operation can use: a refused or failed request, a reply that
    does not decode with the runtime's metadata. ``sdk_error`` names the SDK exception it came from."""


class RuntimeLacks(ChainError):
    """This chain's runtime lacks a feature the operation needs (a pallet, storage item or runtime API that an
    older runtime does not have). ``feature`` is ``Pallet.Item`` or ``Api.method``."""

    def __init__(self, message: str, *, feature: str, **data: Any):
        super().__init__(message, feature=feature, **data)
        self.feature = feature


# ---------------------------------------------------------------- the SDK boundary
# ONE table from the exception types of the SDK (bittensor, its private substrate transport bittensor._transport,
# bittensor_core) and of the websocket layer (websockets) to our errors, as httpx maps httpcore's exceptions.
# Keys are qualified names, so this module never imports bittensor; an exception is classified by the first
# class of its MRO found here (so a subclass the SDK adds later gets its parent's row). Kinds:
#   unavailable: the chain could not be reached or the connection dropped (reads retry it) -> ChainUnavailable
#   rate_limited: the endpoint refused traffic under its policy (reads retry after retry_after) -> ChainUnavailable
#   runtime: the runtime lacks the pallet/storage item/runtime API the SDK asked for -> RuntimeLacks / TxFailed
#   chain: the chain refused the request or its reply did not decode -> ChainError / TxFailed
#   policy: the SDK's own spending/raw-call policy refused the write -> TxFailed
#   timelock: commit-reveal could not get its drand round -> TxFailed (ChainError for reads)
#   wallet: a key file could not be unlocked -> WalletError
#   sdk: anything else the SDK raised (bad argument, a feature we do not use) -> ChainError / TxFailed
# The sentence is what happened; the fix is what to do. ``{what}`` is the operation ("reading the uid").
SDK_ERRORS: dict[str, tuple[str, str, str]] = {
    # bittensor (public)
    "bittensor.result.RpcPolicyError": (
        "rate_limited",
        "the endpoint refused {what} under its rate or access policy",
        "wait and retry, or use another endpoint (--chain-endpoint)",
    ),
    "bittensor.result.RpcConnectionError": (
        "unavailable",
        "the connection failed while {what}",
        "check --network/--chain-endpoint and that the node is up, then retry",
    ),
    "bittensor.result.ConnectionNotReady": (
        "unavailable",
        "the connection was not open while {what}",
        "retry; if it persists, check --network/--chain-endpoint",
    ),
    "bittensor.result.PolicyError": (
        "policy",
        "the SDK's transaction policy refused {what}",
        "the call or its spend is outside the policy; adjust the arguments",
    ),
    "bittensor.multisig.MultisigFundingError": (
        "chain",
        "a multisig account could not be funded while {what}",
        "fund the signer's coldkey and retry",
    ),
    "bittensor.result.ChainError": (
        "chain",
        "the chain refused {what}",
        "check the arguments against the chain's state (bitagent doctor), then retry",
    ),
    "bittensor.timelock.TimelockNotReady": (
        "timelock",
        "the drand round for commit-reveal was not ready while {what}",
        "retry in a few blocks",
    ),
    "bittensor.timelock.TimelockError": (
        "timelock",
        "commit-reveal encryption (drand timelock) failed while {what}",
        "retry; if it persists, the subnet's commit-reveal settings and the SDK disagree: update bittensor",
    ),
    "bittensor.http_auth.AuthError": (
        "sdk",
        "a signed request failed verification while {what}",
        "check the hotkeys on both sides and the clocks",
    ),
    "bittensor.balance.UnitMismatchError": (
        "sdk",
        "amounts of different units were mixed while {what}",
        "this is a bug in the caller; report it",
    ),
    "bittensor.evm.rpc.EvmRpcError": ("sdk", "an EVM RPC call failed while {what}", "we use no EVM call; report it"),
    "bittensor.extension.client.BridgeError": (
        "sdk",
        "the browser-extension signer failed while {what}",
        "sign with a wallet on disk instead",
    ),
    "bittensor.vault.server.VaultPageError": (
        "sdk",
        "the vault signer failed while {what}",
        "sign with a wallet on disk instead",
    ),
    "bittensor.vault.signer.VaultError": (
        "sdk",
        "the vault signer failed while {what}",
        "sign with a wallet on disk instead",
    ),
    "bittensor.result.BittensorError": ("sdk", "the SDK refused {what}", "check the arguments, then retry"),
    # bittensor_core (keys)
    "bittensor_core.WrongPasswordError": (
        "wallet",
        "the key file's password is wrong ({what})",
        "pass the right one with --password-file or $BT_WALLET_PASSWORD",
    ),
    "bittensor_core.KeyfileError": (
        "wallet",
        "a key file could not be read ({what})",
        "check the wallet files (bitagent doctor) or recreate them with wallet-setup",
    ),
    "bittensor_core.LedgerError": (
        "wallet",
        "the Ledger device failed ({what})",
        "sign with a wallet on disk instead",
    ),
    # bittensor._transport (the SDK's private substrate layer)
    "bittensor._transport.errors.StorageFunctionNotFound": (
        "runtime",
        "this chain's runtime lacks {feature}, needed for {what}",
        "the node runs an older runtime than this bittensor SDK expects: use an up-to-date node",
    ),
    "bittensor._transport.errors.RpcPolicyRejection": (
        "rate_limited",
        "the endpoint refused {what} under its rate or access policy",
        "wait and retry, or use another endpoint (--chain-endpoint)",
    ),
    "bittensor._transport.errors.MaxRetriesExceeded": (
        "unavailable",
        "the node did not answer {what} after several tries",
        "check that the node is up and synced, then retry",
    ),
    "bittensor._transport.errors.StateDiscardedError": (
        "chain",
        "the node has pruned the state needed for {what}",
        "use an archive node (--network archive) for old blocks",
    ),
    "bittensor._transport.errors.BlockNotFound": (
        "chain",
        "the node does not have the block needed for {what}",
        "wait for the node to sync, or use an archive node",
    ),
    "bittensor._transport.errors.ExtrinsicNotFound": (
        "chain",
        "the extrinsic was not found in its block ({what})",
        "re-read the chain before retrying: it may or may not have landed",
    ),
    "bittensor._transport.errors.SubstrateRequestException": (
        "chain",
        "the node refused {what}",
        "check that the node is up and synced, then retry",
    ),
    # websockets
    "websockets.exceptions.InvalidURI": (
        "unavailable",
        "the endpoint URL is not a websocket URL ({what})",
        "pass e.g. --chain-endpoint ws://127.0.0.1:9944",
    ),
    "websockets.exceptions.PayloadTooBig": (
        "chain",
        "a reply was larger than the websocket allows ({what})",
        "read a smaller range, or use another endpoint",
    ),
    "websockets.exceptions.WebSocketException": (
        "unavailable",
        "the websocket connection failed while {what}",
        "check --network/--chain-endpoint and that the node is up, then retry",
    ),
    "websockets.datastructures.MultipleValuesError": (
        "unavailable",
        "the endpoint's handshake was malformed ({what})",
        "use another endpoint (--chain-endpoint)",
    ),
    # what the SDK's code raises from the standard library (last: any SDK class above wins)
    "builtins.EOFError": (
        "wallet",
        "a key needed a password and none was given ({what})",
        "pass --password-file or set $BT_WALLET_PASSWORD",
    ),
    "builtins.FileNotFoundError": (
        "wallet",
        "a key file is missing ({what})",
        "check --wallet-name/--wallet-hotkey/--wallet-path, or create the keys with wallet-setup",
    ),
    "builtins.PermissionError": (
        "wallet",
        "a key file cannot be read ({what})",
        "check the wallet directory's permissions (key files are 0600, owned by you)",
    ),
    "concurrent.futures._base.TimeoutError": (  # Python 3.10; an alias of TimeoutError from 3.11
        "unavailable",
        "the node did not answer in time while {what}",
        "check that the node is up, then retry",
    ),
    "builtins.TimeoutError": (
        "unavailable",
        "the node did not answer in time while {what}",
        "check that the node is up, then retry",
    ),
    "builtins.OSError": (
        "unavailable",
        "the connection failed while {what}",
        "check --network/--chain-endpoint and that the node is up, then retry",
    ),
    "builtins.Exception": (
        "chain",
        "the chain's reply could not be used for {what}",
        "the node's runtime and this bittensor SDK may disagree: check `bitagent doctor`, update the node or the SDK",
    ),
}

#: Features the SDK probes that an older runtime lacks, and what we do about it (said in the error).
RUNTIME_FEATURES: dict[str, str] = {
    "MevShield.NextKey": "the MEV shield (registration then uses the plain burned_register call)",
    "SubtensorModule.SubnetEpochConsensus": (
        "SubtensorModule.SubnetEpochConsensus (the epoch consensus mode, added in runtime 475), which the "
        "SDK's weight setting reads before every set"
    ),
    "SubtensorModule.CommitRevealWeightsEnabled": "commit-reveal weights (SubtensorModule.CommitRevealWeightsEnabled)",
    "SubnetInfoRuntimeApi.get_metagraph": "the metagraph runtime API (SubnetInfoRuntimeApi.get_metagraph)",
    "SubnetInfoRuntimeApi.get_next_epoch_start_block": (
        "the epoch schedule runtime API (SubnetInfoRuntimeApi.get_next_epoch_start_block)"
    ),
}

_MISSING = (
    # StorageFunctionNotFound's text; the codec's and the runtime-API layer's ValueErrors
    re.compile(r"storage function ([\w]+\.[\w]+) not found"),
    re.compile(r"Runtime API Call '([\w]+\.[\w]+)' not found"),
    re.compile(r"(?:Call|call|function|constant|Constant|pallet|Pallet|module)\s+'?([\w]+(?:\.[\w]+)?)'?\s+not found"),
)


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def sdk_error_kind(exc: BaseException) -> tuple[str, str, str, str]:
    """``(kind, sentence, fix, row)`` for an exception raised by the SDK: the first class of its MRO in
    :data:`SDK_ERRORS` (``row`` is that class's qualified name). A ValueError or KeyError saying that a storage
    item or runtime API is not in the metadata counts as ``runtime``."""
    for cls in type(exc).__mro__:
        row = SDK_ERRORS.get(_qualname(cls))
        if row is not None:
            kind, sentence, fix = row
            if kind == "chain" and missing_feature(exc):
                kind, sentence, fix = SDK_ERRORS["bittensor._transport.errors.StorageFunctionNotFound"]
            return kind, sentence, fix, _qualname(cls)
    return (*SDK_ERRORS["builtins.Exception"], "builtins.Exception")  # BaseException outside Exception


def missing_feature(exc: BaseException) -> str | None:
    """The ``Pallet.Item`` / ``Api.method`` an exception says this runtime lacks, or None."""
    if not isinstance(exc, (ValueError, KeyError, LookupError)) and "StorageFunctionNotFound" not in type(exc).__name__:
        return None
    text = error_text(exc)
    for pattern in _MISSING:
        m = pattern.search(text)
        if m:
            return m.group(1)
    return None


def error_text(exc: BaseException) -> str:
    """``str(exc)`` that never raises (some websockets exceptions need attributes a bare instance lacks)."""
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a bare instance whose __str__ needs attributes it lacks
        text = ""
    return " ".join(text.split())[:300] or type(exc).__name__


def translate(
    exc: BaseException, what: str, *, endpoint: str = "", write: bool = False, uncertain: bool = False
) -> ChainOpError:
    """The error of our family for an exception the SDK raised while ``what`` (``"reading the uid"``): one
    sentence with the fix. Writes get :class:`TxFailed` (the chain or SDK refused; nothing was included) or
    :class:`ChainUnavailable` with ``uncertain`` (the connection was lost: it may or may not have landed)."""
    if isinstance(exc, ChainOpError):
        return exc
    kind, sentence, fix, row = sdk_error_kind(exc)
    feature = missing_feature(exc) or "a storage item or runtime API"
    detail = error_text(exc)
    name = getattr(exc, "name", None) if isinstance(getattr(exc, "name", None), str) else None
    code_v = getattr(getattr(exc, "code", None), "value", None)
    code = code_v if isinstance(code_v, str) else None
    at = f" at {endpoint}" if endpoint else ""
    data: dict[str, Any] = {"sdk_error": row, "endpoint": endpoint or None}
    if kind in ("unavailable", "rate_limited"):
        retry_after = getattr(exc, "retry_after", None)
        if write:
            msg = (
                f"{sentence.format(what=what)}{at} ({detail}); it may or may not have landed: re-check the chain "
                f"before retrying."
            )
            return ChainUnavailable(msg, uncertain=True, retry_after=retry_after, **data)
        return ChainUnavailable(f"{sentence.format(what=what)}{at} ({detail}); {fix}.", retry_after=retry_after, **data)
    if kind == "runtime":
        described = RUNTIME_FEATURES.get(feature, feature)
        msg = f"{sentence.format(what=what, feature=described)}{at}; {fix}."
        if write:
            return TxFailed(msg, name="RuntimeLacks", code="runtime_lacks", feature=feature, **data)
        return RuntimeLacks(msg, feature=feature, **data)
    if kind == "wallet":
        kind_w = "wrong_password" if "WrongPassword" in row else "password_missing" if "EOFError" in row else "invalid"
        return WalletError(f"{sentence.format(what=what)}: {detail}; {fix}.", kind_w, **data)
    msg = f"{sentence.format(what=what)}{at}: {detail}; {fix}."
    if write and kind == "chain" and code == "rate_limited":
        m = _RETRY_IN.search(detail)
        return RateLimited(msg, name=name, code=code, retry_in_blocks=int(m.group(1)) if m else None, **data)
    if write:
        return TxFailed(msg, name=name, code=code or ("policy_violation" if kind == "policy" else kind), **data)
    return ChainError(msg, sdk_error_name=name, sdk_error_code=code, **data)


_RETRY_IN = re.compile(r"[Rr]etry in ~?(\d+) blocks?")
