"""Everything that talks to the Bittensor chain; the only package that imports ``bittensor`` (11.x).

Stable API (used by the CLI and the neurons):

- :func:`connect` ``(settings) -> Chain``: reads (``block``, ``uid``, ``metagraph_snapshot``,
  ``get_commitments``, ``weights_rate_limit``, ``blocks_since_last_update``, ...) with reconnects,
  and writes (``serve_endpoint``, ``set_weights``, ``set_commitment``, ``burned_register``).
- :func:`load_wallet` ``(settings, unlock_hotkey=True)``, :func:`unlock_coldkey`, :func:`create_keys`.
- :func:`register_hotkey` / :func:`plan_registration` (``bitagent register``).
- :func:`submit_model`, :func:`parse_commitment` -> :class:`ModelRef` (``bitagent submit-model``).
- ``chain.auth``: :func:`~bitagent_cli.chain.auth.sign_request` / ``verify_request`` (btauth/1).

Errors are in ``chain.errors`` (no bittensor import there). See docs/chain.md.
"""

from __future__ import annotations

from . import auth
from .client import (
    DEV_ACCOUNT_URI,
    Chain,
    NetworkInfo,
    Neuron,
    TxResult,
    connect,
    network_from_settings,
    resolve_network,
    substrate_override,
)
from .commit import (
    COMMITMENT_PREFIX,
    MAX_COMMITMENT_BYTES,
    ModelRef,
    SubmitOutcome,
    format_commitment,
    parse_commitment,
    read_model_commitment,
    submit_model,
    vet_and_resolve,
)
from .errors import (
    ChainError,
    ChainOpError,
    ChainUnavailable,
    CommitmentError,
    ModelRejected,
    NetworkConfigError,
    NotRegistered,
    PriceAboveCap,
    RateLimited,
    RegistrationGaveUp,
    RuntimeLacks,
    TxFailed,
    WalletError,
)
from .register import RegisterOutcome, RegistrationPlan, plan_registration, register_hotkey
from .wallets import (
    KeyInfo,
    WalletSetup,
    coldkey_ss58,
    create_keys,
    hotkey_ss58,
    is_ss58,
    load_wallet,
    open_wallet,
    resolve_password,
    unlock_coldkey,
    wallet_location,
)

__all__ = [
    "COMMITMENT_PREFIX",
    "DEV_ACCOUNT_URI",
    "MAX_COMMITMENT_BYTES",
    "Chain",
    "ChainError",
    "ChainOpError",
    "ChainUnavailable",
    "CommitmentError",
    "KeyInfo",
    "ModelRef",
    "ModelRejected",
    "NetworkConfigError",
    "NetworkInfo",
    "Neuron",
    "NotRegistered",
    "PriceAboveCap",
    "RateLimited",
    "RegisterOutcome",
    "RegistrationGaveUp",
    "RegistrationPlan",
    "RuntimeLacks",
    "SubmitOutcome",
    "TxFailed",
    "TxResult",
    "WalletError",
    "WalletSetup",
    "auth",
    "coldkey_ss58",
    "connect",
    "create_keys",
    "format_commitment",
    "hotkey_ss58",
    "is_ss58",
    "load_wallet",
    "network_from_settings",
    "open_wallet",
    "parse_commitment",
    "plan_registration",
    "read_model_commitment",
    "register_hotkey",
    "resolve_network",
    "resolve_password",
    "submit_model",
    "substrate_override",
    "unlock_coldkey",
    "vet_and_resolve",
    "wallet_location",
]
