"""What every command shares: options, settings resolution, output (table or one JSON object) and errors.

Commands are thin: they parse options, call ``open_context`` to resolve settings, call one library
function, and hand its result to ``ctx.emit``. Errors are raised as :class:`CliError` (one sentence
with the fix) and turned into an exit code by ``app.main``; nothing prints a traceback unless
``-v`` is given twice or ``BITAGENT_DEBUG=1``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.console import Console

from ..config import ConfigError, Settings, load_settings
from ..errors import BitagentError

# Exit codes shared by every command (documented in `bitagent --help`; the table is _errors.py).
from ._errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE  # noqa: F401 - re-exported for the commands


class CliError(BitagentError):
    """An error raised by a command, shown as one line; ``code`` is the exit status (it overrides the table)."""

    def __init__(self, message: str, code: int = EXIT_FAIL, data: Mapping[str, Any] | None = None):
        super().__init__(message, **dict(data or {}))
        self.code = code


EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + 2, what a shell reports
EXIT_TERMINATED = 143  # SIGTERM (timeout, systemd, docker stop): 128 + 15


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread where Ctrl-C raises KeyboardInterrupt: the same clean stop, exit 143."""


_sigterm_seen = False


def sigterm_seen() -> bool:
    """True once :func:`sigterm_as_interrupt` turned a SIGTERM into :class:`Terminated` in this process
    (typer reports any KeyboardInterrupt as exit 130; ``app.main`` makes that 143 then)."""
    return _sigterm_seen


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread.

    So everything that handles Ctrl-C (stores what is done, marks the run interrupted, stops the
    model server's process group) handles ``timeout``/systemd/docker's SIGTERM too. A second SIGTERM
    while that cleanup runs is ignored (the cleanup is bounded; SIGKILL is the way to skip it). The
    previous handler is restored on the way out. Outside the main thread it does nothing.
    """
    global _sigterm_seen
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = _sigterm_seen = False

    def on_sigterm(signum: int, frame: Any) -> None:
        global _sigterm_seen
        nonlocal fired
        if fired:
            return
        fired = _sigterm_seen = True
        raise Terminated()

    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def not_built(command: str) -> CliError:
    return CliError(
        f"`bitagent {command}` is not built yet in this version; follow the project's issues for when it lands.",
        EXIT_FAIL,
    )


# ---------------------------------------------------------------- options
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-P",
        help="Profile: local, testnet, mainnet or one of yours (env BITAGENT_PROFILE).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout (for scripts).")]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging (-vv shows tracebacks).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would be done; change nothing on chain.")]
NetworkOpt = Annotated[
    str | None,
    typer.Option(
        "--network", "-n", help="finney, test, local or ws://host:port (alias --subtensor.network).", show_default=False
    ),
]
ChainEndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--chain-endpoint",
        help="Explicit chain endpoint ws://... (alias --subtensor.chain_endpoint).",
        show_default=False,
    ),
]
NetuidOpt = Annotated[
    int | None, typer.Option("--netuid", help="Subnet uid (20 mainnet, 76 testnet).", show_default=False)
]
WalletNameOpt = Annotated[
    str | None, typer.Option("--wallet-name", "-w", help="Coldkey name (alias --wallet.name).", show_default=False)
]
WalletHotkeyOpt = Annotated[
    str | None, typer.Option("--wallet-hotkey", "-H", help="Hotkey name (alias --wallet.hotkey).", show_default=False)
]
WalletPathOpt = Annotated[
    str | None, typer.Option("--wallet-path", help="Wallets directory (alias --wallet.path).", show_default=False)
]

# The seed's dotted flags, kept working for existing pm2 command lines; rewritten before parsing,
# so they stay out of --help.
DOTTED_ALIASES: dict[str, str] = {
    "--subtensor.network": "--network",
    "--subtensor.chain_endpoint": "--chain-endpoint",
    "--wallet.name": "--wallet-name",
    "--wallet.hotkey": "--wallet-hotkey",
    "--wallet.path": "--wallet-path",
    "--axon.port": "--port",
    "--json-output": "--json",
}
DOTTED_FLAGS: dict[str, str] = {  # flags that take no value
    "--logging.debug": "-v",
    "--logging.trace": "-vv",
}


def rewrite_argv(argv: list[str]) -> list[str]:
    out: list[str] = []
    for a in argv:
        if a == "--":
            out.extend(argv[len(out) :])
            break
        name, eq, val = a.partition("=")
        if name in DOTTED_ALIASES:
            out.append(DOTTED_ALIASES[name] + (eq + val if eq else ""))
        elif a in DOTTED_FLAGS:
            out.append(DOTTED_FLAGS[a])
        else:
            out.append(a)
    return out


# ---------------------------------------------------------------- context
@dataclass
class Ctx:
    settings: Settings
    json: bool = False
    verbose: int = 0
    console: Console = field(default_factory=lambda: Console(stderr=False, highlight=False))
    err: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))

    def emit(self, obj: Mapping[str, Any], render: Callable[[Console], None] | None = None) -> None:
        """Print the result: one JSON object with --json, else ``render`` (or a plain key: value list)."""
        if self.json:
            sys.stdout.write(json.dumps(obj, default=_json_default, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        elif render is not None:
            render(self.console)
        else:
            for k, v in obj.items():
                self.console.print(f"[bold]{k}[/bold]: {v}")

    def info(self, msg: str) -> None:
        """Progress/info text: stderr, so stdout stays clean for --json."""
        if not self.json or self.verbose:
            self.err.print(msg)


def _json_default(o: Any) -> Any:
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


_current: contextvars.ContextVar[Ctx | None] = contextvars.ContextVar("bitagent_ctx", default=None)
_json_requested = False


def current() -> Ctx | None:
    return _current.get()


def json_requested() -> bool:
    c = _current.get()
    return c.json if c is not None else _json_requested


def open_context(
    *,
    profile: str | None,
    json_out: bool = False,
    verbose: int = 0,
    overrides: Mapping[str, Any] | None = None,
    lenient: bool = False,
) -> Ctx:
    """Resolve settings for a command (flags > env > profile > defaults) and set up logging.

    ``lenient``: bad keys in profile files are skipped and listed in ``settings.problems`` (``profile``)."""
    global _json_requested
    _json_requested = json_out
    _current.set(None)  # a context left by an earlier in-process run must not decide this one's output
    implied = None
    if profile is None and not os.environ.get("BITAGENT_PROFILE"):
        # The seed's `--subtensor.network finney` means mainnet settings too (netuid 20, a public miner, stake
        # limits), not the local profile's loopback and zero stake.
        implied = NETWORK_PROFILES.get(str((overrides or {}).get("chain.network") or ""))
        profile = implied
    try:
        settings = load_settings(profile, overrides, lenient=lenient)
    except ConfigError as e:
        raise CliError(str(e), EXIT_USAGE) from None
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bitagent_cli").setLevel(level)
    # The SDK's own loggers print timestamped WARNING lines before our one-sentence error: details for -v.
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1 if verbose == 0 else level)
    ctx = Ctx(settings=settings, json=json_out, verbose=verbose)
    _current.set(ctx)
    if implied:
        ctx.info(
            f"using profile {implied} for --network {overrides['chain.network']} "  # type: ignore[index]
            f"(pass --profile to choose another)"
        )
    return ctx


_NOISY_LOGGERS = ("bittensor", "async_substrate_interface", "substrateinterface", "websockets", "websocket")

#: ``--network`` values that select a shipped profile when no ``--profile`` (or BITAGENT_PROFILE) is given.
NETWORK_PROFILES = {"finney": "mainnet", "test": "testnet"}
_LOOPBACK = ("127.", "localhost", "::1")


def is_public_network(settings: Mapping[str, Any]) -> bool:
    """finney, test, or an endpoint that is not on this machine."""
    from urllib.parse import urlparse

    endpoint = str(settings.get("chain.endpoint") or "")
    network = str(settings.get("chain.network") or "")
    if endpoint or network.startswith(("ws://", "wss://")):
        host = (urlparse(endpoint or network).hostname or "").lower()
        return not host.startswith(_LOOPBACK) and host not in ("0.0.0.0", "")
    return network in ("finney", "test", "archive")


def public_network_warnings(settings: Mapping[str, Any], *, listens: bool) -> list[str]:
    """What looks like a local set-up on a public network: a miner bound to loopback, the local profile."""
    if not is_public_network(settings):
        return []
    where = settings.get("chain.endpoint") or settings.get("chain.network")
    out = []
    host = str(settings.get("miner.host") or "")
    if listens and (host.startswith(_LOOPBACK)):
        out.append(
            f"the miner would listen on {host} (loopback) on {where}: validators cannot reach it; "
            f"pass --host 0.0.0.0 or --profile {'mainnet' if where == 'finney' else 'testnet'}"
        )
    profile = getattr(settings, "profile", None)
    if profile == "local":
        out.append(
            f"profile local (netuid {settings.get('chain.netuid')}, development defaults) on {where}; "
            f"pass --profile {'mainnet' if where == 'finney' else 'testnet'} for that network's settings"
        )
    return out


def chain_overrides(
    network: str | None = None,
    chain_endpoint: str | None = None,
    netuid: int | None = None,
    wallet_name: str | None = None,
    wallet_hotkey: str | None = None,
    wallet_path: str | None = None,
) -> dict[str, Any]:
    return {
        "chain.network": network,
        "chain.endpoint": chain_endpoint,
        "chain.netuid": netuid,
        "wallet.name": wallet_name,
        "wallet.hotkey": wallet_hotkey,
        "wallet.path": wallet_path,
    }
