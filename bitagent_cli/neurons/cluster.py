"""The validator's offline queue on a Ray cluster: several models evaluated at once, one per GPU.

``bitagent validate --offline-cluster ray://HOST:PORT`` (or ``auto``: ``ray.init()`` on this machine)
replaces the single background worker of :mod:`.offline` with :class:`ClusterWorker`. Each queued
``repo@sha`` becomes one Ray task (``num_gpus=validator.offline_gpus_per_model``) that runs the same
evaluator as the local worker: :class:`~.offline.PipelineEvaluator`, i.e. the ``eval-model`` pipeline
(vetting, vLLM on the GPU Ray assigned, the suites, scoring) in a child process killed at the per-model
time bound. What comes back is the report's summary (a small dict); nothing else travels.

The validator stays the only writer of its SQLite state: a background thread polls the tasks with
``ray.wait(timeout=0)`` and records each result as it arrives; the online loop and weight setting never
wait on the cluster. A queue entry stays until its result is recorded, so a validator restarted while
tasks are out hands the same shas out again (the dead driver's tasks die with it) and counts nothing twice.

Failures: a model refused by vetting is the miner's fault (0, final); an error reported by the pipeline
(server crash, out of memory, timeout) is ours and counts as an attempt, as on the local worker; a Ray
worker or node lost mid-run is retried by Ray (``max_retries``) and, after that, is *lost*: the sha is
held back for a while and handed out again, without counting an attempt, so a flaky cluster never
scores a miner 0.

Ray is optional (``pip install 'bitagent-cli[cluster]'``) and imported only here, only when used.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..store.validator_state import QueueItem, ValidatorState
from .offline import OfflineEvaluator, OfflineOutcome, OfflineWorker

__all__ = ["RAY_FIX", "ClusterError", "ClusterWorker", "parse_address", "require_ray"]

log = logging.getLogger(__name__)

RAY_FIX = "pip install 'bitagent-cli[cluster]'"
#: The longest a lost sha is held back before it is handed out again.
MAX_HOLD_S = 3600.0
#: A report summary larger than this (JSON) travels without its per-category breakdowns.
MAX_SUMMARY_BYTES = 64_000
_ADDRESS = re.compile(r"^(ray://)?[A-Za-z0-9._\-\[\]:]+:\d{1,5}$")


class ClusterError(RuntimeError):
    """The cluster setting cannot be used (Ray missing, a malformed address); one sentence with the fix."""


def parse_address(address: str | None) -> str | None:
    """``validator.offline_cluster`` checked: ``None`` for empty (the local worker), ``auto``,
    ``ray://HOST:PORT`` (Ray Client) or ``HOST:PORT`` (a cluster this machine is a node of)."""
    a = (address or "").strip()
    if not a:
        return None
    if a == "auto" or _ADDRESS.match(a):
        return a
    raise ClusterError(
        f"--offline-cluster {address!r} is not a Ray address; use ray://HOST:PORT (the head's client "
        f"port, 10001 by default), HOST:PORT, or auto (this machine)"
    )


def require_ray() -> None:
    """Raise :class:`ClusterError` (with the fix) when Ray is not installed; imports nothing."""
    if importlib.util.find_spec("ray") is None:
        raise ClusterError(f"--offline-cluster needs Ray, which is not installed; run {RAY_FIX}")


def _ray() -> Any:
    import ray

    return ray


def connect(address: str, *, init_kwargs: dict[str, Any] | None = None) -> bool:
    """Connect this process to the cluster unless it already is; True when this call connected (and so
    :meth:`ClusterWorker.stop` disconnects). ``auto`` joins a cluster this machine is part of, or starts
    one on its own GPUs."""
    ray = _ray()
    if ray.is_initialized():
        return False
    kw: dict[str, Any] = {"namespace": "bitagent"}
    if not address.startswith("ray://"):  # Ray Client takes only a few of ray.init's arguments
        kw.update(log_to_driver=False, configure_logging=False)
    kw.update(init_kwargs or {})
    ray.init(address=None if address == "auto" else address, **kw)
    return True


