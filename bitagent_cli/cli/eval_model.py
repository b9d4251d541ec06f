"""`bitagent eval-model`: Serve a model, run the task suites, score and report per category (the validator's score)."""

from __future__ import annotations

import typer

from ._common import JsonOpt, ProfileOpt, VerboseOpt, not_built, open_context


def eval_model_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Serve a model, run the task suites, score and report per category (the validator's score)."""
    open_context(profile=profile, json_out=json_out, verbose=verbose)
    raise not_built("eval-model")


def register(app: typer.Typer) -> None:
    app.command("eval-model")(eval_model_cmd)
