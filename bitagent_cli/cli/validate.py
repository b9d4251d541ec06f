"""`bitagent validate`: Query miners online, evaluate submitted models offline, set weights."""

from __future__ import annotations

import typer

from ._common import JsonOpt, ProfileOpt, VerboseOpt, not_built, open_context


def validate_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Query miners online, evaluate submitted models offline, set weights."""
    open_context(profile=profile, json_out=json_out, verbose=verbose)
    raise not_built("validate")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_cmd)
