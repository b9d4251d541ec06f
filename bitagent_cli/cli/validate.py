"""`bitagent validate`: query miners online, evaluate their submitted models offline, set weights.

The seed's flags map as: ``--neuron.sample_size`` -> ``--sample-size``, ``--validator-model-name`` /
the LLM on port 8000 -> ``--llm-base-url http://127.0.0.1:8000/v1``, ``--wandb.on`` -> ``--wandb``,
``--neuron.disable_set_weights`` -> ``--dry-run``; the dotted wallet/subtensor flags keep working.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._common import (
    EXIT_FAIL,
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
)


def validate_cmd(
    llm_base_url: Annotated[
        str | None,
        typer.Option(
            "--llm-base-url",
            help="OpenAI-compatible server that rephrases tasks, e.g. http://127.0.0.1:8000/v1 "
            "(validator.llm_base_url; empty: tasks go out unaltered).",
            show_default=False,
        ),
    ] = None,
    sample_size: Annotated[
        int | None,
        typer.Option(
            "--sample-size", min=1, help="Miners queried per step (validator.sample_size).", show_default=False
        ),
    ] = None,
    step_seconds: Annotated[
        float | None,
        typer.Option(
            "--step-seconds", min=0, help="Seconds between steps (validator.step_seconds).", show_default=False
        ),
    ] = None,
    query_timeout: Annotated[
        float | None,
        typer.Option(
            "--query-timeout",
            min=0.1,
            help="Seconds a miner has to answer (validator.query_timeout).",
            show_default=False,
        ),
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps", min=1, help="Stop after N steps (default: run until Ctrl-C / SIGTERM).", show_default=False
        ),
    ] = None,
    no_offline: Annotated[
        bool, typer.Option("--no-offline", help="Do not evaluate submitted models; weights from online scores only.")
    ] = False,
    offline_cluster: Annotated[
        str | None,
        typer.Option(
            "--offline-cluster",
            help="Evaluate submitted models on a Ray cluster, several at once: ray://HOST:PORT, "
            "HOST:PORT or auto (this machine's GPUs); needs bitagent-cli[cluster] "
            "(validator.offline_cluster; empty: one model at a time here).",
            show_default=False,
        ),
    ] = None,
    wandb: Annotated[
        bool,
        typer.Option("--wandb", help="Log to wandb online (your own private project; default: offline files only)."),
    ] = False,
    no_wandb: Annotated[bool, typer.Option("--no-wandb", help="No wandb logging at all.")] = False,
    state_file: Annotated[
        str | None,
        typer.Option(
            "--state-file",
            help="SQLite state file (default: <data dir>/validator/<network>-<netuid>/<hotkey>/).",
            show_default=False,
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
    """Validate: query a sample of miners every step, evaluate submitted models, set weights.

    Scores are 50% online (a moving average of the miners' answers) and 50% offline (each committed
    repo@sha evaluated once with the eval-model pipeline; copies of a sha score only for the first
    committer). State is kept in SQLite, so a restart resumes. --dry-run runs the loop but sets no
    weights. With --json, one object with the final state is printed when the loop stops.
    """
    overrides = {
        "validator.llm_base_url": llm_base_url,
        "validator.sample_size": sample_size,
        "validator.step_seconds": step_seconds,
        "validator.query_timeout": query_timeout,
        "validator.wandb": True if wandb else None,
        "validator.offline_cluster": offline_cluster,
        **chain_overrides(network, chain_endpoint, netuid, wallet_name, wallet_hotkey, wallet_path),
    }
    ctx = open_context(profile=profile, json_out=json_out, verbose=verbose, overrides=overrides)
    from ..neurons.validator import build_validator, run_validator

    s = ctx.settings
    for w in public_network_warnings(s, listens=False):
        ctx.err.print(f"[yellow]warning[/yellow]: {escape(w)}", soft_wrap=True)
    wandb_mode = None if no_wandb else ("online" if s["validator.wandb"] else "offline")
    if s["validator.offline_cluster"] and not no_offline:  # before the chain: a usage error costs nothing
        from ..neurons.cluster import ClusterError, parse_address, require_ray

        try:
            parse_address(s["validator.offline_cluster"])
            require_ray()
        except ClusterError as e:
            raise CliError(str(e), EXIT_USAGE) from None
    try:
        validator = build_validator(
            s, state_file=state_file, offline=not no_offline, dry_run=dry_run, wandb_mode=wandb_mode
        )
    except Exception as e:  # noqa: BLE001 (_known turns known library errors into one clear line)
        raise _known(e) from None
    ctx.info(
        f"validating netuid {s['chain.netuid']} on {s['chain.endpoint'] or s['chain.network']} as "
        f"{validator.hotkey}; state {validator.state.path}" + ("; dry run: no weights are set" if dry_run else "")
    )

    reached = False  # did any step read the chain?
    first_error: list[str] = []

    def on_step(r: Any) -> None:
        nonlocal reached
        reached = reached or r.block is not None
        if r.block is None and r.errors and not first_error:
            first_error.append(r.errors[0])
        scores = [q["score"] for q in r.queried.values()]
        mean = f"{sum(scores) / len(scores):.2f}" if scores else "-"
        extra = f", weights set on {len(r.weights)} uid(s)" if r.weights else ""
        errs = f", errors: {'; '.join(r.errors)}" if r.errors else ""
        ctx.info(f"step {r.step} block {r.block}: queried {len(scores)}, mean score {mean}{extra}{errs}")

    try:
        try:
            result = run_validator(validator, max_steps=max_steps, on_step=on_step)
        except (KeyboardInterrupt, asyncio.CancelledError):
            result = None
        steps = result.steps if result else 0
        if steps and not reached:  # never reached the chain: nothing validated
            first = first_error[0] if first_error else "no block was read"
            raise CliError(
                f"no step reached the chain ({steps} run): {first.removeprefix('sync: ')}",
                EXIT_FAIL,
                {"steps_run": steps},
            )
        out = {
            "ok": True,
            "steps_run": steps,
            "dry_run": dry_run,
            **validator.summary(),
            "last_step": result.last.to_dict() if result and result.last else None,
        }
    finally:
        validator.state.close()
    ctx.emit(out, lambda console: _render(console, out))


def _render(console: Console, out: dict[str, Any]) -> None:
    table = Table(
        title=f"validator uid {out['uid']} on netuid {out['netuid']}: {out['steps_run']} step(s) run",
        title_justify="left",
    )
    for col in ("uid", "hotkey", "online", "offline", "weight", "model"):
        table.add_column(col, justify="right" if col in ("uid", "online", "offline", "weight") else "left")
    for m in out["miners"]:
        table.add_row(
            str(m["uid"]),
            m["hotkey"][:12],
            f"{m['online']:.3f}",
            f"{m['offline']:.3f}",
            f"{m['weight']:.3f}",
            m["model"] or "",
        )
    console.print(table)
    c = out["counts"]
    console.print(
        f"steps {c['steps']}, queries {c['queries']}, models scored {c['offline_results']}, "
        f"queued {c['offline_queued']}; last weights at block {out['last_weights_block']}"
    )


def _known(e: Exception) -> CliError:
    """Chain and wallet errors carry a one-line message with the fix; anything else is a bug report."""
    from ..chain.errors import ChainOpError

    if isinstance(e, (ChainOpError, ValueError, OSError)):
        return CliError(str(e), EXIT_FAIL)
    return CliError(f"cannot start the validator: {type(e).__name__}: {e}", EXIT_FAIL)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_cmd)
