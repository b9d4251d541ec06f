"""The validator: a loop that survives anything, querying miners online and scoring their models offline.

Each step (``validator.step_seconds`` apart):

1. **sync** the metagraph: ``uid -> hotkey``, who serves an endpoint, our own uid; a new hotkey on a uid
   starts at the median online score;
2. **offline**: read the commitments, queue every ``repo@sha`` without a result for the background
   worker (:mod:`.offline`), which evaluates one model at a time;
3. **online**: pick ``validator.sample_size`` serving miners and one task (both seeded by the block and
   our hotkey), alter the task with the validator's LLM when one is configured, query the miners
   concurrently with ``validator.query_timeout``, score each answer (no answer or garbage = 0), commit
   the step to the state (once: replaying a step counts nothing twice), send feedback (best effort);
4. **weights**: when the chain's rate limit allows, ``online_share * EMA + (1 - online_share) * offline``
   per live uid, normalised, set on chain;
5. **upkeep**, every ``maintain_every`` steps: query-log rows past the retention are rolled up and the
   WAL is truncated, so the state file stays bounded over months of running.

Each phase writes the state in one transaction. :meth:`Validator.run` keeps a count and the last
report, not every report, so its memory is flat however long it runs.

Every phase runs inside its own ``try``: a chain outage, a dead miner, a crashing scorer or a broken
LLM is logged and the loop goes on. The chain, the miners, the task source, the LLM and the offline
evaluator are injected (:class:`ChainView`, :class:`~.online.MinerClient`, ...), so tests run the same
loop with stand-ins or with the real pieces on loopback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from ..store.validator_state import QueryRecord, ValidatorState
from ..tasks import Task
from .offline import OfflineEvaluator, OfflineOutcome, OfflineWorker
from .online import MinerAnswer, MinerClient, query_all, sample_uids, score_answer, wire_id
from .weights import Commit, final_scores, first_committers, normalise, offline_by_hotkey, weights_due

__all__ = ["ChainView", "NeuronInfo", "RunLogger", "RunResult", "StepReport", "Validator", "ValidatorConfig"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NeuronInfo:
    uid: int
    hotkey: str
    axon: str | None = None  # "ip:port" when the neuron serves an endpoint
    validator_permit: bool = False
    stake: float = 0.0


class ChainView(Protocol):
    """What the validator needs from the chain (blocking calls; the loop runs them in a thread, unless
    the object has ``blocking = False``: an in-memory stand-in, called inline)."""

    def block(self) -> int: ...

    def neurons(self) -> list[NeuronInfo]: ...

    def commitments(self) -> dict[str, Commit]: ...  # hotkey -> parsed commitment (unparseable ones left out)

    def weights_rate_limit(self) -> int: ...

    def blocks_since_last_update(self, uid: int) -> int | None: ...

    def set_weights(self, uids: list[int], weights: list[float]) -> None: ...  # raises on failure


class RunLogger(Protocol):
    def log_step(self, report: StepReport) -> None: ...

    def log_offline(self, repo: str, sha: str, outcome: OfflineOutcome) -> None: ...

    def close(self) -> None: ...


@dataclass
class ValidatorConfig:
    netuid: int = 76
    sample_size: int = 10
    query_timeout: float = 20.0
    step_seconds: float = 60.0
    ema_alpha: float = 0.1
    online_share: float = 0.5
    offline: bool = True
    offline_timeout_s: float = 3600.0
    offline_max_attempts: int = 3
    offline_retry_s: float = 600.0
    offline_cluster: str = ""  # Ray address (ray://HOST:PORT, HOST:PORT, auto); empty: one local worker
    offline_gpus_per_model: float = 1.0  # Ray num_gpus of one model's task
    offline_max_in_flight: int = 0  # models on the cluster at once (0: its GPUs / gpus_per_model)
    offline_max_retries: int = 2  # Ray retries of a task whose worker or node died
    feedback_timeout: float = 5.0
    chain_timeout: float = 60.0
    dry_run: bool = False
    query_log_steps: int = 10080  # per-query rows kept (a week at 60 s steps); 0 keeps them all
    maintain_every: int = 60  # steps between upkeeps (prune the query log, truncate the WAL)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], **overrides: Any) -> ValidatorConfig:
        """From resolved settings; the offline time bound covers a model server's start plus the tasks."""
        limit = int(settings["validator.offline_limit"]) or 500
        per_task = float(settings["eval.request_timeout"]) / max(1, int(settings["eval.concurrency"]))
        cfg = cls(
            netuid=int(settings["chain.netuid"]),
            sample_size=int(settings["validator.sample_size"]),
            query_timeout=float(settings["validator.query_timeout"]),
            step_seconds=float(settings["validator.step_seconds"]),
            ema_alpha=float(settings["validator.ema_alpha"]),
            online_share=float(settings["validator.online_share"]),
            offline_timeout_s=float(settings["eval.startup_timeout"]) + max(600.0, limit * per_task),
            query_log_steps=_retention_steps(
                float(settings["validator.query_log_days"]), float(settings["validator.step_seconds"])
            ),
            offline_cluster=str(settings.get("validator.offline_cluster") or ""),
            offline_gpus_per_model=float(settings.get("validator.offline_gpus_per_model", 1.0)),
            offline_max_in_flight=int(settings.get("validator.offline_max_in_flight", 0)),
            offline_max_retries=int(settings.get("validator.offline_max_retries", 2)),
        )
        for k, v in overrides.items():
            if v is not None:
                setattr(cfg, k, v)
        return cfg


