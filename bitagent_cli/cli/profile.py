"""`bitagent profile list|show`: the resolved settings and where each value came from."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..config import SETTINGS, list_profiles
from ._common import JsonOpt, VerboseOpt, open_context

profile_app = typer.Typer(help="List profiles and show resolved settings.", no_args_is_help=True)


@profile_app.command("list")
def list_cmd(json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """List the known profiles (shipped and yours) and the files that define them."""
    ctx = open_context(profile=None, json_out=json_out, verbose=verbose)
    profiles = {name: [str(p) for p in files] for name, files in list_profiles().items()}

    def render(console):
        t = Table("profile", "files")
        for name, files in sorted(profiles.items()):
            t.add_row(name + (" (active)" if name == ctx.settings.profile else ""), "\n".join(files))
        console.print(t)

    ctx.emit({"active": ctx.settings.profile, "profiles": profiles}, render)


@profile_app.command("show")
def show_cmd(
    name: Annotated[str | None, typer.Argument(help="Profile to show (default: the active one).")] = None,
    json_out: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Show every setting of a profile after env vars are applied, with its source and env var."""
    ctx = open_context(profile=name, json_out=json_out, verbose=verbose)
    s = ctx.settings

    def render(console):
        t = Table("key", "value", "source", "env var", title=f"profile {s.profile}")
        for k, v in s.values.items():
            t.add_row(k, repr(v) if isinstance(v, str) else str(v), s.sources.get(k, "default"), SETTINGS[k].env)
        console.print(t)

    ctx.emit(s.to_dict(), render)


def register(app: typer.Typer) -> None:
    app.add_typer(profile_app, name="profile")