def _small(details: Any) -> dict[str, Any]:
    """The report summary as plain JSON data, bounded: what travels back from the cluster."""
    try:
        d = json.loads(json.dumps(dict(details or {}), default=str))
    except (TypeError, ValueError):
        return {}
    if len(json.dumps(d)) > MAX_SUMMARY_BYTES:
        d = {k: v for k, v in d.items() if not isinstance(v, (dict, list))}
    return d


def run_task(evaluator: OfflineEvaluator, repo: str, sha: str, timeout_s: float) -> dict[str, Any]:
    """What a Ray task runs: the evaluator (its own time bound holds), reduced to a small dict. An exception
    of the evaluator is an ``error`` on our side, as on the local worker; only a lost worker or node
    surfaces as a Ray error (retried by Ray)."""
    import socket

    t0 = time.monotonic()
    try:
        out = evaluator(repo, sha, timeout_s)
        if not isinstance(out, OfflineOutcome):
            out = OfflineOutcome(float(out))
    except Exception as e:  # noqa: BLE001
        out = OfflineOutcome(0.0, "error", f"{type(e).__name__}: {e}"[:500])
    return {
        "score": float(out.score),
        "status": str(out.status),
        "error": out.error,
        "details": _small(out.details),
        "node": socket.gethostname(),
        "seconds": round(time.monotonic() - t0, 3),
    }


@dataclass
class _Flight:
    item: QueueItem
    fingerprint: str | None
    started: float  # time.monotonic() at submission
    deadline: float  # past it the driver cancels the task (the in-task bound should have fired long before)


