"""The one exception base of bitagent: every error the library raises for the user subclasses it.

``message`` is one sentence saying what went wrong and how to fix it; ``data`` holds extra fields that
``--json`` error objects carry. ``cli/_errors.py`` maps these types to exit codes (one table).

This module imports nothing (config/ and chain/ may import it without pulling anything in).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BitagentError", "InvalidArgument", "ModelRefused"]


class BitagentError(Exception):
    """Base class: ``message`` is one line with the fix; ``data`` goes into ``--json`` error objects.

    Library errors that used to derive from ``ValueError``/``RuntimeError`` keep that base too
    (``class ConfigError(BitagentError, ValueError)``), so callers catching those still work."""

    def __init__(self, message: str = "", **data: Any):
        super().__init__(message)
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return self.message


class ModelRefused(BitagentError):
    """The model may not be used (vetting: ``eval-model``, ``mine``, ``submit-model`` and the validator
    apply the same rules). ``reason`` (= ``message``) is one line saying why and what to do.

    ``bitagent_cli.chain.ModelRejected`` is this class (kept as an alias)."""

    @property
    def reason(self) -> str:
        return self.message


class InvalidArgument(BitagentError, ValueError):
    """An argument a library function cannot use (no suite selected, bad rules name, concurrency 0):
    the caller's mistake, so the CLI exits 2 (usage). Internal ``ValueError``s are not this."""
