"""`bitagent mine`: serve validators' signed queries with the miner's model.

The seed's flags keep working (`--hf-model-name-to-run`, `--openai-api-base`,
`--miner-hf-model-name-to-submit`, and the dotted `--axon.port`, `--wallet.name`, ... that
``app.main`` rewrites). ``--dry-run`` resolves the settings and checks everything a start needs (the port
is a free TCP port, the wallet files exist, the --openai-api-base server answers, the models pass vetting),
listing every failure (exit 1), without touching the chain or serving anything.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ._common import (
    EXIT_FAIL,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
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
    chain_overrides,
    open_context,
    public_network_warnings,
    sigterm_as_interrupt,
)

BACKENDS = ("auto", "vllm", "transformers", "endpoint")


def mine_cmd(
    hf_model_name_to_run: Annotated[
        str | None,
        typer.Option(
            "--hf-model-name-to-run",
            help="Model to serve: org/name\\[@rev] or a local directory (miner.model).",
            show_default=False,
        ),
    ] = None,
    openai_api_base: Annotated[
        str | None,
        typer.Option(
            "--openai-api-base",
            help="Attach to a running OpenAI-compatible server instead of starting one, "
            "e.g. http://127.0.0.1:8000/v1 (miner.openai_api_base).",
            show_default=False,
        ),
    ] = None,
    submit_model: Annotated[
        str | None,
        typer.Option(
            "--miner-hf-model-name-to-submit",
            help="Commit this org/name\\[@rev] for offline evaluation on start, "
            "unless already committed (miner.submit_model).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", "-p", show_default=False, help="Port to listen on, 1-65535 (miner.port; alias --axon.port)."
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", show_default=False, help="Address to listen on (miner.host).")
    ] = None,
    external_ip: Annotated[
        str | None,
        typer.Option(
            "--external-ip", show_default=False, help="IP published on chain (miner.external_ip; default: detected)."
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend", help=f"Model server backend: {', '.join(BACKENDS)} (eval.backend).", show_default=False
        ),
    ] = None,
    min_validator_stake: Annotated[
        float | None,
        typer.Option(
            "--min-validator-stake",
            min=0,
            show_default=False,
            help="Stake a validator needs to be served (miner.min_validator_stake).",
        ),
    ] = None,
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
    overrides = {
        "miner.model": hf_model_name_to_run,
        "miner.openai_api_base": openai_api_base,
        "miner.submit_model": submit_model,
        "miner.port": port,
        "miner.host": host,
        "miner.external_ip": external_ip,
        "eval.backend": backend,
        "miner.min_validator_stake": min_validator_stake,
        **chain_overrides(network, chain_endpoint, netuid, wallet_name, wallet_hotkey, wallet_path),
    }
    ctx = open_context(profile=profile, json_out=json_out, verbose=verbose, overrides=overrides)
    try:
        plan = plan_miner(ctx.settings)
    except MinerError as e:
        raise CliError(str(e), EXIT_USAGE) from None

    if dry_run:
        _dry_run(ctx, plan)
        return
    if not 1 <= int(plan["port"]) <= 65535:
        raise CliError(f"port {plan['port']} is not a TCP port; pass --port 1-65535 (miner.port)", EXIT_USAGE)
    for w in public_network_warnings(ctx.settings, listens=True):
        ctx.err.print(f"[yellow]warning[/yellow]: {escape(w)}", soft_wrap=True)

    from ..neurons.miner import run_miner

    try:
        with sigterm_as_interrupt():  # SIGTERM while starting stops the model server as Ctrl-C does (exit 143)
            summary = run_miner(ctx.settings, status=lambda msg: ctx.info(escape(msg)))
    except MinerError as e:
        raise CliError(str(e), EXIT_FAIL) from None
    except Exception as e:  # noqa: BLE001 (_known turns known library errors into one clear line)
        raise _known(e) from None

    def render(console):
        stats = summary.get("stats") or {}
        console.print(
            f"miner stopped: {stats.get('queries', 0)} queries answered, "
            f"{stats.get('feedback', 0)} feedback received, refused {stats.get('refused') or {}}"
        )
        conns = stats.get("connections") or {}
        if conns:  # what the connection guard did (docs/protocol.md, Connections)
            console.print(
                f"connections: at most {conns.get('cap')} open (peak {conns.get('peak')}); "
                f"{conns.get('evicted', 0)} idle closed for room, {conns.get('timed_out', 0)} timed out, "
                f"{conns.get('shed', 0)} refused while all were busy"
            )

    ctx.emit({"ok": True, **summary}, render)
    stopped_by = summary.get("stopped_by")
    if stopped_by in ("SIGINT", "SIGTERM"):  # a clean stop, reported as a shell reports the signal
        raise typer.Exit(EXIT_TERMINATED if stopped_by == "SIGTERM" else EXIT_INTERRUPTED)


def dry_run_checks(settings, plan: dict) -> tuple[list[dict], list[str], dict]:
    """Every check ``mine --dry-run`` makes, none stopping the others: (failures, warnings, vetted).

    Each failure is ``{"check", "problem", "fix"}``: the port (a TCP port, free to bind), the wallet files,
    the ``--openai-api-base`` server (answers ``/models``), the models (vetted as validators vet them)."""
    from ..neurons.miner import MinerError, resolve_external_ip, vet_models
    from . import doctor

    failures: list[dict] = []
    warnings: list[str] = []

    def fail(check: str, problem: str, fix: str) -> None:
        failures.append({"check": check, "problem": problem, "fix": fix})

    port = int(plan["port"])
    if not 1 <= port <= 65535:
        fail("port", f"{port} is not a TCP port", "pass --port 1-65535 (miner.port; the seed's --axon.port)")
    else:
        c = doctor.check_port(str(plan.get("host") or "0.0.0.0"), port)
        if c.status != doctor.OK:
            fail("port", c.detail, c.fix)
    c = doctor.check_wallet(settings)
    if c.status == doctor.FAIL:
        fail("wallet", c.detail, c.fix)
    base = plan.get("openai_api_base")
    if base:
        import httpx

        url = str(base).rstrip("/") + "/models"
        try:
            r = httpx.get(url, timeout=5.0, trust_env=False)
            if r.status_code != 200:
                fail(
                    "openai-api-base",
                    f"{url} answered HTTP {r.status_code}",
                    "check the URL (it ends in /v1) and the server's API key",
                )
        except (httpx.HTTPError, ValueError) as e:
            fail(
                "openai-api-base",
                f"no OpenAI-compatible server answers at {url} ({type(e).__name__})",
                "start the server first, or fix --openai-api-base",
            )
    vetted: dict = {"model": None, "submit_model": None}
    try:
        vetted = vet_models(settings)
    except Exception as e:  # noqa: BLE001 - ModelRefused / ModelUnavailable: listed with the rest
        fail(
            "model",
            str(e),
            "pick a model validators accept (docs/protocol.md): safetensors, no custom code, within eval.max_params_b",
        )
    try:
        plan["external_ip"] = resolve_external_ip(settings)
    except MinerError as e:
        warnings.append(str(e))
    warnings += public_network_warnings(settings, listens=True)
    return failures, warnings, vetted


def _dry_run(ctx, plan: dict) -> None:
    failures, warnings, vetted = dry_run_checks(ctx.settings, plan)

    def render(console):
        console.print("[bold]bitagent mine --dry-run[/bold]: nothing is served and the chain is not touched")
        for k, v in plan.items():
            console.print(f"  {k}: {v}", markup=False, highlight=False)
        for what, v in vetted.items():
            if v:
                console.print(
                    f"  vetted {what}: {v.get('repo')}@{str(v.get('sha'))[:12]} "
                    f"({v.get('params_b')}B params, license {v.get('license') or 'unknown'})"
                )
        for w in warnings:
            console.print(f"[yellow]warning[/yellow]: {escape(w)}", soft_wrap=True)
        for f in failures:
            console.print(
                f"[red]FAIL[/red] {escape(f['check'])}: {escape(f['problem'])}; fix: {escape(f['fix'])}", soft_wrap=True
            )

    ctx.emit(
        {
            "ok": not failures,
            "dry_run": True,
            "plan": plan,
            "vetted": vetted,
            "warnings": warnings,
            "failures": failures,
        },
        render,
    )
    if failures:
        names = ", ".join(f["check"] for f in failures)
        ctx.err.print(
            f"error: {len(failures)} check(s) failed ({names}); fix them and run --dry-run again",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_FAIL)


def _known(e: Exception) -> Exception:
    """Setup errors from the layers below, as one-line CLI errors; anything else goes up unchanged."""
    from ..chain.errors import ChainOpError
    from ..errors import BitagentError
    from ._errors import error_data, exit_code_for

    if isinstance(e, ChainOpError):
        return CliError(f"chain: {e.message}", exit_code_for(e), error_data(e))
    if isinstance(e, BitagentError):  # ModelRefused, ServerError, ...
        return CliError(str(e), EXIT_FAIL, error_data(e))
    return e


def register(app: typer.Typer) -> None:
    app.command("mine")(mine_cmd)
