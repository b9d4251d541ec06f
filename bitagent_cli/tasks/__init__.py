"""Tasks: the shared types and the suites (BFCL, Glaive, BitAgent-style) as package data."""

from ._types import (CATEGORIES, ExpectedCall, FunctionCall, Task, TaskFormatError, Tool, base_category,
                     normalise_schema, normalise_tool)

__all__ = ["CATEGORIES", "ExpectedCall", "FunctionCall", "Task", "TaskFormatError", "Tool", "base_category",
           "normalise_schema", "normalise_tool"]