class ClusterWorker(OfflineWorker):
    """Drives the offline queue on a Ray cluster from a background thread (or synchronously, by calling
    :meth:`run_once` on a connected process). Same interface as :class:`OfflineWorker`; ``current`` lists
    the models in flight."""

    def __init__(
        self,
        state: ValidatorState,
        evaluator: OfflineEvaluator,
        *,
        address: str,
        gpus_per_model: float = 1.0,
        cpus_per_model: float = 1.0,
        max_in_flight: int = 0,
        max_retries: int = 2,
        poll_s: float = 1.0,
        deadline_slack_s: float = 900.0,
        reuse_workers: bool = False,
        init_kwargs: dict[str, Any] | None = None,
        **kw: Any,
    ):
        super().__init__(state, evaluator, **kw)
        parsed = parse_address(address)
        if parsed is None:
            raise ClusterError("ClusterWorker needs a cluster address (ray://HOST:PORT, HOST:PORT or auto)")
        require_ray()
        if gpus_per_model < 0 or cpus_per_model < 0:
            raise ClusterError("validator.offline_gpus_per_model must be 0 or more (1 = one GPU per model)")
        self.address = parsed
        self.gpus_per_model = float(gpus_per_model)
        self.cpus_per_model = float(cpus_per_model)
        self.max_in_flight = max(0, int(max_in_flight))
        self.max_retries = max(0, int(max_retries))
        self.poll_s = poll_s
        self.deadline_slack_s = deadline_slack_s
        self.reuse_workers = reuse_workers  # False: a fresh Ray worker process per model (Ray's default for GPU tasks)
        self.init_kwargs = dict(init_kwargs or {})
        self.reconnect_s = 5.0  # first wait before connecting again (doubles up to 5 minutes)
        self.stats = {"submitted": 0, "recorded": 0, "lost": 0}
        self.last_error: str | None = None
        self._flight: dict[Any, _Flight] = {}  # ObjectRef -> what it evaluates
        self._held: dict[str, float] = {}  # sha -> time.time() before which it is not handed out again
        self._lost: dict[str, int] = {}  # sha -> times lost to the cluster (in memory: a restart forgets)
        self._remote: Any = None
        self._owns = False
        self._cap: tuple[float, int] | None = None
        self._warned: set[str] = set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="bitagent-offline-cluster", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop: tasks in flight are cancelled (their evaluations stop their model servers) and stay queued."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self.close()

    def close(self) -> None:
        """Cancel what is in flight (it stays queued) and disconnect if this worker connected."""
        if self._remote is not None and self._flight:
            ray = _ray()
            for ref in list(self._flight):
                try:
                    ray.cancel(ref, force=False)  # KeyboardInterrupt in the task: its child is terminated
                except Exception:  # noqa: BLE001
                    pass
            log.info(
                "offline: %d evaluation(s) on the cluster cancelled by shutdown; they stay queued", len(self._flight)
            )
        self._flight.clear()
        self._sync_current()
        if self._owns:
            try:
                _ray().shutdown()
            except Exception:  # logged with its traceback
                log.debug("ray.shutdown failed", exc_info=True)
            self._owns = False
        self._remote = None

    def _loop(self) -> None:
        # ray.init must run on a thread that lives as long as the connection: with `auto`, the Ray processes
        # it starts die with the thread that started them.
        delay, failures = self.reconnect_s, 0
        try:
            while not self._stop.is_set():
                if self._remote is None:
                    try:
                        self._ensure_connected()
                        delay, failures = self.reconnect_s, 0
                    except Exception as e:  # noqa: BLE001 - the online half goes on; we retry the cluster
                        self.last_error = f"{type(e).__name__}: {e}"[:300]
                        log.warning(
                            "offline: cannot reach the Ray cluster at %s (%s); retrying in %.0fs",
                            self.address,
                            self.last_error,
                            delay,
                        )
                        self._pause(delay)
                        delay = min(delay * 2, 300.0)
                        continue
                try:
                    did = self.run_once()
                    failures = 0
                except Exception as e:  # the driver outlives anything
                    failures += 1
                    self.last_error = f"{type(e).__name__}: {e}"[:300]
                    log.warning("offline cluster driver error (%s)", self.last_error, exc_info=failures == 1)
                    if failures >= 3:  # the connection is gone: what was out is lost; connect again
                        self._reset(f"connection to the cluster lost ({self.last_error})")
                    self._pause(min(delay * failures, 300.0))
                    continue
                if not did:
                    self._pause(self.poll_s if self._flight else self.idle_poll_s)
        finally:
            self.close()

    def _pause(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _reset(self, why: str) -> None:
        """Give up on the connection: every model out is lost (handed out again later), and the next pass
        connects anew."""
        for ref, f in list(self._flight.items()):
            try:
                _ray().cancel(ref, force=True)  # if the cluster still hears us, the old task does not run on
            except Exception:  # noqa: BLE001
                pass
            self._lose(f, why)
        self._flight.clear()
        self._sync_current()
        if self._owns:
            try:
                _ray().shutdown()
            except Exception:  # noqa: BLE001
                pass
            self._owns = False
        self._remote = None
        self._cap = None

    def _ensure_connected(self) -> None:
        if self._remote is not None:
            return
        if connect(self.address, init_kwargs=self.init_kwargs):
            self._owns = True
        opts: dict[str, Any] = {}
        if self.reuse_workers:
            opts["max_calls"] = 0  # unlimited: saves a worker start (about a second) per model
        self._remote = _ray().remote(
            num_gpus=self.gpus_per_model,
            num_cpus=self.cpus_per_model,
            max_retries=self.max_retries,
            retry_exceptions=False,
            **opts,
        )(run_task)
        log.info(
            "offline: evaluating on the Ray cluster at %s (%s GPU(s) per model, up to %d at once)",
            self.address,
            self.gpus_per_model,
            self.capacity(),
        )

    # ------------------------------------------------------------------ one pass
    def run_once(self) -> bool:
        """Record what finished, give up on what overran, hand out what is due; never blocks on the cluster.
        With nothing queued or in flight, look up one missing fingerprint. True when something was done."""
        self._ensure_connected()
        did = self._collect()
        did = self._expire() or did
        did = self._submit() or did
        if not did and not self._flight:
            did = self._backfill_fingerprint()
        return did

    def capacity(self) -> int:
        """How many models may be in flight: ``max_in_flight``, else the cluster's GPUs over the GPUs per model
        (re-read every minute: nodes come and go)."""
        if self.max_in_flight > 0:
            return self.max_in_flight
        now = time.monotonic()
        if self._cap is None or now - self._cap[0] > 60.0:
            res = _ray().cluster_resources()
            if self.gpus_per_model > 0:
                gpus = float(res.get("GPU", 0.0))
                if gpus <= 0:
                    self._warn_once(
                        "no-gpu",
                        "offline: the Ray cluster has no GPU; models wait until a node with "
                        "one joins (`ray start --address=... --num-gpus=N`)",
                    )
                n = int(gpus / self.gpus_per_model + 1e-9)
            else:
                n = int(float(res.get("CPU", 1.0)) / max(self.cpus_per_model, 1e-9) + 1e-9)
            self._cap = (now, max(1, n))
        return self._cap[1]

    def _submit(self) -> bool:
        did = False
        while len(self._flight) < self.capacity() and not self._stop.is_set():
            now = time.time()
            self._held = {s: t for s, t in self._held.items() if t > now}
            item = self.state.next_queued(exclude=self._busy())
            if item is None:
                break
            did = True
            ready, fp = self._prepare(item)  # dropped (nobody commits it), or a copy of scored weights
            if not ready:
                continue
            ref = self._remote.remote(self.evaluator, item.repo, item.sha, self.timeout_s)
            t0 = time.monotonic()
            self._flight[ref] = _Flight(item, fp, t0, t0 + self.timeout_s + self.deadline_slack_s)
            self.stats["submitted"] += 1
            log.info("offline: %s@%s sent to the cluster (%d in flight)", item.repo, item.sha[:12], len(self._flight))
        self._sync_current()
        return did

    def _collect(self) -> bool:
        if not self._flight:
            return False
        ray = _ray()
        ready, _ = ray.wait(list(self._flight), num_returns=len(self._flight), timeout=0)
        for ref in ready:
            f = self._flight.pop(ref)
            try:
                res = ray.get(ref, timeout=30)
                out = OfflineOutcome(
                    float(res["score"]),
                    str(res["status"]),
                    res.get("error"),
                    {**dict(res.get("details") or {}), "node": res.get("node")},
                )
            except Exception as e:  # noqa: BLE001 - a lost worker/node after Ray's retries, a cancelled task
                self._lose(f, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300])
                continue
            if out.status not in ("ok", "refused", "error"):
                out = OfflineOutcome(0.0, "error", f"unknown status {out.status!r} from the cluster")
            self._lost.pop(f.item.sha, None)
            self._finish(f.item, out, time.monotonic() - f.started, f.fingerprint)
            self.stats["recorded"] += 1
        self._sync_current()
        return bool(ready)

    def _expire(self) -> bool:
        now = time.monotonic()
        late = [ref for ref, f in self._flight.items() if now > f.deadline]
        for ref in late:
            f = self._flight.pop(ref)
            try:
                _ray().cancel(ref, force=True)
            except Exception:  # noqa: BLE001
                pass
            self._lose(f, f"no answer from the cluster {now - f.started:.0f}s after submission; cancelled")
        if late:
            self._sync_current()
        return bool(late)

    def _lose(self, f: _Flight, why: str) -> None:
        """Our failure, not the miner's: hold the sha back (growing delays) and hand it out again later;
        no attempt is counted, so it never turns into a ``failed`` 0."""
        sha = f.item.sha
        n = self._lost.get(sha, 0) + 1
        self._lost[sha] = n
        delay = min(self.retry_delay_s * (2 ** min(n - 1, 16)), MAX_HOLD_S)
        self._held[sha] = time.time() + delay
        self.stats["lost"] += 1
        self.last_error = why
        log.warning(
            "offline: %s@%s lost on the cluster (%s) after %d Ray retries; not the miner's fault, handed "
            "out again in %.0fs",
            f.item.repo,
            sha[:12],
            why,
            self.max_retries,
            delay,
        )
        self._notify(f.item.repo, sha, OfflineOutcome(0.0, "lost", why))

    # ------------------------------------------------------------------ helpers
    def _busy(self) -> set[str]:
        return {f.item.sha for f in self._flight.values()} | set(self._held)

    def in_flight(self) -> list[str]:
        """``repo@sha`` of every model on the cluster now, oldest first."""
        return [f"{f.item.repo}@{f.item.sha}" for f in sorted(self._flight.values(), key=lambda f: f.started)]

    def _sync_current(self) -> None:
        self.current = ", ".join(self.in_flight()) or None

    def _warn_once(self, key: str, msg: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg)

    def summary(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "connected": self._remote is not None,
            "in_flight": self.in_flight(),
            "held": len(self._held),
            **self.stats,
            "last_error": self.last_error,
        }
