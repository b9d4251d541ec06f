"""The one table from error types to exit codes, used by ``app.main`` for every command.

Exit codes: 0 success, 1 failure, 2 usage (a bad flag, profile, setting, suite or argument: fix the command
line), 3 a registration price above ``--max-burn``. Every library error is a
:class:`~bitagent_cli.errors.BitagentError`; the first row whose type matches decides the code, so the
specific rows come first. Anything that is not a ``BitagentError`` is a bug: exit 1, one sentence asking
to report it, and the traceback only under ``-vv``.
"""

from __future__ import annotations

from typing import Any

from ..errors import BitagentError

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_PRICE = 3


def _rows() -> tuple[tuple[type[BaseException], int], ...]:
    # imported on first use: the table names errors from every layer, and `bitagent --help` loads none of them
    from ..chain import errors as chain
    from ..config import ConfigError
    from ..errors import InvalidArgument
    from ..tasks.suites import UnknownCategory, UnknownSuite

    return (
        (ConfigError, EXIT_USAGE),
        (InvalidArgument, EXIT_USAGE),
        (UnknownSuite, EXIT_USAGE),
        (UnknownCategory, EXIT_USAGE),
        (chain.NetworkConfigError, EXIT_USAGE),
        (chain.WalletError, EXIT_USAGE),
        (chain.PriceAboveCap, EXIT_PRICE),
        (BitagentError, EXIT_FAIL),
    )


_TABLE: tuple[tuple[type[BaseException], int], ...] | None = None


def exit_code_table() -> tuple[tuple[type[BaseException], int], ...]:
    """``(error type, exit code)`` rows, most specific first."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _rows()
    return _TABLE


def exit_code_for(e: BaseException) -> int:
    """The exit code for ``e``: a ``CliError`` carries its own; other errors by the table; non-library
    errors (bugs) are 1."""
    from ._common import CliError

    if isinstance(e, CliError):
        return e.code
    for typ, code in exit_code_table():
        if isinstance(e, typ):
            return code
    return EXIT_FAIL


def error_data(e: BaseException) -> dict[str, Any]:
    """The error's ``data`` fields that are set (for ``--json`` error objects)."""
    return {k: v for k, v in (getattr(e, "data", None) or {}).items() if v is not None}


def unexpected_message(e: BaseException) -> str:
    """One sentence for an error that is not a library error (a bug)."""
    first = (str(e).strip().splitlines() or [""])[0][:300]
    return (
        f"unexpected {type(e).__name__}{': ' + first if first else ''}; this is a bug in bitagent: "
        f"rerun with -vv for the traceback and report it."
    )
