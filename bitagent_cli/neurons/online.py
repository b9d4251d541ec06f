"""The validator's online half: pick a task and a sample of miners, query them, score the answers.

Everything a step chooses is a function of ``(block, validator hotkey)``, so a step can be reproduced
(and audited) from the chain's block number alone:

* :func:`sample_uids`: ``k`` uids drawn uniformly among the serving ones,
* :func:`pick_task`: one task from the configured suites,
* :func:`wire_id`: the opaque id the miner sees (never the suite's own id, which would let a miner look
  the expected answer up in the public data).

:class:`HttpMinerClient` sends signed requests (``protocol.build_signed``) with httpx and never raises:
a miner that times out, refuses, dies mid-request or returns garbage gives a :class:`MinerAnswer` with
an ``error``, which scores 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..tasks import Task

__all__ = [
    "HttpMinerClient",
    "MinerAnswer",
    "MinerClient",
    "pick_task",
    "sample_uids",
    "score_answer",
    "seed_of",
    "suite_task_source",
    "wire_id",
]

log = logging.getLogger(__name__)


def seed_of(*parts: Any) -> int:
    """A stable 64-bit seed from the parts (``hash()`` is salted per process; this is not)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def sample_uids(serving: Sequence[int], k: int, *, block: int, hotkey: str) -> list[int]:
    """``k`` uids drawn uniformly without replacement from ``serving``, seeded by (block, hotkey)."""
    pool = sorted(set(int(u) for u in serving))
    if k <= 0 or not pool:
        return []
    rng = random.Random(seed_of("sample", block, hotkey))
    return sorted(rng.sample(pool, min(k, len(pool))))


def pick_task(tasks_by_suite: dict[str, Sequence[Task]], *, block: int, hotkey: str) -> Task:
    """One task, chosen by (block, hotkey): a suite uniformly among the non-empty ones, then a task in it."""
    suites = sorted(name for name, tasks in tasks_by_suite.items() if tasks)
    if not suites:
        raise ValueError("no tasks to pick from; check eval.suites")
    rng = random.Random(seed_of("task", block, hotkey))
    tasks = tasks_by_suite[rng.choice(suites)]
    return tasks[rng.randrange(len(tasks))]


def suite_task_source(suites: Sequence[str]) -> Callable[[int, str], Task]:
    """``(block, hotkey) -> Task`` over the shipped suites (loaded once, lazily)."""
    cache: dict[str, Sequence[Task]] = {}

    def source(block: int, hotkey: str) -> Task:
        if not cache:
            from ..tasks.suites import load_suite

            for name in suites:
                cache[name] = load_suite(name)
        return pick_task(cache, block=block, hotkey=hotkey)

    return source


