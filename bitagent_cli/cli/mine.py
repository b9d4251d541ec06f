"""`bitagent mine`: serve validators' signed queries with the miner's model.

The seed's flags keep working (`--hf-model-name-to-run`, `--openai-api-base`,
`--miner-hf-model-name-to-submit`, and the dotted `--axon.port`, `--wallet.name`, ... that
``app.main`` rewrites). ``--dry-run`` resolves the settings, vets the models and prints the plan
without touching the chain or serving anything.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ._common import (EXIT_FAIL, EXIT_USAGE, ChainEndpointOpt, CliError, DryRunOpt, JsonOpt, NetuidOpt,
                      NetworkOpt, ProfileOpt, VerboseOpt, WalletHotkeyOpt, WalletNameOpt, WalletPathOpt,
                      chain_overrides, open_context)

BACKENDS = ("auto", "vllm", "transformers", "endpoint")


def mine_cmd(
    hf_model_name_to_run: Annotated[str | None, typer.Option(
        "--hf-model-name-to-run", help="Model to serve: org/name[@rev] or a local directory (miner.model).",
        show_default=False)] = None,
    openai_api_base: Annotated[str | None, typer.Option(
        "--openai-api-base", help="Attach to a running OpenAI-compatible server instead of starting one, "
                                  "e.g. http://127.0.0.1:8000/v1 (miner.openai_api_base).", show_default=False)] = None,
    submit_model: Annotated[str | None, typer.Option(
        "--miner-hf-model-name-to-submit", help="Commit this org/name[@rev] for offline evaluation on start, "
                                                "unless already committed (miner.submit_model).",
        show_default=False)] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", min=1, max=65535, show_default=False,
                                             help="Port to listen on (miner.port; alias --axon.port).")] = None,
    host: Annotated[str | None, typer.Option("--host", show_default=False,
                                             help="Address to listen on (miner.host).")] = None,
    external_ip: Annotated[str | None, typer.Option(
        "--external-ip", show_default=False, help="IP published on chain (miner.external_ip; default: detected).")] = None,
    backend: Annotated[str | None, typer.Option(
        "--backend", help=f"Model server backend: {', '.join(BACKENDS)} (eval.backend).", show_default=False)] = None,
    min_validator_stake: Annotated[float | None, typer.Option(
        "--min-validator-stake", min=0, show_default=False,
        help="Stake a validator needs to be served (miner.min_validator_stake).")] = None,
    dry_run: DryRunOpt = False,
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
    """Serve validators' queries with the miner's model until Ctrl-C / SIGTERM.

    Starts the model server (or attaches with --openai-api-base), publishes this hotkey's endpoint
    on chain, and answers signed queries from registered validators with a validator permit.
    """
    from ..neurons.miner import MinerError, plan_miner

    if backend is not None and backend not in BACKENDS:
        raise CliError(f"--backend {backend!r} is not one of {', '.join(BACKENDS)}", EXIT_USAGE)
    overrides = {"miner.model": hf_model_name_to_run, "miner.openai_api_base": openai_api_base,
                 "miner.submit_model": submit_model, "miner.port": port, "miner.host": host,
                 "miner.external_ip": external_ip, "eval.backend": backend,
                 "miner.min_validator_stake": min_validator_stake,
                 **chain_overrides(network, chain_endpoint, netuid, wallet_name, wallet_hotkey, wallet_path)}
    ctx = open_context(profile=profile, json_out=json_out, verbose=verbose, overrides=overrides)
    try:
        plan = plan_miner(ctx.settings)
    except MinerError as e:
        raise CliError(str(e), EXIT_USAGE) from None

    if dry_run:
        _dry_run(ctx, plan)
        return

    from ..neurons.miner import run_miner

    try:
        summary = run_miner(ctx.settings, status=lambda msg: ctx.info(escape(msg)))
    except MinerError as e:
        raise CliError(str(e), EXIT_FAIL) from None
    except Exception as e:
        raise _known(e) from None

    def render(console):
        stats = summary.get("stats") or {}
        console.print(f"miner stopped: {stats.get('queries', 0)} queries answered, "
                      f"{stats.get('feedback', 0)} feedback received, refused {stats.get('refused') or {}}")
        conns = stats.get("connections") or {}
        if conns:  # what the connection guard did (docs/protocol.md, Connections)
            console.print(f"connections: at most {conns.get('cap')} open (peak {conns.get('peak')}); "
                          f"{conns.get('evicted', 0)} idle closed for room, {conns.get('timed_out', 0)} timed out, "
                          f"{conns.get('shed', 0)} refused while all were busy")

    ctx.emit({"ok": True, **summary}, render)


def _dry_run(ctx, plan: dict) -> None:
    from ..neurons.miner import MinerError, resolve_external_ip, vet_models
    from ..serving import ModelRefused

    try:
        vetted = vet_models(ctx.settings)
    except ModelRefused as e:
        raise CliError(str(e), EXIT_FAIL) from None
    warnings = []
    try:
        plan["external_ip"] = resolve_external_ip(ctx.settings)
    except MinerError as e:
        warnings.append(str(e))

    def render(console):
        console.print("[bold]bitagent mine --dry-run[/bold]: nothing is served and the chain is not touched")
        for k, v in plan.items():
            console.print(f"  {k}: {v}", markup=False, highlight=False)
        for what, v in vetted.items():
            if v:
                console.print(f"  vetted {what}: {v.get('repo')}@{str(v.get('sha'))[:12]} "
                              f"({v.get('params_b')}B params, license {v.get('license') or 'unknown'})")
        for w in warnings:
            console.print(f"[yellow]warning[/yellow]: {escape(w)}")

    ctx.emit({"ok": True, "dry_run": True, "plan": plan, "vetted": vetted, "warnings": warnings}, render)


def _known(e: Exception) -> Exception:
    """Setup errors from the layers below, as one-line CLI errors; anything else goes up unchanged."""
    from ..serving import ModelRefused, ServerError

    if isinstance(e, (ModelRefused, ServerError)):
        return CliError(str(e), EXIT_FAIL)
    if type(e).__module__.startswith(("bitagent_cli.chain", "bittensor")):
        return CliError(f"chain: {e}", EXIT_FAIL)
    return e


def register(app: typer.Typer) -> None:
    app.command("mine")(mine_cmd)
