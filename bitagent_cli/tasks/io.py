"""Reading and writing the JSONL task files of the contract (``docs/task-format.md``).

A bad line never stops a read: it becomes a :class:`LineError` naming the file and the line, and the
rest of the file is still read. ``.gz`` paths are read and written gzip-compressed. Lines are decoded
one at a time, so a stray invalid UTF-8 byte costs one line, not the file.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from ._types import Task, TaskFormatError

__all__ = ["LineError", "dump_task_line", "iter_jsonl", "read_records", "read_tasks", "write_tasks"]

R = TypeVar("R")

#: A line longer than this is reported, not parsed (a task with a few hundred tools is well under it).
MAX_LINE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LineError:
    """One unusable line of a JSONL file; ``str()`` is ``FILE:LINE: message``."""

    path: str
    line_no: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line_no}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line_no, "message": self.message}


def _open_bytes(path: Path) -> IO[bytes] | gzip.GzipFile:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_no, obj)`` for each non-blank line, ``obj`` being the decoded JSON value or a
    :class:`LineError` when the line is not valid UTF-8 JSON. Line numbers start at 1.

    Raises ``FileNotFoundError`` / ``OSError`` for a file that cannot be opened at all.
    """
    p = Path(path)
    shown = str(path)
    with _open_bytes(p) as fh:
        for line_no, raw in enumerate(fh, start=1):
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if len(raw) > MAX_LINE_BYTES:
                yield line_no, LineError(shown, line_no, f"line is longer than {MAX_LINE_BYTES} bytes")
                continue
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield line_no, LineError(shown, line_no, f"not valid UTF-8 (byte {e.start + 1})")
                continue
            try:
                yield line_no, json.loads(text)
            except json.JSONDecodeError as e:
                yield line_no, LineError(shown, line_no, f"not valid JSON ({e.msg} at column {e.colno})")
            except RecursionError:
                yield line_no, LineError(shown, line_no, "not valid JSON (nested too deeply)")


def read_records(
    path: str | os.PathLike[str], parse: Callable[[Any], R], *, kind: str = "record"
) -> tuple[list[R], list[LineError]]:
    """Read a JSONL file of records with an ``id``: ``(records, errors)``. ``parse`` turns one JSON object into
    a record (raising :class:`TaskFormatError` when it can't); a malformed line or a duplicate id is an error for
    that line only and the first record with an id wins. Raises OSError if the file cannot be opened."""
    out: list[R] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    shown = str(path)
    for line_no, obj in iter_jsonl(path):
        if isinstance(obj, LineError):
            errors.append(obj)
            continue
        try:
            rec = parse(obj)
        except TaskFormatError as e:
            errors.append(LineError(shown, line_no, str(e)))
            continue
        except (TypeError, ValueError, AttributeError) as e:  # defensive: odd shapes inside a record
            errors.append(LineError(shown, line_no, f"not a valid {kind} ({type(e).__name__}: {e})"))
            continue
        rid = rec.id  # type: ignore[attr-defined]
        first = seen.get(rid)
        if first is not None:
            errors.append(
                LineError(shown, line_no, f"duplicate {kind} id {rid!r} (first on line {first}); this line is skipped")
            )
            continue
        seen[rid] = line_no
        out.append(rec)
    return out, errors


def read_tasks(path: str | os.PathLike[str]) -> tuple[list[Task], list[LineError]]:
    """Read a task file: ``(tasks, errors)``. A malformed line or a duplicate id is an error for that
    line only; the first task with an id wins."""
    return read_records(path, Task.from_dict, kind="task")


def dump_task_line(task: Task | dict[str, Any]) -> str:
    """One task as its JSONL line (no newline), in the contract's format."""
    d = task.to_dict() if isinstance(task, Task) else task
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def write_tasks(path: str | os.PathLike[str], tasks: Iterable[Task | dict[str, Any]]) -> int:
    """Write tasks as JSONL (gzip when the path ends in ``.gz``), atomically; returns the count.

    The parent directory is created if needed. Dicts are written as given (they are not validated).
    """
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=str(p.parent or Path(".")))
    n = 0
    try:
        with os.fdopen(fd, "wb") as raw:
            fh = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if p.suffix == ".gz" else raw
            try:
                for t in tasks:
                    fh.write(dump_task_line(t).encode("utf-8") + b"\n")
                    n += 1
            finally:
                if fh is not raw:
                    fh.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return n
