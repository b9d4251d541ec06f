"""`bitagent wallet-setup`: Create the coldkey and hotkeys a role needs, non-interactively."""

from __future__ import annotations

import datetime as _dt
import enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ._chain import paragraphs
from ._common import (
    EXIT_FAIL,
    EXIT_USAGE,
    ChainEndpointOpt,
    CliError,
    DryRunOpt,
    JsonOpt,
    NetworkOpt,
    ProfileOpt,
    VerboseOpt,
    WalletHotkeyOpt,
    WalletNameOpt,
    WalletPathOpt,
    chain_overrides,
    open_context,
)


class Role(str, enum.Enum):
    miner = "miner"
    validator = "validator"
    owner = "owner"


HELP = """Create the coldkey and hotkeys a role needs, non-interactively.

The coldkey is encrypted with the password from --password-file FILE (first line) or
$BT_WALLET_PASSWORD ($BT_WALLET_PASSWORD_FILE); --no-password makes unencrypted test keys (refused on
finney). An existing coldkey is kept and the new hotkeys are added to it; an existing hotkey is never
replaced without --overwrite. Key files are written 0600. Mnemonics are written only to
--mnemonic-out FILE (0600, appended), never to the terminal or logs. --count N creates hotkeys
HOTKEY1..HOTKEYN (local testing). On a local chain --fund TAO sends test TAO from the //Alice dev
account to the coldkey.

Exit codes: 0 created (or dry run), 1 failure (e.g. funding), 2 usage (a key exists without
--overwrite, no password given, bad option).
"""


def _hotkey_names(base: str, count: int) -> list[str]:
    return [base] if count == 1 else [f"{base}{i}" for i in range(1, count + 1)]


def _network_flags(s: Any) -> str:
    """The flags that select the same chain in the suggested follow-up commands."""
    out = f" -P {s.profile}" if s.profile != "local" else ""
    if s.get("chain.endpoint") and s.sources.get("chain.endpoint") != "default":
        out += f" --chain-endpoint {s.get('chain.endpoint')}"
    elif s.sources.get("chain.network", "default").startswith(("flag", "env")):
        out += f" -n {s.get('chain.network')}"
    return out


def _next_steps(role: Role, name: str, hotkeys: list[str], network_flag: str, path: str | None = None) -> list[str]:
    hk = hotkeys[0]
    # the same wallets directory in every step: without it, they would look in ~/.bittensor/wallets
    where = (
        f" --wallet-path {path}"
        if path and Path(path).expanduser() != Path("~/.bittensor/wallets").expanduser()
        else ""
    )
    w = f"-w {name} -H {hk}{where}{network_flag}"
    steps = [f"bitagent register {w} --max-burn TAO"]
    if role is Role.miner:
        steps += [f"bitagent submit-model ORG/MODEL {w}", f"bitagent mine {w}"]
    elif role is Role.validator:
        steps += [
            f"btcli stake add --wallet.name {name} --wallet.hotkey {hk}"
            + (f" --wallet.path {path}" if where else "")
            + "  (stake for a validator permit)",
            f"bitagent validate {w}",
        ]
    else:
        steps = [
            f"btcli subnets create --wallet.name {name} --wallet.hotkey {hk}"
            + (f" --wallet.path {path}" if where else "")
            + "  (create the subnet)",
            *steps,
        ]
    return steps


