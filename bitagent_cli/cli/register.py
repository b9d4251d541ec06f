"""`bitagent register`: Register a hotkey on the subnet; idempotent and loop-safe."""

from __future__ import annotations

import datetime as _dt
import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ._chain import EXIT_PRICE, chain_cli_error, chain_setup, confirm_or_refuse, paragraphs
from ._common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    ChainEndpointOpt,
    CliError,
    DryRunOpt,
    JsonOpt,
    NetuidOpt,
    NetworkOpt,
    ProfileOpt,
    VerboseOpt,
    WalletHotkeyOpt,
    WalletNameOpt,
    WalletPathOpt,
    YesOpt,
    chain_overrides,
    open_context,
)

HELP = """Register a hotkey on the subnet by burning the registration price; idempotent and loop-safe.

Already registered: prints the uid and exits 0, spending nothing. Otherwise, before each attempt it
re-reads registration_allowed, the price and the coldkey balance, never pays more than --max-burn
(required on finney), and backs off in blocks on rate limits (TooManyRegistrationsThisInterval waits
for the interval to reset) up to --max-attempts or --until. Each attempt is logged on stderr; --json
prints one object (uid, cost, attempts, block, ...). Uses the SDK's MEV-shielded BurnedRegister, or the
plain burned_register call on chains without a MEV-shield key. The coldkey password comes from
--password-file or $BT_WALLET_PASSWORD; -y skips the confirmation (required without a terminal).

Exit codes: 0 registered (or already; --dry-run: would proceed), 1 gave up (attempts or time used
up, insufficient balance, chain unreachable), 2 usage (bad flag, no --max-burn on finney, missing
wallet, missing or wrong password, no -y without a terminal), 3 price above --max-burn (nothing
spent). A retry loop: until bitagent register -y --max-burn 1; do [ $? -eq 2 ] && break; sleep 600; done
"""


def parse_until(text: str, now: float | None = None) -> float:
    """``--until``: a duration (``90s``, ``30m``, ``6h``, ``2d``), a clock time today/tomorrow
    (``18:30``), an ISO date-time (naive = local time) or a unix timestamp. Returns a unix time."""
    now = time.time() if now is None else now
    t = text.strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd])", t)
    if m:
        return now + float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if re.fullmatch(r"\d{9,}(\.\d+)?", t):
        return float(t)
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", t)
    if m:
        base = _dt.datetime.fromtimestamp(now)
        at = base.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=int(m.group(3) or 0), microsecond=0)
        if at.timestamp() <= now:
            at += _dt.timedelta(days=1)
        return at.timestamp()
    try:
        return _dt.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise CliError(
            f"--until {text!r}: use a duration (30m, 6h), a time (18:30), an ISO date-time "
            f"(2026-12-01T18:30) or a unix timestamp.",
            EXIT_USAGE,
        ) from None