def _retention_steps(days: float, step_seconds: float) -> int:
    """``validator.query_log_days`` as a number of steps (0 keeps everything)."""
    if days <= 0:
        return 0
    return max(1, int(days * 86400 / max(step_seconds, 1.0)))


@dataclass
class RunResult:
    """What :meth:`Validator.run` returns: how many steps ran, how many had errors, and the last report
    (every report goes to ``on_step`` as it comes; none is kept)."""

    steps: int = 0
    steps_with_errors: int = 0
    last: StepReport | None = None


@dataclass
class StepReport:
    step: int
    block: int | None = None
    task_id: str | None = None
    category: str | None = None
    altered: bool = False
    queried: dict[int, dict[str, Any]] = field(default_factory=dict)  # uid -> {hotkey, score, error, latency_s}
    committed: bool = False
    weights: dict[int, float] | None = None
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["queried"] = {str(k): v for k, v in self.queried.items()}
        d["weights"] = None if self.weights is None else {str(k): v for k, v in self.weights.items()}
        return d


class Validator:
    def __init__(
        self,
        chain: ChainView,
        *,
        hotkey: str,
        state: ValidatorState,
        client: MinerClient,
        task_source: Callable[[int, str], Task],
        config: ValidatorConfig | None = None,
        scorer: Callable[..., Any] | None = None,
        alterer: Any = None,
        offline_evaluator: OfflineEvaluator | None = None,
        logger: RunLogger | None = None,
    ):
        self.chain = chain
        self.hotkey = hotkey
        self.state = state
        self.client = client
        self.task_source = task_source
        self.config = config or ValidatorConfig()
        self.scorer = scorer
        self.alterer = alterer
        self.logger = logger
        self.uid: int | None = None
        self.neurons: list[NeuronInfo] = []
        self.commits: dict[str, Commit] = {}
        self._wanted: set[str] | None = None
        self._feedback: set[asyncio.Task] = set()
        self._dry_last_block: int | None = None
        self._warned: set[str] = set()
        self.worker: OfflineWorker | None = None
        if self.config.offline and offline_evaluator is not None:
            common: dict[str, Any] = dict(
                timeout_s=self.config.offline_timeout_s,
                max_attempts=self.config.offline_max_attempts,
                retry_delay_s=self.config.offline_retry_s,
                wanted=self._is_wanted,
                on_result=self._on_offline,
            )
            if self.config.offline_cluster:  # the queue on a Ray cluster (neurons/cluster.py; Ray imported there)
                from .cluster import ClusterWorker

                self.worker = ClusterWorker(
                    state,
                    offline_evaluator,
                    address=self.config.offline_cluster,
                    gpus_per_model=self.config.offline_gpus_per_model,
                    max_in_flight=self.config.offline_max_in_flight,
                    max_retries=self.config.offline_max_retries,
                    **common,
                )
            else:
                self.worker = OfflineWorker(state, offline_evaluator, **common)

    # ------------------------------------------------------------------ helpers
    async def _chain(self, fn: Callable[..., Any], *args: Any) -> Any:
        if getattr(self.chain, "blocking", True) is False:  # an in-memory chain (simulations): no thread hop
            return fn(*args)
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), self.config.chain_timeout)

    def _is_wanted(self, sha: str) -> bool:
        return self._wanted is None or sha in self._wanted

    def _on_offline(self, repo: str, sha: str, outcome: OfflineOutcome) -> None:
        if self.logger is not None:
            self.logger.log_offline(repo, sha, outcome)

    def _warn_once(self, key: str, msg: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)

    def live(self) -> dict[int, str]:
        """``uid -> hotkey`` of the registered neurons other than ourselves."""
        return {n.uid: n.hotkey for n in self.neurons if n.hotkey != self.hotkey}

    # ------------------------------------------------------------------ phases
    def sync(self, neurons: Sequence[NeuronInfo], step: int) -> list[str]:
        self.neurons = list(neurons)
        mine = [n.uid for n in self.neurons if n.hotkey == self.hotkey]
        self.uid = mine[0] if mine else None
        if self.uid is None:
            self._warn_once(
                "unregistered",
                "our hotkey %s is not registered on netuid %d: queries go out, but "
                "weights cannot be set; run `bitagent register`",
                self.hotkey,
                self.config.netuid,
            )
        newcomers = self.state.sync_hotkeys({n.uid: n.hotkey for n in self.neurons}, step)
        if newcomers:
            log.info("new hotkeys (start at the median): %s", ", ".join(h[:10] for h in newcomers))
        return newcomers

    async def sync_offline(self, block: int) -> None:
        raw = await self._chain(self.chain.commitments)
        with self.state.batch():  # one transaction for the phase, however many models are queued
            self._sync_offline(raw)
        if self.worker is not None:
            self.worker.wake()

    def _sync_offline(self, raw: Mapping[str, Commit]) -> None:
        registered = {n.hotkey: n.uid for n in self.neurons}
        self.commits = {hk: c for hk, c in raw.items() if hk in registered}
        self.state.observe_commitments({hk: (c.repo, c.sha, c.block) for hk, c in self.commits.items()})
        owners = first_committers(self.commits.values(), self.state.first_seen(), registered)
        self._wanted = set(owners)
        done = self.state.offline_scores()
        queued = self.state.enqueue_many(
            (sha, self.commits[hk].repo, self.commits[hk].block) for sha, hk in owners.items() if sha not in done
        )
        if queued:
            log.info("offline: %d new model(s) queued", queued)

    async def online(self, step: int, block: int, report: StepReport) -> None:
        cfg = self.config
        serving = [n for n in self.neurons if n.axon and n.hotkey != self.hotkey]
        by_uid = {n.uid: n for n in serving}
        uids = sample_uids(list(by_uid), cfg.sample_size, block=block, hotkey=self.hotkey)
        records: list[QueryRecord] = []
        tid = None
        answers: dict[int, MinerAnswer] = {}
        feedback: dict[int, str] = {}
        if uids:
            task = self.task_source(block, self.hotkey)
            if self.alterer is not None:
                res = await self.alterer.alter(task)
                task, report.altered = res.task, res.altered
            tid = wire_id(task, step=step, block=block, hotkey=self.hotkey)
            report.task_id, report.category = tid, task.category
            targets = [(u, by_uid[u].hotkey, by_uid[u].axon or "") for u in uids]
            answers = await query_all(self.client, targets, task, task_id=tid, timeout=cfg.query_timeout)
            for uid in uids:
                ans = answers[uid]
                s = score_answer(task, ans, self.scorer)
                records.append(
                    QueryRecord(
                        uid=uid,
                        hotkey=by_uid[uid].hotkey,
                        score=s.score,
                        correct=s.correct,
                        error=s.error,
                        latency_s=round(ans.latency_s, 4),
                        task_id=tid,
                        category=task.category,
                    )
                )
                report.queried[uid] = {
                    "hotkey": by_uid[uid].hotkey,
                    "score": s.score,
                    "correct": s.correct,
                    "error": s.error,
                    "latency_s": round(ans.latency_s, 4),
                }
                feedback[uid] = s.feedback
        report.committed = self.state.commit_step(step, block, records, alpha=cfg.ema_alpha, task_id=tid)
        if report.committed and tid is not None:
            for uid, q in report.queried.items():
                if answers[uid].error is None:  # nobody to tell when the miner did not answer
                    self._send_feedback(by_uid[uid], tid, q, feedback[uid])

    def _send_feedback(self, n: NeuronInfo, tid: str, q: Mapping[str, Any], text: str) -> None:
        coro = self.client.feedback(
            n.axon or "",
            n.hotkey,
            task_id=tid,
            score=q["score"],
            correct=q["correct"],
            error=q["error"],
            feedback=text,
            timeout=self.config.feedback_timeout,
        )
        t = asyncio.ensure_future(asyncio.wait_for(coro, self.config.feedback_timeout + 1.0))
        self._feedback.add(t)

        def done(f: asyncio.Future[Any]) -> None:
            self._feedback.discard(f)
            if not f.cancelled():
                f.exception()  # retrieved, so asyncio does not log it as never retrieved

        t.add_done_callback(done)

    def offline_scores(self) -> dict[str, float]:
        """``hotkey -> offline score`` of the live hotkeys' current commitments (copies, by sha or by weights
        fingerprint, get 0)."""
        uid_of = {hk: uid for uid, hk in self.live().items()}
        return offline_by_hotkey(
            self.commits.values(),
            self.state.offline_scores(),
            self.state.first_seen(),
            uid_of,
            self.state.fingerprints(),
        )

    def compute_weights(self) -> dict[int, float]:
        """Normalised final scores over the live uids (ourselves excluded); online only without offline."""
        offline, share = (self.offline_scores(), self.config.online_share) if self.config.offline else ({}, 1.0)
        return normalise(final_scores(self.live(), self.state.emas(), offline, online_share=share))

    async def maybe_set_weights(self, block: int) -> dict[int, float] | None:
        cfg = self.config
        if self.uid is None and not cfg.dry_run:
            return None
        rate = int(await self._chain(self.chain.weights_rate_limit))
        since = await self._chain(self.chain.blocks_since_last_update, self.uid) if self.uid is not None else None
        last = self._dry_last_block if cfg.dry_run else self.state.last_weights_block()
        if not weights_due(
            block, rate_limit=rate, blocks_since_last_update=None if cfg.dry_run else since, last_weights_block=last
        ):
            return None
        weights = self.compute_weights()
        if not weights:
            self._warn_once("zero", "all scores are 0: no weights set yet")
            return None
        uids = sorted(weights)
        if cfg.dry_run:
            self._dry_last_block = block
            log.info(
                "dry run: would set weights on %d uid(s) at block %d: %s",
                len(uids),
                block,
                {u: round(weights[u], 4) for u in uids},
            )
            return weights
        await self._chain(self.chain.set_weights, uids, [weights[u] for u in uids])
        self.state.record_weights(block, weights)
        log.info("set weights on %d uid(s) at block %d", len(uids), block)
        return weights

    # ------------------------------------------------------------------ loop
    async def step(self) -> StepReport:
        """One step; never raises (errors are logged and listed in the report)."""
        t0 = time.monotonic()
        report = StepReport(step=self.state.next_step())
        try:
            block = int(await self._chain(self.chain.block))
            neurons = await self._chain(self.chain.neurons)
            report.block = block
            self.sync(neurons, report.step)
        except Exception as e:  # noqa: BLE001
            report.errors.append(f"sync: {type(e).__name__}: {e}")
            log.warning("metagraph sync failed (%s: %s); retrying next step", type(e).__name__, e)
            report.seconds = round(time.monotonic() - t0, 3)
            return report

        async def weights() -> None:
            report.weights = await self.maybe_set_weights(block)

        phases: list[tuple[str, Callable[[], Any]]] = []
        if self.config.offline:
            phases.append(("offline", lambda: self.sync_offline(block)))
        phases.append(("online", lambda: self.online(report.step, block, report)))
        phases.append(("weights", weights))
        every = self.config.maintain_every
        if every > 0 and report.step % every == every - 1:
            phases.append(("upkeep", self.maintain))
        for name, run in phases:
            try:
                await run()
            except Exception as e:
                report.errors.append(f"{name}: {type(e).__name__}: {e}")
                log.warning("%s phase failed: %s: %s", name, type(e).__name__, e, exc_info=log.isEnabledFor(10))
        report.seconds = round(time.monotonic() - t0, 3)
        if self.logger is not None:
            try:
                self.logger.log_step(report)
            except Exception:
                log.debug("step logging failed", exc_info=True)
        return report

    async def maintain(self) -> int:
        """Roll query rows past the retention up and truncate the WAL; returns the rows pruned."""
        pruned = await asyncio.to_thread(self.state.maintain, self.config.query_log_steps)
        if pruned:
            log.debug("upkeep: %d query row(s) past the last %d steps rolled up", pruned, self.config.query_log_steps)
        return pruned

    async def run(
        self,
        *,
        max_steps: int | None = None,
        stop: asyncio.Event | None = None,
        on_step: Callable[[StepReport], None] | None = None,
    ) -> RunResult:
        """Run steps until ``stop`` is set or ``max_steps`` steps ran. Each report goes to ``on_step``;
        only the count and the last one are kept (a validator runs for months)."""
        stop = stop or asyncio.Event()
        result = RunResult()
        if self.worker is not None:
            self.worker.start()
        try:
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    rep = await self.step()
                except Exception as e:
                    log.exception("step failed")
                    rep = StepReport(step=-1, errors=[f"step: {type(e).__name__}: {e}"])
                result.steps += 1
                result.steps_with_errors += bool(rep.errors)
                result.last = rep
                if on_step is not None:
                    on_step(rep)
                if max_steps is not None and result.steps >= max_steps:
                    break
                wait = self.config.step_seconds - (time.monotonic() - t0)
                if wait > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), wait)
                    except asyncio.TimeoutError:
                        pass
        finally:
            await self.drain_feedback()
            if self.worker is not None:
                self.worker.stop()
        return result

    async def drain_feedback(self, timeout: float | None = None) -> None:
        pending = list(self._feedback)
        if pending:
            await asyncio.wait(pending, timeout=timeout if timeout is not None else self.config.feedback_timeout + 2)

    def summary(self) -> dict[str, Any]:
        """State at a glance (for ``--json`` and the logs): per live uid online/offline/weight, counts."""
        emas = self.state.emas()
        live = self.live()
        offline = self.offline_scores()
        weights = self.compute_weights()
        cluster_summary = getattr(self.worker, "summary", None)  # a ClusterWorker's
        return {
            "uid": self.uid,
            "hotkey": self.hotkey,
            "netuid": self.config.netuid,
            "counts": self.state.counts(),
            "last_weights_block": self.state.last_weights_block(),
            "miners": [
                {
                    "uid": uid,
                    "hotkey": hk,
                    "online": round(emas.get(hk, 0.0), 6),
                    "offline": round(offline.get(hk, 0.0), 6),
                    "weight": round(weights.get(uid, 0.0), 6),
                    "model": (f"{self.commits[hk].repo}@{self.commits[hk].sha[:12]}" if hk in self.commits else None),
                }
                for uid, hk in sorted(live.items())
            ],
            "offline_queue": [q.sha for q in self.state.queued()],
            "offline_current": self.worker.current if self.worker else None,
            **({"offline_cluster": cluster_summary()} if cluster_summary is not None else {}),
        }


