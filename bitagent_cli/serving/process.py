"""The process manager behind every model server we start.

A server runs as a child in its own session (so its own process group): a Ctrl-C in the terminal
reaches only us, and we decide how the whole group goes down. Its stdout and stderr go to a log
file (never a pipe that nobody drains). ``wait_healthy`` polls the server's health URL while
checking that the child is still alive; ``stop`` sends SIGTERM to the group, waits, then SIGKILL
to the group, always: on a normal exit, an exception or Ctrl-C in the ``with`` block, at
interpreter exit (``atexit``) and on SIGTERM/SIGHUP to this process.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..errors import BitagentError

__all__ = [
    "ManagedProcess",
    "ServerError",
    "first_error_line",
    "free_port",
    "group_alive",
    "http_get",
    "pid_alive",
    "stop_all",
]

LOG_TAIL_LINES = 40
#: How much of a dead server's log is searched for the exception that killed it.
ERROR_SCAN_BYTES = 1024 * 1024


class ServerError(BitagentError, RuntimeError):
    """A model server could not be started, reached or kept alive. The message is one line."""

    def __init__(self, message: str, log_tail: str = "", log_path: Path | None = None):
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail
        self.log_path = log_path

    def __str__(self) -> str:
        return self.message


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the child binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _proc_pgrp_state(pid: int) -> tuple[int, str] | None:
    """(process group, state letter) of ``pid`` from /proc, or None if it is gone or unreadable."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm is in parentheses and may contain spaces: split after the last ')'.
    rest = raw[raw.rfind(")") + 2 :].split()
    try:
        return int(rest[2]), rest[0]
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not: some container inits never reap orphans)."""
    if Path("/proc/self/stat").exists():
        info = _proc_pgrp_state(pid)
        return info is not None and info[1] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is left in process group ``pgid``."""
    if Path("/proc/self/stat").exists():
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                info = _proc_pgrp_state(int(entry.name))
                if info is not None and info[0] == pgid and info[1] not in ("Z", "X"):
                    return True
        return False
    try:  # no /proc (macOS): a zombie still counts here, which errs on the side of "alive"
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, lines: int = LOG_TAIL_LINES, max_bytes: int = 64 * 1024) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def _last_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()[:300]
    return ""


# vLLM prefixes each line with its process, e.g. "(EngineCore pid=123) " or "(APIServer pid=9) ".
_PROC_PREFIX = re.compile(r"^\([A-Za-z_][\w:-]*(?: pid=\d+)?\)\s?")
# ... then its logger's "ERROR 12-01 21:53:29 [core.py:1512] " (a traceback logged by logger.exception).
_LOG_PREFIX = re.compile(r"^(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) \d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \[[^\]]*\] ")
# An exception line: "ValueError: ...", "torch.OutOfMemoryError: ...", "KeyError" alone.
_EXC_LINE = re.compile(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Interrupt|Exit|Failure)(?::\s.*)?$")


def first_error_line(text: str) -> str:
    """The line that says why a server died: the exception of the first traceback in ``text``.

    A dying vLLM logs the root cause first (its engine process's traceback), then follow-on errors
    ("Engine core initialization failed. See root cause above") and shutdown noise (resource_tracker
    warnings), so the first exception is the cause; the last line usually is not. Without a traceback
    it is the first line that reads like an exception, else the last line. Bounded: ``text`` is a tail.
    """
    lines = [_LOG_PREFIX.sub("", _PROC_PREFIX.sub("", ln.rstrip())) for ln in text.splitlines()]
    in_tb = False
    for ln in lines:
        if ln.startswith("Traceback (most recent call last):"):
            in_tb = True
            continue
        if in_tb:
            if not ln.strip() or ln[:1].isspace():
                continue  # frames and source lines are indented
            if _EXC_LINE.match(ln.strip()):
                return ln.strip()[:300]
            in_tb = False  # something else ended it (a chained "During handling ..." or a log line)
    for ln in lines:
        if _EXC_LINE.match(ln.strip()):
            return ln.strip()[:300]
    return _last_line(text)


# ---------------------------------------------------------------- registry and exit handling
# Strong references: a server whose handle was dropped without stop() is still stopped at exit.
_live: set[ManagedProcess] = set()
_handlers_installed = False
_previous_handlers: dict[int, object] = {}


def stop_all(timeout: float = 5.0) -> None:
    """Stop every process this interpreter started and has not stopped yet."""
    for p in list(_live):
        with contextlib.suppress(Exception):
            p.stop(timeout=timeout)