def wire_id(task: Task, *, step: int, block: int, hotkey: str) -> str:
    """The opaque task id sent to miners (16 hex digits)."""
    return hashlib.sha256(f"{task.id}:{step}:{block}:{hotkey}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class MinerAnswer:
    """What one miner answered; ``error`` set (a short code) when there is no usable answer."""

    text: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    latency_s: float = 0.0
    error: str | None = None
    status: int | None = None
    model: str = ""


class MinerClient(Protocol):
    async def query(self, axon: str, hotkey: str, task: Task, *, task_id: str, timeout: float) -> MinerAnswer: ...

    async def feedback(
        self,
        axon: str,
        hotkey: str,
        *,
        task_id: str,
        score: float,
        correct: bool,
        error: str | None,
        feedback: str,
        timeout: float,
    ) -> bool: ...


def _url(axon: str, path: str) -> str:
    axon = axon.strip()
    if not axon.startswith(("http://", "https://")):
        axon = "http://" + axon
    return axon.rstrip("/") + path


class HttpMinerClient:
    """Signed httpx requests to miners (``POST /v1/query``, ``POST /v1/feedback``).

    ``signer`` is the validator's wallet or keypair (its hotkey signs); one pooled client serves every
    miner. Responses larger than ``max_response_bytes`` are refused as garbage.
    """

    def __init__(self, signer: Any, *, max_tokens: int | None = None, max_response_bytes: int = 1_000_000):
        import httpx

        self._signer = signer
        self.max_tokens = max_tokens
        self.max_response_bytes = max_response_bytes
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64), follow_redirects=False
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def query(self, axon: str, hotkey: str, task: Task, *, task_id: str, timeout: float) -> MinerAnswer:
        import httpx

        from .protocol import QUERY_PATH, ProtocolError, QueryRequest, QueryResponse, build_signed, parse_body

        t0 = time.monotonic()
        try:
            req = QueryRequest.from_task(task, task_id=task_id, max_tokens=self.max_tokens)
            headers, body = build_signed(self._signer, hotkey, QUERY_PATH, req)
            request = self._client.build_request(
                "POST", _url(axon, QUERY_PATH), content=body, headers=headers, timeout=timeout
            )
            r = await self._client.send(request, stream=True)
            try:
                status, content = r.status_code, await self._read_capped(r)
            finally:
                await r.aclose()
        except httpx.TimeoutException:
            return MinerAnswer(latency_s=time.monotonic() - t0, error="timeout")
        except httpx.HTTPError as e:
            return MinerAnswer(latency_s=time.monotonic() - t0, error=f"unreachable: {type(e).__name__}")
        latency = time.monotonic() - t0
        if status != 200:
            return MinerAnswer(latency_s=latency, error=f"http_{status}", status=status)
        if content is None:
            return MinerAnswer(latency_s=latency, error="response_too_large", status=status)
        try:
            resp = parse_body(QueryResponse, content)
        except ProtocolError as e:
            return MinerAnswer(latency_s=latency, error=f"bad_response: {e.code}", status=status)
        if resp.task_id != task_id:
            return MinerAnswer(latency_s=latency, error="wrong_task_id", status=status)
        try:  # arguments nested just under json's limit can still exhaust json.dumps' stack
            calls = [c.to_call().to_openai() for c in resp.tool_calls]
        except (RecursionError, ValueError, TypeError):
            return MinerAnswer(latency_s=latency, error="bad_response: bad_json", status=status)
        return MinerAnswer(
            text=resp.response or None, tool_calls=calls or None, latency_s=latency, status=status, model=resp.model
        )

    async def _read_capped(self, r: Any) -> bytes | None:
        """The body, or None once it passes ``max_response_bytes`` (a miner cannot flood our memory)."""
        chunks, size = [], 0
        async for chunk in r.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def feedback(
        self,
        axon: str,
        hotkey: str,
        *,
        task_id: str,
        score: float,
        correct: bool,
        error: str | None,
        feedback: str,
        timeout: float,
    ) -> bool:
        from .protocol import FEEDBACK_PATH, FeedbackRequest, build_signed

        try:
            req = FeedbackRequest(task_id=task_id, score=score, correct=correct, error=error, feedback=feedback)
            headers, body = build_signed(self._signer, hotkey, FEEDBACK_PATH, req)
            r = await self._client.post(_url(axon, FEEDBACK_PATH), content=body, headers=headers, timeout=timeout)
            return r.status_code == 200
        except Exception as e:  # noqa: BLE001 - feedback is best effort
            log.debug("feedback to %s failed: %s", hotkey, e)
            return False


@dataclass(frozen=True, slots=True)
class Scored:
    score: float
    correct: bool
    error: str | None
    feedback: str


def score_answer(task: Task, answer: MinerAnswer, scorer: Callable[..., Any] | None = None) -> Scored:
    """Score one answer with the scoring engine; a transport error or a scorer failure scores 0."""
    if answer.error:
        return Scored(0.0, False, answer.error, f"no usable answer: {answer.error}")
    try:
        from ..scoring import Response

        if scorer is None:
            from ..scoring import score_task

            scorer = score_task
        result = scorer(task, Response(id=task.id, text=answer.text, tool_calls=answer.tool_calls))
        score = float(result.score)
        score = min(1.0, max(0.0, score)) if math.isfinite(score) else 0.0
        return Scored(score, bool(result.correct), result.error, result.feedback or "")
    except Exception as e:  # noqa: BLE001 - garbage must never stop the step
        log.warning("scoring failed for task %s: %s: %s", task.id, type(e).__name__, e)
        return Scored(0.0, False, "scoring_error", "the answer could not be scored")


async def query_all(
    client: MinerClient, targets: Sequence[tuple[int, str, str]], task: Task, *, task_id: str, timeout: float
) -> dict[int, MinerAnswer]:
    """Query ``(uid, hotkey, axon)`` targets concurrently; every uid gets an answer (an error at worst)."""

    async def one(uid: int, hotkey: str, axon: str) -> MinerAnswer:
        try:
            return await asyncio.wait_for(
                client.query(axon, hotkey, task, task_id=task_id, timeout=timeout), timeout + 1.0
            )
        except asyncio.TimeoutError:
            return MinerAnswer(latency_s=timeout, error="timeout")
        except Exception as e:  # noqa: BLE001 - a broken miner client must not stop the step
            return MinerAnswer(error=f"client_error: {type(e).__name__}")

    answers = await asyncio.gather(*(one(u, h, a) for u, h, a in targets))
    return {uid: ans for (uid, _, _), ans in zip(targets, answers, strict=False)}
