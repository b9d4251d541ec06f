"""Errors raised by ``bitagent_cli.chain``: one sentence each, saying what to do.

This module imports nothing from bittensor, so callers can catch these without pulling in the SDK.
Messages never contain passwords, mnemonics or private keys.
"""

from __future__ import annotations

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
