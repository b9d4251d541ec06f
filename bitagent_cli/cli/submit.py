"""`bitagent submit-model`: Vet a model, then publish repo@revision on chain."""

from __future__ import annotations

import typer

from ._common import JsonOpt, ProfileOpt, VerboseOpt, not_built, open_context


def submit_model_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Vet a model, then publish repo@revision on chain."""
    open_context(profile=profile, json_out=json_out, verbose=verbose)
    raise not_built("submit-model")


def register(app: typer.Typer) -> None:
    app.command("submit-model")(submit_model_cmd)
