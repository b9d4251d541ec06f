"""The `bitagent` Typer app: registers each command module and maps errors to exit codes.

Exit codes: 0 success, 1 failure, 2 usage error (bad flag, unknown profile, bad setting);
commands may document more (``register``: 3 = price above the cap). Errors are one line.
"""

from __future__ import annotations

import json
import os
import sys

import typer

try:  # typer >= 0.26 vendors its own click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # type: ignore
    from typer.exceptions import Abort, Exit  # type: ignore
except ImportError:  # pragma: no cover - older typer on real click
    from click.exceptions import Abort, ClickException, Exit, NoArgsIsHelpError, UsageError

from . import doctor, eval_model, mine, profile, register, runs, score, submit, tasks, validate, wallet
from ._common import EXIT_FAIL, EXIT_USAGE, CliError, json_requested, rewrite_argv
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
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
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
    except CliError as e:
        _print_error(e.message, e.code, e.data)
        code = e.code
    except Exit as e:
        code = e.exit_code
    except Abort:
        sys.stderr.write("aborted.\n")
        code = 130
    except NoArgsIsHelpError as e:
        e.show()
        code = EXIT_USAGE
    except ClickException as e:
        code = EXIT_USAGE if isinstance(e, UsageError) else e.exit_code
        if "--json" in args[:args.index("--") if "--" in args else len(args)]:
            # the flag was given but parsing failed before any command ran: scripts still get one JSON object
            sys.stdout.write(json.dumps({"ok": False, "error": e.format_message(), "exit_code": code}) + "\n")
        e.show()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted.\n")
        code = 130
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if debug:
            raise
        _print_error(f"unexpected {type(e).__name__}: {e}; rerun with -vv for details and report it.", EXIT_FAIL)
        code = EXIT_FAIL
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    main()
