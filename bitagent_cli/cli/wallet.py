"""`bitagent wallet-setup`: Create the coldkey and hotkeys a role needs, non-interactively."""

from __future__ import annotations

import typer

from ._common import JsonOpt, ProfileOpt, VerboseOpt, not_built, open_context


def wallet_setup_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Create the coldkey and hotkeys a role needs, non-interactively."""
    open_context(profile=profile, json_out=json_out, verbose=verbose)
    raise not_built("wallet-setup")


def register(app: typer.Typer) -> None:
    app.command("wallet-setup")(wallet_setup_cmd)
