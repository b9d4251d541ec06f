"""`bitagent doctor`: check this machine for mining and validating, and say what to fix.

The checks are ``bitagent_cli.doctor`` (``run_checks``); this module is the command: options, table, exit code.
Each check is ``ok``, ``warn`` or ``fail``; the exit status is 1 when any required check fails.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..doctor import *  # noqa: F403 - the checks, re-exported for callers of the old location
from ..doctor import FAIL, OK, WARN, run_checks
from ._common import (
    ChainEndpointOpt,
    JsonOpt,
    NetuidOpt,
    NetworkOpt,
    ProfileOpt,
    VerboseOpt,
    WalletHotkeyOpt,
    WalletNameOpt,
    WalletPathOpt,
    chain_overrides,
    open_context,
)

# ------------------------------------------------------------------------------------------- command
_STYLE = {OK: "[green]ok[/green]", WARN: "[yellow]warn[/yellow]", FAIL: "[red]FAIL[/red]"}


def doctor_cmd(
    chain_timeout: Annotated[
        float, typer.Option("--chain-timeout", min=0.5, help="Seconds to wait for the chain.")
    ] = 8.0,
    network: NetworkOpt = None,
    chain_endpoint: ChainEndpointOpt = None,
    netuid: NetuidOpt = None,
    wallet_name: WalletNameOpt = None,
    wallet_hotkey: WalletHotkeyOpt = None,
    wallet_path: WalletPathOpt = None,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    """Check Python, GPU, vLLM, the miner port, wallet files, disk space and chain reachability.

    Prints a table of check / status / what to fix. Exit 0 when every required check passes (warnings
    allowed), 1 when one fails.
    """
    from ..config import data_dir

    ctx = open_context(
        profile=profile,
        json_out=json_out,
        verbose=verbose,
        overrides=chain_overrides(network, chain_endpoint, netuid, wallet_name, wallet_hotkey, wallet_path),
    )
    checks = run_checks(ctx.settings, data_dir(ctx.settings), chain_timeout=chain_timeout)
    ok = not any(c.status == FAIL for c in checks)
    out = {"ok": ok, "profile": ctx.settings.profile, "checks": [c.to_dict() for c in checks]}

    def render(console: Console) -> None:
        table = Table(title=f"bitagent doctor (profile {ctx.settings.profile})", title_justify="left")
        table.add_column("check")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        table.add_column("fix", overflow="fold")
        for c in checks:
            table.add_row(
                c.name + ("" if c.required else " (optional)"),
                _STYLE[c.status],
                escape(c.detail),
                escape(c.fix) if c.status != OK else "",
            )
        console.print(table)
        failed = [c.name for c in checks if c.status == FAIL]
        console.print("[green]ready.[/green]" if ok else f"[red]not ready:[/red] fix {', '.join(failed)} first.")

    ctx.emit(out, render)
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_cmd)
