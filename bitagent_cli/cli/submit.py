"""`bitagent submit-model`: Vet a model, then publish repo@revision on chain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ._chain import chain_cli_error, chain_setup, confirm_or_refuse, paragraphs
from ._common import (
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

HELP = """Vet a model, then commit repo@sha on chain for your hotkey; --show reads what is committed.

MODEL is ORG/NAME\\[@REVISION] on the Hugging Face Hub. It is vetted exactly as `bitagent eval-model`
vets it (safetensors only, no custom code, at most eval.max_params_b parameters and
eval.max_download_gb to download), resolved to the commit sha, and written as the commitment
`hf:ORG/NAME@SHA` signed by the hotkey, which must be registered on the subnet. The commitment is
read back and compared. Committing the same model again is a no-op. When the chain refuses for
space or rate (SpaceLimitExceeded) the error says at which block to retry.

--show [--hotkey SS58|NAME] prints the commitment of your hotkey, or of any hotkey (an address, or a
hotkey name in your wallet), and the model it names.

Exit codes: 0 committed (already committed, dry run, or --show), 1 failure (model refused, hotkey not
registered, chain refused, read-back mismatch, chain unreachable), 2 usage (bad flag, missing wallet or
password, no -y without a terminal).
"""


def submit_model_cmd(
    model: Annotated[
        str | None, typer.Argument(help="ORG/NAME\\[@REVISION] on the Hugging Face Hub.", show_default=False)
    ] = None,
    show: Annotated[bool, typer.Option("--show", help="Read the committed model instead of submitting.")] = False,
    hotkey: Annotated[
        str | None,
        typer.Option(
            "--hotkey",
            help="With --show: whose commitment (an ss58 address or a hotkey name of the wallet).",
            show_default=False,
        ),
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file", help="Password file, only if the hotkey file is encrypted.", show_default=False
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
    info, net = chain_setup(ctx)
    if show:
        if model:
            raise CliError("--show takes no MODEL; use --hotkey to pick whose commitment to read.", EXIT_USAGE)
        return _show(ctx, info, net, hotkey)
    if not model:
        raise CliError("give the model to submit: bitagent submit-model ORG/NAME[@REVISION] (or --show).", EXIT_USAGE)
    if hotkey:
        raise CliError("--hotkey is only for --show; to sign with another hotkey pass -H NAME.", EXIT_USAGE)

    from ..chain import errors as E
    from ..chain.client import connect
    from ..chain.commit import submit_model
    from ..chain.wallets import load_wallet

    def confirm(plan: Any) -> bool:
        prev = f" (replacing {plan.previous})" if plan.previous else ""
        confirm_or_refuse(yes, f"Commit {plan.payload!r} for hotkey {plan.hotkey} on netuid {net} ({info.name}){prev}?")
        return True

    try:
        wallet = load_wallet(
            ctx.settings, unlock_hotkey=not dry_run, password_file=str(password_file) if password_file else None
        )
        with connect(info) as chain:
            out = submit_model(chain, wallet, net, model, settings=ctx.settings, dry_run=dry_run, confirm=confirm)
    except (E.ChainOpError, E.ModelRejected) as e:
        raise chain_cli_error(e) from None

    result = {"ok": True, "network": info.name, **out.to_dict()}

    def render(console: Any) -> None:
        if out.already_committed:
            console.print(f"already committed: {out.payload} (block {out.block}); nothing written")
        elif out.dry_run:
            console.print(
                f"dry run: would commit {out.payload} ({len(out.payload.encode())} bytes) for hotkey "
                f"{out.hotkey} on netuid {net} ({info.name})" + (f", replacing {out.previous}" if out.previous else ""),
                markup=False,
            )
        else:
            console.print(
                f"committed {out.payload} for hotkey {out.hotkey} on netuid {net} in block {out.block}; "
                f"read back and verified",
                markup=False,
            )
        fp = (out.vet or {}).get("fingerprint")
        console.print(f"weights fingerprint: {fp or 'unknown (the Hub lists no sha256 for the weights)'}", markup=False)

    ctx.emit(result, render)


def _show(ctx: Any, info: Any, net: int, hotkey: str | None) -> None:
    from ..chain import errors as E
    from ..chain.client import connect
    from ..chain.commit import model_fingerprint, read_model_commitment
    from ..chain.wallets import hotkey_ss58, is_ss58, open_wallet

    try:
        if hotkey and is_ss58(hotkey):
            address = hotkey
        else:
            address = hotkey_ss58(open_wallet(ctx.settings, hotkey=hotkey or None))
        with connect(info) as chain:
            got = read_model_commitment(chain, net, address)
    except E.ChainOpError as e:
        raise chain_cli_error(e) from None

    if got.get("model"):  # the weights' identity: how validators tell copies under other repos or shas
        got["fingerprint"], got["fingerprint_error"] = model_fingerprint(got["model"]["repo"], got["model"]["sha"])
    result = {"ok": True, "network": info.name, **got}

    def render(console: Any) -> None:
        if not got["committed"]:
            console.print(f"hotkey {address} has no commitment on netuid {net} ({info.name})")
            return
        model = got["model"]
        what = f"{model['repo']}@{model['sha']}" if model else "not a model commitment"
        console.print(f"{address} on netuid {net}: {got['payload']} (block {got['block']}) -> {what}", markup=False)
        if model:
            console.print(
                f"weights fingerprint: {got['fingerprint']}"
                if got["fingerprint"]
                else f"weights fingerprint: unknown ({got['fingerprint_error']})",
                markup=False,
            )

    ctx.emit(result, render)


def register(app: typer.Typer) -> None:
    app.command("submit-model", help=paragraphs(HELP))(submit_model_cmd)
