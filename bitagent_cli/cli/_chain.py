"""What the chain commands (``register``, ``submit-model``, ``wallet-setup``) share: help paragraphs, the
confirmation, the network set-up and chain errors as CLI errors (codes from the one table, ``_errors.py``)."""

from __future__ import annotations

import sys
from typing import Any

import typer

from ._common import EXIT_FAIL, EXIT_USAGE, CliError
from ._errors import EXIT_PRICE

__all__ = ["EXIT_PRICE", "chain_cli_error", "chain_setup", "confirm_or_refuse", "paragraphs"]


def paragraphs(text: str) -> str:
    """Help text with each paragraph on one line (the help renderer wraps it)."""
    return "\n\n".join(" ".join(p.split()) for p in text.strip().split("\n\n"))


def confirm_or_refuse(yes: bool, question: str) -> None:
    """-y, or an interactive yes; without a terminal and without -y refuse (exit 2)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(
            "refusing to spend or write on chain without confirmation: pass -y/--yes (no terminal to ask on).",
            EXIT_USAGE,
        )
    if not typer.confirm(question, default=False, err=True):
        raise CliError("not confirmed; nothing was sent.", EXIT_FAIL)


def chain_cli_error(e: Exception) -> CliError:
    """Map a ``bitagent_cli.chain`` error to the exit codes the chain commands document."""
    from ._errors import error_data, exit_code_for

    return CliError(getattr(e, "message", None) or str(e), exit_code_for(e), error_data(e))


def chain_setup(ctx: Any) -> tuple[Any, int]:
    """(NetworkInfo, netuid) from the resolved settings; usage errors exit 2."""
    from ..chain.client import network_from_settings
    from ..chain.errors import NetworkConfigError

    try:
        info = network_from_settings(ctx.settings)
    except NetworkConfigError as e:
        raise CliError(e.message, EXIT_USAGE) from None
    return info, int(ctx.settings["chain.netuid"])