def wallet_setup_cmd(
    role: Annotated[
        Role, typer.Option("--role", case_sensitive=False, help="What the keys are for: miner, validator or owner.")
    ] = Role.miner,
    count: Annotated[
        int,
        typer.Option("--count", min=1, max=256, help="Hotkeys to create (N > 1: HOTKEY1..HOTKEYN, for local testing)."),
    ] = 1,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="File whose first line is the coldkey password (else $BT_WALLET_PASSWORD).",
            show_default=False,
        ),
    ] = None,
    no_password: Annotated[bool, typer.Option("--no-password", help="Unencrypted coldkey (test keys only).")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing keys (they are lost).")] = False,
    mnemonic_out: Annotated[
        Path | None,
        typer.Option(
            "--mnemonic-out", help="Append the new mnemonics to this file (created 0600).", show_default=False
        ),
    ] = None,
    fund: Annotated[
        float | None,
        typer.Option(
            "--fund",
            min=0.0,
            help="Local chain only: send this much test TAO from //Alice to the coldkey.",
            show_default=False,
        ),
    ] = None,
    wallet_name: WalletNameOpt = None,
    wallet_hotkey: WalletHotkeyOpt = None,
    wallet_path: WalletPathOpt = None,
    network: NetworkOpt = None,
    chain_endpoint: ChainEndpointOpt = None,
    dry_run: DryRunOpt = False,
    profile: ProfileOpt = None,
    json_out: JsonOpt = False,
    verbose: VerboseOpt = 0,
) -> None:
    ctx = open_context(
        profile=profile,
        json_out=json_out,
        verbose=verbose,
        overrides=chain_overrides(network, chain_endpoint, None, wallet_name, wallet_hotkey, wallet_path),
    )
    from ..chain import errors as E
    from ..chain.client import resolve_network
    from ..chain.wallets import MnemonicFile, create_keys, new_coldkey_password, open_wallet, wallet_location

    s = ctx.settings
    if no_password and password_file is not None:
        raise CliError("--no-password and --password-file contradict each other; pass one.", EXIT_USAGE)
    try:
        name, base, path = wallet_location(s)
        info = resolve_network(s.get("chain.network"), s.get("chain.endpoint"))
    except (E.WalletError, E.NetworkConfigError) as e:
        raise CliError(e.message, EXIT_USAGE) from None
    hotkeys = _hotkey_names(base, count)
    if fund is not None and not info.is_local:
        raise CliError(
            f"--fund sends TAO from the //Alice dev account, which exists only on a local chain "
            f"(this is {info.name}); get test TAO for {info.name} another way.",
            EXIT_USAGE,
        )

    probe = open_wallet(name=name, hotkey=hotkeys[0], path=path)
    new_coldkey = overwrite or not (probe.coldkey_file.exists_on_device() or probe.coldkeypub_file.exists_on_device())
    password: str | None = None
    if new_coldkey:  # the policy (and its usage errors) is chain.wallets.new_coldkey_password
        password = new_coldkey_password(no_password=no_password, password_file=password_file, mainnet=info.is_mainnet)

    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    sink = MnemonicFile(
        None if dry_run else mnemonic_out,
        f"# bitagent wallet-setup {stamp} role={role.value} wallet={name} path={path}\n",
    )
    sink.check()
    try:
        setup = create_keys(
            path, name, hotkeys, password=password, overwrite=overwrite, on_mnemonic=sink, dry_run=dry_run
        )
    except E.WalletError as e:
        raise CliError(
            e.message,
            EXIT_USAGE if e.kind in ("exists", "invalid", "password_missing") else EXIT_FAIL,
            data={"kind": e.kind},
        ) from None
    finally:
        sink.close()

    funded: dict[str, Any] | None = None
    if fund is not None and fund > 0 and not dry_run:
        funded = _fund(ctx, info, setup, fund)

    network_flag = _network_flags(s)
    out: dict[str, Any] = {
        "ok": True,
        "role": role.value,
        **setup.to_dict(),
        "hotkeys": hotkeys,
        "mnemonic_out": str(mnemonic_out) if mnemonic_out and not dry_run else None,
        "mnemonics_saved": sink.count,
        "funded": funded,
        "next_steps": _next_steps(role, name, hotkeys, network_flag, path),
    }

    def render(console: Any) -> None:
        verb = "would create" if dry_run else "created"
        for k in setup.created:
            enc = (
                " (encrypted)"
                if k.kind == "coldkey" and k.encrypted
                else " (NOT encrypted)"
                if k.kind == "coldkey"
                else ""
            )
            console.print(f"{verb} {k.kind} [bold]{k.name}[/bold] {k.ss58 or ''}{enc}")
        for k in setup.replaced:
            console.print(f"{'would replace' if dry_run else 'replaced'} {k.kind} [bold]{k.name}[/bold] {k.ss58 or ''}")
        for k in setup.existing:
            console.print(f"kept existing {k.kind} [bold]{k.name}[/bold] {k.ss58 or ''}")
        console.print(f"wallet files: {Path(path) / name}")
        if funded:
            console.print(f"funded the coldkey with τ{funded['amount']} from //Alice (balance τ{funded['balance']})")
        if not dry_run:
            console.print("next: " + "\n      ".join(out["next_steps"]))

    ctx.emit(out, render)
    made = [k for k in setup.created + setup.replaced]
    if made and not dry_run:
        if mnemonic_out is None:
            ctx.err.print(
                "warning: the new mnemonics were not saved anywhere (pass --mnemonic-out FILE to keep "
                "a recovery copy); without them lost key files cannot be restored."
            )
        else:
            ctx.err.print(
                f"mnemonics of {sink.count} new key(s) appended to {mnemonic_out} (mode 0600); "
                f"move it somewhere safe and offline."
            )


def _fund(ctx: Any, info: Any, setup: Any, amount: float) -> dict[str, Any]:
    from ..chain import errors as E
    from ..chain.client import RAO_PER_TAO, connect

    cold = setup.coldkey
    if cold is None or not cold.ss58:
        raise CliError("no coldkey address to fund.", EXIT_FAIL)
    try:
        with connect(info) as chain:
            res = chain.fund_from_dev_account(cold.ss58, round(amount * RAO_PER_TAO))
            balance = chain.balance_rao(cold.ss58) / RAO_PER_TAO
    except E.ChainOpError as e:
        raise CliError(f"keys created, but funding failed: {e.message}", EXIT_FAIL) from None
    return {"amount": amount, "balance": balance, "extrinsic_id": res.extrinsic_id, "block": res.block}


def register(app: typer.Typer) -> None:
    app.command("wallet-setup", help=paragraphs(HELP))(wallet_setup_cmd)