# ---------------------------------------------------------------- the command
def register_cmd(
    max_burn: Annotated[
        float | None,
        typer.Option(
            "--max-burn", min=0.0, help="Never pay more than this many TAO (required on finney).", show_default=False
        ),
    ] = None,
    max_attempts: Annotated[
        int,
        typer.Option(
            "--max-attempts", min=0, help="Registration attempts before giving up (0 = no limit; needs --until)."
        ),
    ] = 5,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Keep trying until then: 30m, 6h, 18:30, 2026-12-01T18:30 or a unix time.",
            show_default=False,
        ),
    ] = None,
    backoff_blocks: Annotated[
        int,
        typer.Option(
            "--backoff-blocks", min=1, help="Blocks to wait after a failure whose wait the chain does not tell."
        ),
    ] = 10,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="File whose first line is the coldkey password (else $BT_WALLET_PASSWORD).",
            show_default=False,
        ),
    ] = None,
    netuid: NetuidOpt = None,
    network: NetworkOpt = None,
    chain_endpoint: ChainEndpointOpt = None,
    wallet_name: WalletNameOpt = None,
    wallet_hotkey: WalletHotkeyOpt = None,
    wallet_path: WalletPathOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    ctx = open_context(
        profile=profile,
        json_out=json_out,
        verbose=verbose,
        overrides=chain_overrides(network, chain_endpoint, netuid, wallet_name, wallet_hotkey, wallet_path),
    )
    from ..chain import errors as E
    from ..chain.client import RAO_PER_TAO, connect
    from ..chain.register import fmt_tao, plan_registration, register_hotkey
    from ..chain.wallets import load_wallet, unlock_coldkey

    info, uid_net = chain_setup(ctx)
    if max_burn is None and info.is_mainnet and not dry_run:
        raise CliError(
            "--max-burn TAO is required on finney: the most you are willing to pay (see the price with --dry-run).",
            EXIT_USAGE,
        )
    cap = None if max_burn is None else round(max_burn * RAO_PER_TAO)
    deadline = parse_until(until) if until else None
    if max_attempts == 0 and deadline is None:
        raise CliError("--max-attempts 0 (no limit) needs --until TIME to bound the loop.", EXIT_USAGE)

    def say(msg: str) -> None:
        ctx.err.print(msg, markup=False, highlight=False)

    try:
        wallet = load_wallet(ctx.settings, unlock_hotkey=False)
        with connect(info) as chain:
            plan = plan_registration(chain, wallet, uid_net, max_burn_rao=cap)
            if plan.already_registered:
                say(f"hotkey {plan.hotkey} is already registered on netuid {uid_net} ({info.name}) as uid {plan.uid}")
                out = {
                    "ok": True,
                    "registered": True,
                    "already_registered": True,
                    "uid": plan.uid,
                    "cost": 0.0,
                    "attempts": 0,
                    "block": plan.block,
                    "hotkey": plan.hotkey,
                    "coldkey": plan.coldkey,
                    "netuid": uid_net,
                    "network": info.name,
                    "dry_run": dry_run,
                }
                ctx.emit(out, lambda c: c.print(f"already registered: uid {plan.uid} on netuid {uid_net}"))
                return
            if dry_run:
                code = _dry_run(ctx, plan, info)
                if code:
                    raise typer.Exit(code)
                return
            confirm_or_refuse(
                yes,
                f"Register hotkey {plan.hotkey} on netuid {uid_net} ({info.name}) for the "
                f"current price {fmt_tao(plan.price_rao)}"
                + (f" (never above {fmt_tao(cap)})" if cap is not None else " (no cap)")
                + f", paid by coldkey {plan.coldkey}?",
            )
            signer = unlock_coldkey(wallet, password_file=str(password_file) if password_file else None)
            outcome = register_hotkey(
                chain,
                wallet,
                uid_net,
                max_burn_rao=cap,
                max_attempts=max_attempts or None,
                until=deadline,
                backoff_blocks=backoff_blocks,
                signer=signer,
                log_fn=say,
            )
    except E.ChainOpError as e:
        raise chain_cli_error(e) from None

    out = {"ok": True, **outcome.to_dict(), "dry_run": False}
    ctx.emit(
        out,
        lambda c: c.print(
            f"registered: uid [bold]{outcome.uid}[/bold] on netuid {uid_net} ({info.name}) in block {outcome.block}, "
            f"cost {fmt_tao(outcome.cost_rao)}, {outcome.attempts} attempt(s)"
        ),
    )


def _dry_run(ctx: Any, plan: Any, info: Any) -> int:
    from ..chain.register import fmt_tao

    code = EXIT_OK
    verdict = "would register now"
    if not plan.within_cap:
        code, verdict = EXIT_PRICE, f"would stop: price {fmt_tao(plan.price_rao)} is above --max-burn"
    elif not plan.affordable:
        code, verdict = (
            EXIT_FAIL,
            (f"would give up: balance {fmt_tao(plan.balance_rao)} is below the price {fmt_tao(plan.price_rao)}"),
        )
    elif not plan.registration_allowed:
        verdict = "would wait: registration is closed on this subnet"
    out = {
        "ok": code == EXIT_OK,
        "dry_run": True,
        "registered": False,
        "would_register": code == EXIT_OK and plan.registration_allowed,
        "verdict": verdict,
        "exit_code": code,
        **plan.to_dict(),
    }

    def render(console: Any) -> None:
        console.print(f"dry run on {info.name} ({info.endpoint}), netuid {plan.netuid}, block {plan.block}")
        console.print(f"  hotkey   {plan.hotkey}\n  coldkey  {plan.coldkey}")
        console.print(
            f"  price    {fmt_tao(plan.price_rao)}"
            + (f" (cap {fmt_tao(plan.max_burn_rao)})" if plan.max_burn_rao is not None else "")
        )
        console.print(f"  balance  {fmt_tao(plan.balance_rao)}")
        console.print(f"  registration {'open' if plan.registration_allowed else 'closed'}")
        console.print(f"  -> {verdict}; nothing was sent", markup=False)

    ctx.emit(out, render)
    return code


def register(app: typer.Typer) -> None:
    app.command("register", help=paragraphs(HELP))(register_cmd)
