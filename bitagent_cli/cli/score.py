"""`bitagent score`: Score a file of responses against a file of tasks."""

from __future__ import annotations

import typer

from ._common import JsonOpt, ProfileOpt, VerboseOpt, not_built, open_context


def score_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """Score a file of responses against a file of tasks."""
    open_context(profile=profile, json_out=json_out, verbose=verbose)
    raise not_built("score")


def register(app: typer.Typer) -> None:
    app.command("score")(score_cmd)
