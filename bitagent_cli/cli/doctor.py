"""`bitagent doctor`: Check GPU, vLLM, ports, wallet files and chain reachability."""

from __future__ import annotations

import typer

from ._common import JsonOpt, ProfileOpt, VerboseOpt, not_built, open_context


def doctor_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Check GPU, vLLM, ports, wallet files and chain reachability."""
    open_context(profile=profile, json_out=json_out, verbose=verbose)
    raise not_built("doctor")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_cmd)
