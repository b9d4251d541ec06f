"""`bitagent tasks list|export`: the shipped suites."""

from __future__ import annotations

import typer

from ._common import JsonOpt, ProfileOpt, VerboseOpt, not_built, open_context

tasks_app = typer.Typer(help="List and export task suites.", no_args_is_help=True)


@tasks_app.command("list")
def list_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """List suites, their categories, task counts and content hashes."""
    open_context(profile=profile, json_out=json_out, verbose=verbose)
    raise not_built("tasks list")


def register(app: typer.Typer) -> None:
    app.add_typer(tasks_app, name="tasks")