# ---------------------------------------------------------------------------------------------- wiring
class ChainAdapter:
    """:class:`ChainView` over ``bitagent_cli.chain`` (a connected ``Chain`` and the validator's wallet)."""

    def __init__(self, chain: Any, wallet: Any, netuid: int):
        from .. import chain as chain_mod

        self._chain = chain
        self._wallet = wallet
        self.netuid = netuid
        self._parse = chain_mod.parse_commitment

    def block(self) -> int:
        return int(self._chain.block)

    def neurons(self) -> list[NeuronInfo]:
        out = []
        for n in self._chain.metagraph_snapshot(self.netuid):
            axon = getattr(n, "axon", None)
            if not axon:
                ip, port = getattr(n, "axon_ip", None), getattr(n, "axon_port", None)
                axon = f"{ip}:{port}" if ip and port and str(ip) not in ("0.0.0.0", "0") else None
            out.append(
                NeuronInfo(
                    uid=int(n.uid),
                    hotkey=str(n.hotkey),
                    axon=axon or None,
                    validator_permit=bool(getattr(n, "validator_permit", False)),
                    stake=float(getattr(n, "stake", 0.0) or 0.0),
                )
            )
        return out

    def commitments(self) -> dict[str, Commit]:
        out = {}
        for hotkey, (payload, block) in self._chain.get_commitments(self.netuid).items():
            ref = self._parse(payload)
            if ref is not None and getattr(ref, "sha", None):
                out[hotkey] = Commit(hotkey, ref.repo, ref.sha, int(block))
        return out

    def weights_rate_limit(self) -> int:
        return int(self._chain.weights_rate_limit(self.netuid))

    def blocks_since_last_update(self, uid: int) -> int | None:
        v = self._chain.blocks_since_last_update(self.netuid, uid)
        return None if v is None else int(v)

    def set_weights(self, uids: list[int], weights: list[float]) -> None:
        self._chain.set_weights(self._wallet, self.netuid, uids, weights)


