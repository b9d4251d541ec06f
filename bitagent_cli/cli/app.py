"""The `bitagent` Typer app: registers each command module and maps errors to exit codes.

Exit codes: 0 success, 1 failure, 2 usage error (bad flag, unknown profile, bad setting), 130 Ctrl-C, 143 SIGTERM;
commands may document more (``register``: 3 = price above the cap). Errors are one line; the
table from error types to codes is ``_errors.py``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import typer

try:  # typer >= 0.26 vendors its own click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    from typer.exceptions import Abort, Exit
except ImportError:  # pragma: no cover - older typer on real click
    # the same classes under click's name; mypy sees both branches' types and calls them incompatible
    from click.exceptions import Abort, ClickException, Exit, NoArgsIsHelpError, UsageError  # type: ignore[assignment]

from ..errors import BitagentError
from . import doctor, eval_model, mine, profile, register, runs, score, submit, tasks, validate, wallet
from ._common import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, json_requested, rewrite_argv, sigterm_seen
from ._errors import EXIT_FAIL, EXIT_USAGE, error_data, exit_code_for, unexpected_message
from ._help import polish

app = typer.Typer(
    name="bitagent",
    help="Toolkit for BitAgent (Bittensor subnet 20, testnet 76) miners and validators.\n\n"
    "Exit codes: 0 success, 1 failure, 2 usage error. Every command takes --profile and --json.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"bitagent {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Toolkit for BitAgent (Bittensor subnet 20, testnet 76) miners and validators."""


for module in (eval_model, score, tasks, runs, profile, wallet, register, submit, mine, validate, doctor):
    module.register(app)


def _print_error(message: str, code: int, data: dict | None = None) -> None:
    if json_requested():
        sys.stdout.write(json.dumps({"ok": False, "error": message, "exit_code": code, **(data or {})}) + "\n")
    sys.stderr.write(f"error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns (and exits with) the exit code."""
    args = rewrite_argv(list(sys.argv[1:] if argv is None else argv))
    command = polish(typer.main.get_command(app))
    debug = os.environ.get("BITAGENT_DEBUG") == "1" or "-vv" in args or args.count("-v") >= 2
    code = 0
    try:
        rv = command.main(args=args, prog_name="bitagent", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except BitagentError as e:  # every library error: the one table in _errors.py decides the code
        code = exit_code_for(e)
        _print_error(e.message or str(e), code, error_data(e))
    except Exit as e:
        code = e.exit_code
    except Abort as e:  # (click outside typer turns a KeyboardInterrupt into Abort)
        sys.stderr.write("aborted.\n")
        code = EXIT_TERMINATED if isinstance(e.__cause__, Terminated) else EXIT_INTERRUPTED
    except NoArgsIsHelpError as e:
        e.show()
        code = EXIT_USAGE
    except ClickException as e:
        code = EXIT_USAGE if isinstance(e, UsageError) else e.exit_code
        if "--json" in args[: args.index("--") if "--" in args else len(args)]:
            # the flag was given but parsing failed before any command ran: scripts still get one JSON object
            sys.stdout.write(json.dumps({"ok": False, "error": e.format_message(), "exit_code": code}) + "\n")
        e.show()
    except Terminated:  # SIGTERM, turned into a KeyboardInterrupt by sigterm_as_interrupt
        sys.stderr.write("terminated.\n")
        code = EXIT_TERMINATED
    except KeyboardInterrupt:
        sys.stderr.write("interrupted.\n")
        code = EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 - the last line of defence: a bug; one line, traceback only with -vv
        if debug:
            traceback.print_exc(file=sys.stderr)
        _print_error(unexpected_message(e), EXIT_FAIL)
        code = EXIT_FAIL
    if code == EXIT_INTERRUPTED and sigterm_seen():  # typer reported the Terminated as a KeyboardInterrupt
        sys.stderr.write("terminated.\n")
        code = EXIT_TERMINATED
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    main()
