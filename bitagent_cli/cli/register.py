"""`bitagent register`: Register a hotkey on the subnet; idempotent and loop-safe."""

from __future__ import annotations

import typer

from ._common import JsonOpt, ProfileOpt, VerboseOpt, not_built, open_context


def register_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Register a hotkey on the subnet; idempotent and loop-safe."""
    open_context(profile=profile, json_out=json_out, verbose=verbose)
    raise not_built("register")


def register(app: typer.Typer) -> None:
    app.command("register")(register_cmd)