class WandbLogger:
    """Steps and offline results to wandb, imported lazily; any wandb failure turns logging off, once.

    ``mode`` is ``offline`` (files under ``dir``, sync later with ``wandb sync``) unless asked for
    ``online``. The project is a private one of the user's (``bitagent-validator``, or
    ``$WANDB_PROJECT``), never the subnet's public project; expected answers are never logged.
    """

    def __init__(
        self, *, mode: str, dir: str, config: Mapping[str, Any], name: str | None = None, project: str | None = None
    ):
        import os

        self.mode = mode
        self.dir = dir
        self.config = dict(config)
        self.name = name
        self.project = project or os.environ.get("WANDB_PROJECT") or "bitagent-validator"
        self._run: Any = None
        self._off = False

    def _get(self) -> Any:
        if self._off:
            return None
        if self._run is None:
            try:
                import os

                import wandb

                os.makedirs(self.dir, exist_ok=True)
                self._run = wandb.init(
                    project=self.project,
                    mode=self.mode,
                    dir=self.dir,
                    config=self.config,
                    name=self.name,
                    settings=wandb.Settings(console="off", silent=True),
                )
            except Exception as e:  # noqa: BLE001 - wandb is optional; the validator goes on without it
                self._off = True
                log.warning(
                    "wandb disabled (%s: %s); pip install 'bitagent-cli[wandb]' to log runs", type(e).__name__, e
                )
                return None
        return self._run

    def _log(self, data: Mapping[str, Any], step: int | None = None) -> None:
        run = self._get()
        if run is None:
            return
        try:
            run.log(dict(data), step=step)
        except Exception as e:  # noqa: BLE001
            self._off = True
            log.warning("wandb logging failed (%s: %s); logging turned off", type(e).__name__, e)

    def log_step(self, report: StepReport) -> None:
        scores = [q["score"] for q in report.queried.values()]
        data: dict[str, Any] = {
            "block": report.block,
            "queried": len(scores),
            "altered": int(report.altered),
            "seconds": report.seconds,
            "errors": len(report.errors),
            "online/mean_score": sum(scores) / len(scores) if scores else None,
        }
        if report.category:
            data["task_category"] = report.category
        for uid, q in report.queried.items():
            data[f"online/uid_{uid}/score"] = q["score"]
            data[f"online/uid_{uid}/latency_s"] = q["latency_s"]
            if q["error"]:
                data[f"online/uid_{uid}/error"] = q["error"]
        for uid, w in (report.weights or {}).items():
            data[f"weights/uid_{uid}"] = w
        self._log({k: v for k, v in data.items() if v is not None}, step=report.step)

    def log_offline(self, repo: str, sha: str, outcome: OfflineOutcome) -> None:
        self._log(
            {
                "offline/sha": sha[:12],
                "offline/score": outcome.score,
                "offline/status": outcome.status,
                **({"offline/error": outcome.error[:200]} if outcome.error else {}),
            }
        )

    def close(self) -> None:
        if self._run is not None:
            try:
                self._run.finish()
            except Exception:  # noqa: BLE001
                pass
            self._run = None


