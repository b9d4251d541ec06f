"""`bitagent mine`: Serve validators' queries with the miner's model."""

from __future__ import annotations

import typer

from ._common import JsonOpt, ProfileOpt, VerboseOpt, not_built, open_context


def mine_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Serve validators' queries with the miner's model."""
    open_context(profile=profile, json_out=json_out, verbose=verbose)
    raise not_built("mine")


def register(app: typer.Typer) -> None:
    app.command("mine")(mine_cmd)
