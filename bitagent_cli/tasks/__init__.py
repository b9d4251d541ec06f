"""Tasks: the shared types and the suites (BFCL, Glaive, BitAgent-style) as package data."""

from ._types import (
    CATEGORIES,
    ExpectedCall,
    FunctionCall,
    Task,
    TaskFormatError,
    Tool,
    base_category,
    normalise_schema,
    normalise_tool,
)
from .io import LineError, iter_jsonl, read_tasks, write_tasks
from .select import SuiteTask, load_tasks
from .suites import (
    SuiteInfo,
    UnknownCategory,
    UnknownSuite,
    list_suites,
    load_suite,
    sample_tasks,
    select_categories,
    suite_hash,
)

__all__ = [
    "CATEGORIES",
    "ExpectedCall",
    "FunctionCall",
    "LineError",
    "SuiteInfo",
    "SuiteTask",
    "Task",
    "TaskFormatError",
    "Tool",
    "UnknownCategory",
    "UnknownSuite",
    "base_category",
    "iter_jsonl",
    "list_suites",
    "load_suite",
    "load_tasks",
    "normalise_schema",
    "normalise_tool",
    "read_tasks",
    "sample_tasks",
    "select_categories",
    "suite_hash",
    "write_tasks",
]
