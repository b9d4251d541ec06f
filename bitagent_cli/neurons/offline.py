"""The validator's offline half: evaluate each committed ``repo@sha`` once, in the background.

A single worker thread takes models off the queue in the state (oldest commitment first), one at a
time (one model on the GPU), and records a score per sha. The main loop never waits for it: it keeps
setting weights from the scores already cached. The evaluator is any callable
``(repo, sha, timeout_s) -> OfflineOutcome``; :class:`PipelineEvaluator` runs the ``eval-model``
pipeline in a child process so a model that overruns its time is killed, not waited for.

Copies: when the evaluator can fingerprint a model before evaluating it (``evaluator.fingerprint(repo,
sha)``, from the Hub's file metadata, no download), a sha whose weights already have a final result
under another sha is not evaluated again: it gets that result, marked ``copy_of``. Every result keeps
its fingerprint (from that lookup, or from the evaluation's report; results recorded without one are
looked up when the queue is empty), and the weights phase gives the score to the first committer of
the weights (``weights.offline_by_hotkey``); the copier gets 0.

Failures are told apart (fault attribution): a model *refused* (too large, no weights, gone from the
Hub, a chat template that fails vetting's bounded render: ``ModelRefused``) is the miner's fault and
scores 0 at once, never retried; so is an evaluation that ran past its time, or whose child died, after
the model's own conversations had spent their budgets (``budget_exceeded``, ``multiturn.limits``: the
child reports them as they happen), the reason in the record's ``error``. An *error* on our side (server
crash, our GPU, our disk, out of memory with no model fault seen, a plain timeout) is retried with
backoff, and after ``max_attempts`` the model scores 0 (``failed``) so it cannot block the queue. An
evaluation that finishes keeps its score: the conversations the model lost by its own fault are 0 in it,
and ``details["model_faults"]`` (and ``error``) say which budgets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ModelRefused
from ..store.validator_state import QueueItem, ValidatorState

__all__ = [
    "OfflineEvaluator",
    "OfflineOutcome",
    "OfflineWorker",
    "PipelineEvaluator",
    "finished_outcome",
    "stopped_outcome",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OfflineOutcome:
    """``status``: ``ok`` (scored), ``refused`` (miner's fault, final) or ``error`` (ours, retried)."""

    score: float
    status: str = "ok"
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


#: ``(repo, sha, timeout_s) -> OfflineOutcome``; may also raise (counted as an ``error``). It may also
#: have ``fingerprint(repo, sha) -> str | None`` (the weights' fingerprint, looked up without a download)
#: and ``cancel()``.
OfflineEvaluator = Callable[[str, str, float], OfflineOutcome]


class OfflineWorker:
    """Evaluates queued models one at a time on a daemon thread (or synchronously via :meth:`run_once`)."""

    def __init__(
        self,
        state: ValidatorState,
        evaluator: OfflineEvaluator,
        *,
        timeout_s: float = 3600.0,
        max_attempts: int = 3,
        retry_delay_s: float = 600.0,
        idle_poll_s: float = 5.0,
        wanted: Callable[[str], bool] | None = None,
        on_result: Callable[[str, str, OfflineOutcome], None] | None = None,
    ):
        self.state = state
        self.evaluator = evaluator
        self.timeout_s = timeout_s
        self.max_attempts = max(1, max_attempts)
        self.retry_delay_s = retry_delay_s
        self.idle_poll_s = idle_poll_s
        self.wanted = wanted
        self.on_result = on_result
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current: str | None = None  # "repo@sha" being evaluated

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="bitagent-offline", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread; an evaluation in progress is cancelled (if the evaluator can) and stays queued."""
        self._stop.set()
        self._wake.set()
        cancel = getattr(self.evaluator, "cancel", None)
        if callable(cancel) and self.current is not None:
            cancel()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                did = self.run_once()
            except Exception:  # the worker outlives anything
                log.exception("offline worker error")
                did = False
            if not did:
                self._wake.wait(self.idle_poll_s)
                self._wake.clear()

    def run_once(self) -> bool:
        """Evaluate the next due model, if any (a copy of scored weights takes their result instead); with
        none due, look up one missing fingerprint. True when something was done."""
        item = self.state.next_queued()
        if item is None:
            return self._backfill_fingerprint()
        self.current = f"{item.repo}@{item.sha}"
        t0 = time.monotonic()
        try:
            ready, fp = self._prepare(item)
        finally:
            self.current = None
        if not ready:
            return True
        self.current = f"{item.repo}@{item.sha}"
        try:
            out = self.evaluator(item.repo, item.sha, self.timeout_s)
            if not isinstance(out, OfflineOutcome):
                out = OfflineOutcome(float(out))
        except Exception as e:  # noqa: BLE001 - an evaluator crash is a retryable error on our side
            out = OfflineOutcome(0.0, "error", f"{type(e).__name__}: {e}")
        finally:
            self.current = None
        if self._stop.is_set():  # shutting down: an interrupted evaluation is neither a result nor a failure
            log.info("offline: evaluation of %s interrupted by shutdown; it stays queued", item.sha[:12])
            return True
        self._finish(item, out, time.monotonic() - t0, fp)
        return True

    def _prepare(self, item: QueueItem) -> tuple[bool, str | None]:
        """Before evaluating ``item``: drop it when nobody commits it any more, and give a copy of weights
        already scored their result. Returns (still to evaluate, the weights' fingerprint if known)."""
        if self.wanted is not None and not self.wanted(item.sha):
            log.info("offline: %s is no longer committed by anyone; dropped from the queue", item.sha[:12])
            self.state.dequeue(item.sha)
            return False, None
        fp = self._fingerprint(item.repo, item.sha)
        original = self.state.offline_by_fingerprint(fp) if fp else None
        if fp and original is not None and original.sha != item.sha:  # the same weights already scored: no evaluation
            out = OfflineOutcome(
                original.score, original.status, original.error, {"copy_of": f"{original.repo}@{original.sha}"}
            )
            self.state.record_offline(
                item.sha,
                item.repo,
                original.score,
                original.status,
                error=original.error,
                attempts=item.attempts,
                details=out.details,
                fingerprint=fp,
            )
            log.info(
                "offline: %s holds the same weights as %s@%s (fingerprint %s); not evaluated again",
                item.sha[:12],
                original.repo,
                original.sha[:12],
                fp[:12],
            )
            self._notify(item.repo, item.sha, out)
            return False, fp
        return True, fp

    def _finish(self, item: QueueItem, out: OfflineOutcome, elapsed: float, fp: str | None) -> OfflineOutcome:
        """Record an evaluation's outcome: a result (``ok``/``refused``), or one more failed attempt on our
        side (retried after a backoff; ``failed`` with 0 after ``max_attempts``). Returns what was recorded."""
        attempts = item.attempts + 1
        if out.status in ("ok", "refused"):
            score = out.score if out.status == "ok" else 0.0
            self.state.record_offline(
                item.sha,
                item.repo,
                score,
                out.status,
                error=out.error,
                attempts=attempts,
                details={**out.details, "seconds": round(elapsed, 1)},
                fingerprint=fp or _str_or_none(out.details.get("fingerprint")),
            )
            log.info("offline: sha %s scored %.4f (%s) in %.0fs", item.sha[:12], score, out.status, elapsed)
        else:
            err = out.error or "unknown error"
            attempts = self.state.defer(item.sha, err, self.retry_delay_s * (2**item.attempts))
            if attempts >= self.max_attempts:
                self.state.record_offline(
                    item.sha,
                    item.repo,
                    0.0,
                    "failed",
                    error=err,
                    attempts=attempts,
                    details={"seconds": round(elapsed, 1)},
                    fingerprint=fp,
                )
                log.warning("offline: sha %s failed %d times (%s); scored 0", item.sha[:12], attempts, err)
                out = OfflineOutcome(0.0, "failed", err)
            else:
                log.warning("offline: sha %s attempt %d failed (%s); retrying later", item.sha[:12], attempts, err)
        self._notify(item.repo, item.sha, out)
        return out

    def _backfill_fingerprint(self) -> bool:
        """Idle: look up the fingerprint of one result recorded without it (before fingerprints existed, or
        the Hub was down), so copies of already-scored weights are caught too. True when one was tried."""
        if not callable(getattr(self.evaluator, "fingerprint", None)):
            return False
        rec = self.state.unfingerprinted()
        if rec is None:
            return False
        fp = self._fingerprint(rec.repo, rec.sha)
        self.state.set_fingerprint(rec.sha, fp)
        if fp:
            log.info("offline: %s@%s has weights fingerprint %s", rec.repo, rec.sha[:12], fp[:12])
        return True

    def _fingerprint(self, repo: str, sha: str) -> str | None:
        """The evaluator's fingerprint lookup, if it has one; any failure means "unknown" (evaluate as usual)."""
        lookup = getattr(self.evaluator, "fingerprint", None)
        if not callable(lookup):
            return None
        try:
            return _str_or_none(lookup(repo, sha))
        except Exception as e:  # noqa: BLE001 - refusals and Hub errors surface in the evaluation itself
            log.debug("offline: no fingerprint for %s@%s (%s)", repo, sha[:12], e)
            return None

    def _notify(self, repo: str, sha: str, out: OfflineOutcome) -> None:
        if self.on_result is not None:
            try:
                self.on_result(repo, sha, out)
            except Exception:  # logged with its traceback
                log.debug("offline on_result hook failed", exc_info=True)


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


# ---------------------------------------------------------------------------------------------- pipeline
def _child(
    conn: Any, repo: str, sha: str, profile: str, values: Mapping[str, Any], suites: list[str], limit: int | None
) -> None:  # pragma: no cover - runs in a spawned process
    import signal

    def _term(*_: Any) -> None:
        raise SystemExit(143)  # unwinds the model server's context manager, which stops the server

    signal.signal(signal.SIGTERM, _term)
    _die_with_parent()
    try:
        from .._evaluate import evaluate
        from ..config import Settings

        settings = Settings(profile=profile, values=dict(values))
        told = [0]

        def progress(p: Any) -> None:  # the model's faults as they happen: a timeout after them is the model's
            faults = int(getattr(p, "faults", 0) or 0)
            if faults != told[0]:
                told[0] = faults
                conn.send(("progress", faults, {}))

        report = evaluate(
            f"{repo}@{sha}" if sha else repo, suites=suites, settings=settings, limit=limit, progress=progress
        )
        conn.send(("ok", offline_score(report, settings["validator.offline_score"]), _summary(report)))
    except BaseException as e:  # noqa: BLE001 - report everything to the parent
        conn.send(
            ("refused" if isinstance(e, ModelRefused) else "error", 0.0, {"error": f"{type(e).__name__}: {e}"[:500]})
        )


#: What the evaluation child runs (a module-level function, so that a spawned process can import it).
_CHILD = _child


def offline_score(report: Any, how: str = "accuracy") -> float:
    """An evaluation's offline score (``validator.offline_score``): its accuracy over the suites run, or BFCL v4's
    overall over the BFCL categories run (0 when none ran)."""
    if how == "bfcl_overall":
        return float((report.bfcl_summary or {}).get("overall") or 0.0)
    return float(report.accuracy)


def _die_with_parent() -> None:  # pragma: no cover - runs in a spawned process
    """Linux: SIGTERM this process when the one that started it dies, even by SIGKILL (a Ray worker killed
    with its node, a validator killed with -9), so its model server never outlives the evaluation."""
    import os
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort: the parent still terminates the child on every normal path
        return
    import multiprocessing as mp

    parent = mp.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the call: nobody waits for us
        raise SystemExit(143)


def _summary(report: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in (
        "tasks",
        "correct",
        "accuracy",
        "by_category",
        "by_suite",
        "bfcl_summary",
        "backend",
        "model_sha",
        "fingerprint",
        "model_faults",
    ):
        v = getattr(report, key, None)
        if v is not None:
            out[key] = v
    return out


def finished_outcome(status: str, score: float, details: Mapping[str, Any]) -> OfflineOutcome:
    """The outcome of an evaluation child that reported: ``ok`` keeps its score (the model's own faults, if
    any, named in ``error`` and ``details``), ``refused`` is final, ``error`` is ours (retried)."""
    if status != "ok":
        return OfflineOutcome(0.0, status, str(details.get("error") or status), {})
    faults = details.get("model_faults") or {}
    err = None
    if faults:
        err = "the model lost conversations by its own fault: " + ", ".join(
            f"{k} x{v}" for k, v in sorted(faults.items())
        )
    return OfflineOutcome(score, "ok", err, dict(details))


def stopped_outcome(what: str, model_faults: int) -> OfflineOutcome:
    """An evaluation that did not finish (timed out, its process died): the miner's 0 (``refused``, final)
    when the model's conversations had already spent their budgets, else an error on our side (retried)."""
    if model_faults > 0:
        return OfflineOutcome(
            0.0,
            "refused",
            f"{what} after the model's own calls spent their conversation budgets {model_faults} times "
            "(budget_exceeded): the model's fault",
            {"fault": "model", "model_faults": model_faults},
        )
    return OfflineOutcome(0.0, "error", what)


class PipelineEvaluator:
    """Runs ``bitagent_cli._evaluate.evaluate`` for ``repo@sha`` in a spawned child process.

    On timeout the child gets SIGTERM (it stops its model server on the way out), then SIGKILL after
    ``grace_s``. The score is the pipeline's accuracy over ``suites`` (``limit`` tasks per suite).
    """

    def __init__(self, settings: Any, *, suites: list[str], limit: int | None, grace_s: float = 30.0):
        self.profile = getattr(settings, "profile", "local")
        self.values = dict(getattr(settings, "values", settings))
        self.suites = list(suites)
        self.limit = limit or None
        self.grace_s = grace_s
        self._cancel = threading.Event()

    def __getstate__(self) -> dict[str, Any]:  # shipped to a Ray worker: everything but the cancel flag
        return {k: v for k, v in self.__dict__.items() if k != "_cancel"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop the evaluation in progress (the child is terminated); the call returns an ``error``."""
        self._cancel.set()

    def fingerprint(self, repo: str, sha: str) -> str | None:
        """The weights' fingerprint from the Hub's file metadata (``vet_model`` with the eval limits; no
        download). Raises ``ModelRefused``/``ModelUnavailable``; the worker then evaluates as usual."""
        from ..config import Settings
        from ..serving.vetting import vet_model

        settings = Settings(profile=self.profile, values=dict(self.values))
        return vet_model(
            f"{repo}@{sha}",
            max_params_b=float(settings.get("eval.max_params_b", 8.0)),
            max_download_gb=float(settings.get("eval.max_download_gb", 40.0)),
        ).fingerprint

    def __call__(self, repo: str, sha: str, timeout_s: float) -> OfflineOutcome:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_CHILD,
            args=(child, repo, sha, self.profile, self.values, self.suites, self.limit),
            name="bitagent-offline-eval",
            daemon=False,
        )
        self._cancel.clear()
        proc.start()
        child.close()
        deadline = time.monotonic() + timeout_s
        faults = 0  # conversations the model lost by its own fault so far (the child's "progress")
        try:
            while not self._cancel.is_set() and time.monotonic() < deadline:
                if parent.poll(min(1.0, max(0.0, deadline - time.monotonic()))):
                    status, score, details = parent.recv()
                    if status == "progress":
                        faults = int(score)
                        continue
                    proc.join(self.grace_s)
                    return finished_outcome(status, float(score), details)
                if not proc.is_alive() and not parent.poll(0):
                    return stopped_outcome(f"evaluation process died (exit {proc.exitcode})", faults)
            if self._cancel.is_set():
                return OfflineOutcome(0.0, "error", "cancelled")
            return stopped_outcome(f"timed out after {timeout_s:.0f}s", faults)
        except EOFError:
            return stopped_outcome(f"evaluation process died (exit {proc.exitcode})", faults)
        finally:
            if proc.is_alive():
                proc.terminate()
                proc.join(self.grace_s)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
            parent.close()
