"""`bitagent profile list|show`: the resolved settings and where each value came from.

Both still run when a profile file has a typo or a bad value: the bad key is skipped and the file is
marked with what is wrong (every other command refuses to run with it, naming the fix).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..config import SETTINGS, list_profiles, profile_problems
from ._common import JsonOpt, ProfileOpt, VerboseOpt, open_context

profile_app = typer.Typer(help="List profiles and show resolved settings.", no_args_is_help=True)


@profile_app.command("list")
def list_cmd(profile: ProfileOpt = None, json_out: JsonOpt = False, verbose: VerboseOpt = 0) -> None:
    """List the known profiles (shipped and yours) and the files that define them; marks files with errors."""
    ctx = open_context(profile=profile, json_out=json_out, verbose=verbose, lenient=True)
    profiles = {name: [str(p) for p in files] for name, files in list_profiles().items()}
    problems = profile_problems()

    def render(console):
        t = Table("profile", "files")
        for name, files in sorted(profiles.items()):
            shown = [escape(f) + ("  [red](errors: see below)[/red]" if f in problems else "") for f in files]
            t.add_row(name + (" (active)" if name == ctx.settings.profile else ""), "\n".join(shown))
        console.print(t)
        for msgs in problems.values():
            for m in msgs:
                console.print(f"[red]error[/red]: {escape(m)}", soft_wrap=True)

    ctx.emit({"active": ctx.settings.profile, "profiles": profiles, "problems": problems}, render)


@profile_app.command("show")
def show_cmd(
    name: Annotated[
        str | None, typer.Argument(help="Profile to show (default: --profile, else the active one).")
    ] = None,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Show every setting of a profile after env vars are applied, with its source and env var."""
    ctx = open_context(profile=name or profile, json_out=json_out, verbose=verbose, lenient=True)
    s = ctx.settings

    def render(console):
        t = Table("key", "value", "source", "env var", title=f"profile {s.profile}")
        for k, v in s.values.items():
            t.add_row(k, repr(v) if isinstance(v, str) else str(v), s.sources.get(k, "default"), SETTINGS[k].env)
        console.print(t)
        for m in s.problems:
            console.print(f"[red]error[/red] (skipped above): {escape(m)}", soft_wrap=True)

    ctx.emit({**s.to_dict(), "problems": s.problems}, render)


def register(app: typer.Typer) -> None:
    app.add_typer(profile_app, name="profile")