def state_path(settings: Mapping[str, Any], hotkey: str) -> Any:
    """``<data dir>/validator/<network>-<netuid>/<hotkey>/state.sqlite``: one file per chain and hotkey."""
    import re

    from ..config import data_dir

    net = str(settings.get("chain.endpoint") or settings["chain.network"])
    net = re.sub(r"[^A-Za-z0-9._-]+", "_", net).strip("_") or "chain"
    return data_dir(settings) / "validator" / f"{net}-{settings['chain.netuid']}" / hotkey / "state.sqlite"


def _hotkey_of(wallet: Any) -> str:
    from .. import chain as chain_mod

    addr = getattr(wallet, "ss58_address", None)  # a raw keypair signs as itself
    return addr if isinstance(addr, str) else chain_mod.hotkey_ss58(wallet)


def build_validator(
    settings: Mapping[str, Any],
    *,
    chain: Any = None,
    wallet: Any = None,
    state_file: str | None = None,
    offline: bool = True,
    dry_run: bool = False,
    wandb_mode: str | None = "offline",
    config_overrides: Mapping[str, Any] | None = None,
    task_source: Callable[[int, str], Task] | None = None,
    offline_evaluator: OfflineEvaluator | None = None,
) -> Validator:
    """The production validator: the chain and wallet from ``bitagent_cli.chain``, signed httpx queries,
    the shipped suites (``eval.suites``), the LLM alterer when ``validator.llm_base_url`` is set, the
    eval pipeline offline, wandb (``offline`` by default, ``online`` with ``--wandb``, ``None`` for none).
    ``task_source`` and ``offline_evaluator`` replace the suites and the pipeline (tests, custom setups)."""
    from pathlib import Path

    from .. import chain as chain_mod
    from .alter import TaskAlterer
    from .offline import PipelineEvaluator
    from .online import HttpMinerClient, suite_task_source

    wallet = wallet if wallet is not None else chain_mod.load_wallet(settings)
    chain = chain if chain is not None else chain_mod.connect(settings)
    hotkey = _hotkey_of(wallet)
    cfg = ValidatorConfig.from_settings(settings, offline=offline, dry_run=dry_run, **(config_overrides or {}))
    path = Path(state_file) if state_file else state_path(settings, hotkey)
    state = ValidatorState(path)
    suites = list(settings["eval.suites"])
    llm = str(settings["validator.llm_base_url"] or "")
    logger = None
    if wandb_mode:
        logger = WandbLogger(
            mode=wandb_mode,
            dir=str(path.parent / "wandb"),
            config={
                "netuid": cfg.netuid,
                "hotkey": hotkey,
                "sample_size": cfg.sample_size,
                "ema_alpha": cfg.ema_alpha,
                "online_share": cfg.online_share,
                "suites": suites,
            },
            name=f"validator-{hotkey[:8]}",
        )
    return Validator(
        ChainAdapter(chain, wallet, cfg.netuid),
        hotkey=hotkey,
        state=state,
        client=HttpMinerClient(wallet, max_tokens=int(settings["eval.max_tokens"])),
        task_source=task_source or suite_task_source(suites),
        config=cfg,
        alterer=TaskAlterer.from_base_url(llm) if llm else None,
        offline_evaluator=(
            offline_evaluator
            or PipelineEvaluator(settings, suites=suites, limit=int(settings["validator.offline_limit"]) or None)
        )
        if offline
        else None,
        logger=logger,
    )


def run_validator(
    validator: Validator, *, max_steps: int | None = None, on_step: Callable[[StepReport], None] | None = None
) -> RunResult:
    """Run the loop until ``max_steps``, SIGINT or SIGTERM (the step in progress finishes first; a second
    signal stops at once), then close the miner client and the logger (the state stays open)."""
    import signal

    async def main() -> RunResult:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        current = asyncio.current_task()

        def on_signal(sig: int) -> None:
            if stop.is_set() and current is not None:
                current.cancel()
            stop.set()
            log.info("received %s; stopping after this step", signal.Signals(sig).name)

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            return await validator.run(max_steps=max_steps, stop=stop, on_step=on_step)
        finally:
            aclose = getattr(validator.client, "aclose", None)
            if aclose is not None:
                await aclose()

    try:
        return asyncio.run(main())
    finally:
        if validator.logger is not None:
            validator.logger.close()