def _on_signal(signum: int, frame) -> None:  # pragma: no cover - exercised through a subprocess test
    # Stop the servers first (fast: SIGKILL after a short grace), then behave as the previous handler
    # would have: default action for SIGTERM/SIGHUP is to die with that signal.
    stop_all(timeout=3.0)
    prev = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(prev):
        prev(signum, frame)
        return
    if prev == signal.SIG_IGN:
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    """atexit always; SIGTERM/SIGHUP only from the main thread and only where nobody else handles them."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        prev = signal.getsignal(sig)
        if prev in (signal.SIG_DFL, None):
            _previous_handlers[sig] = signal.SIG_DFL
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, _on_signal)


# ---------------------------------------------------------------- the managed process
class ManagedProcess:
    """One child command in its own process group, logging to ``log_path``.

    Use as a context manager (``with ManagedProcess(argv, log_path=...) as p: p.wait_healthy(url)``)
    or call ``start()`` / ``stop()``; ``stop`` is idempotent and also runs at interpreter exit.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        name: str | None = None,
    ):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.name = name or Path(self.argv[0]).name
        self.proc: subprocess.Popen | None = None
        self.pgid: int | None = None
        self._stopped = False

    # -- lifecycle
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> ManagedProcess:
        if self.proc is not None:
            return self
        _install_handlers()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(self.env or {})}
        with self.log_path.open("ab") as log:
            try:
                self.proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.cwd,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as e:
                raise ServerError(
                    f"could not start {self.name}: {e.strerror or e} ({self.argv[0]})", log_path=self.log_path
                ) from None
        self.pgid = self.proc.pid  # start_new_session: the child leads its own group
        _live.add(self)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return _tail(self.log_path, lines)

    def died_error(self, what: str = "exited") -> ServerError:
        """One line: how the child ended, the cause from its log (its first exception) and the log path once."""
        tail = self.log_tail()
        cause = first_error_line(_tail(self.log_path, lines=5000, max_bytes=ERROR_SCAN_BYTES))
        rc = self.returncode
        how = (
            f"{what} with code {rc}"
            if rc is not None and rc >= 0
            else (f"was killed by signal {-rc}" if rc is not None else what)
        )
        msg = f"{self.name} {how}" + (f": {cause}" if cause else "") + f" (log: {self.log_path})"
        return ServerError(msg, log_tail=tail, log_path=self.log_path)

    def wait_healthy(
        self, url: str | Iterable[str], timeout: float, *, interval: float = 0.5, request_timeout: float = 2.0
    ) -> None:
        """Poll ``url`` (or each of several URLs in turn) until one answers 200, while the child lives.

        Raises ServerError if the child exits (with the last log line) or after ``timeout`` seconds
        (the group is then stopped).
        """
        urls = [url] if isinstance(url, str) else list(url)
        if self.proc is None:
            raise ServerError(f"{self.name} was never started")
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            if not self.alive():
                raise self.died_error("exited during start-up")
            if _http_ok(urls[i % len(urls)], request_timeout):
                return
            i += 1
            if time.monotonic() >= deadline:
                tail = self.log_tail()
                last = _last_line(tail)
                self.stop()
                raise ServerError(
                    f"{self.name} did not become healthy within {timeout:g} s and was stopped"
                    + (f"; last log line: {last}" if last else "")
                    + f" (log: {self.log_path}); raise the start-up timeout if the model is large",
                    log_tail=tail,
                    log_path=self.log_path,
                )
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM to the group, wait up to ``timeout``, then SIGKILL to the group, always.

        Returns the child's exit code (None if it was never started). Safe to call many times, from
        a signal handler or while a KeyboardInterrupt is in flight (a second Ctrl-C skips the grace).
        """
        if self.proc is None:
            return None
        if self._stopped:
            return self.proc.returncode
        pgid = self.pgid
        interrupted: BaseException | None = None
        try:
            _killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        except KeyboardInterrupt as e:  # a second Ctrl-C: no more grace
            interrupted = e
        finally:
            # Always: whatever is left of the group (the child or its children) is killed.
            _killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=10)
            deadline = time.monotonic() + 5.0
            while pgid is not None and group_alive(pgid) and time.monotonic() < deadline:
                _killpg(pgid, signal.SIGKILL)
                time.sleep(0.05)
            self._stopped = True
            _live.discard(self)
        if interrupted is not None:
            raise interrupted
        return self.proc.returncode

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive() else "stopped" if self._stopped else "exited"
        return f"<ManagedProcess {self.name} pid={self.pid} {state}>"


def _killpg(pgid: int | None, sig: int) -> None:
    if pgid is None or pgid <= 1:  # never signal group 0/1 (ours or init's)
        return
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        pass
    except OSError as e:  # pragma: no cover
        if e.errno != errno.ESRCH:
            raise


def http_get(url: str, timeout: float, max_bytes: int = 2_000_000) -> tuple[int, bytes] | None:
    """GET ``url`` without proxies (loopback servers): (status, body), or None when nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, method="GET"), timeout=timeout) as r:
            return r.status, r.read(max_bytes)
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _http_ok(url: str, timeout: float) -> bool:
    got = http_get(url, timeout, max_bytes=0)
    return got is not None and got[0] == 200
