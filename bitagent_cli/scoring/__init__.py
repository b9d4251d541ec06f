"""Scoring: parse model output in every common tool-call format and check it against a task's expected
calls, BFCL-style with BFCL's known flaws fixed (see ``docs/scoring.md``)."""

from .answers import first_acceptable, first_answer_text
from .check import ERROR_CODES, RULES, Response, ScoreResult, normalise_string, score_task, summarise
from .files import ScoreFileError, read_responses, score_files
from .parse import ParseResult, parse_calls

__all__ = [
    "ERROR_CODES",
    "RULES",
    "ParseResult",
    "Response",
    "ScoreFileError",
    "ScoreResult",
    "first_acceptable",
    "first_answer_text",
    "normalise_string",
    "parse_calls",
    "read_responses",
    "score_files",
    "score_task",
    "summarise",
]

# ast.parse warns (SyntaxWarning, "invalid decimal literal"...) on odd text in model output: not ours to print.
# Model output is parsed without a file name, so the warnings come from "<unknown>".
import warnings as _warnings

_warnings.filterwarnings("ignore", category=SyntaxWarning, module="<unknown>")
