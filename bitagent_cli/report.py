"""Moved to :mod:`bitagent_cli.cli.report` (the HTML pages are part of the command line); these names stay
importable from here for existing callers."""

from .cli.report import *  # noqa: F403 - the compatibility shim re-exports the module's public names
from .cli.report import __all__  # noqa: F401
