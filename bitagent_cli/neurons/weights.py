"""From scores to weights: the pure part of the validator (no I/O, no chain).

* ``offline_by_hotkey``: each hotkey's offline score from its committed ``repo@sha``; a sha committed by
  several hotkeys scores once, for the first committer by commitment block (ties: the lower uid, then
  the hotkey), and the later committers of the same sha get 0. With ``fingerprints`` (``sha -> weights
  fingerprint``) the same holds for the same *weights* under different repos or shas.
* ``final_scores``: ``online_share * online EMA + (1 - online_share) * offline`` per live uid.
* ``normalise``: weights proportional to the scores over live uids only (dead or deregistered uids get
  nothing); all zero gives no weights at all rather than an even split.
* ``weights_due``: whether the chain's rate limit allows setting weights now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Commit", "final_scores", "first_committers", "normalise", "offline_by_hotkey", "weights_due"]


@dataclass(frozen=True, slots=True)
class Commit:
    """A hotkey's current commitment: the model it submitted and the block it was committed at."""

    hotkey: str
    repo: str
    sha: str
    block: int


def first_committers(
    commits: Iterable[Commit],
    first_seen: Mapping[tuple[str, str], int] | None = None,
    uid_of: Mapping[str, int] | None = None,
    fingerprints: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``sha -> hotkey`` of the first committer among the hotkeys committing it now.

    ``first_seen`` (``(hotkey, sha) -> block``, from the state) keeps a miner's priority when it commits
    the same sha again at a later block. Ties on block go to the lower uid, then the smaller hotkey.
    With ``fingerprints`` the keys are the weights' fingerprints (a sha without one is its own key): the
    shas holding the same weights are one model, and a miner keeps its priority when it commits its
    weights again under a new sha.
    """
    first_seen = first_seen or {}
    uid_of = uid_of or {}
    fingerprints = fingerprints or {}

    def key_of(sha: str) -> str:
        return fingerprints.get(sha) or sha

    seen: dict[tuple[str, str], int] = {}
    for (hk, sha), b in first_seen.items():
        hk_key = (hk, key_of(sha))
        seen[hk_key] = min(b, seen.get(hk_key, b))
    best: dict[str, tuple[int, int, str]] = {}
    for c in commits:
        k = key_of(c.sha)
        block = min(c.block, seen.get((c.hotkey, k), c.block))
        rank = (block, uid_of.get(c.hotkey, 1 << 30), c.hotkey)
        if k not in best or rank < best[k]:
            best[k] = rank
    return {k: rank[2] for k, rank in best.items()}


def offline_by_hotkey(
    commits: Iterable[Commit],
    offline_scores: Mapping[str, float],
    first_seen: Mapping[tuple[str, str], int] | None = None,
    uid_of: Mapping[str, int] | None = None,
    fingerprints: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Each committing hotkey's offline score: its sha's cached score if it is the first committer, else 0.

    A sha without a result yet (queued, being evaluated) scores 0 until it has one: a pending model must
    not earn anything, or re-committing new shas would keep a miner at a free score forever. With
    ``fingerprints`` a copy of another hotkey's weights (another repo or sha) is not the first committer.
    """
    commits = list(commits)
    fingerprints = fingerprints or {}
    owners = first_committers(commits, first_seen, uid_of, fingerprints)
    out: dict[str, float] = {}
    for c in commits:
        score = offline_scores.get(c.sha)
        owner = owners.get(fingerprints.get(c.sha) or c.sha)
        out[c.hotkey] = _clip01(score) if (score is not None and owner == c.hotkey) else 0.0
    return out


def final_scores(
    live: Mapping[int, str], online: Mapping[str, float], offline: Mapping[str, float], *, online_share: float = 0.5
) -> dict[int, float]:
    """``uid -> online_share * EMA + (1 - online_share) * offline`` for the live ``uid -> hotkey`` map.

    A hotkey with no EMA or no offline score contributes 0 for that part.
    """
    if not 0.0 <= online_share <= 1.0:
        raise ValueError(f"online_share must be within [0, 1], got {online_share}")
    return {
        uid: online_share * _clip01(online.get(hk, 0.0)) + (1.0 - online_share) * _clip01(offline.get(hk, 0.0))
        for uid, hk in live.items()
    }


def normalise(scores: Mapping[int, float]) -> dict[int, float]:
    """Weights proportional to the scores (negative and non-finite count as 0); ``{}`` when all are 0."""
    clean = {uid: (s if math.isfinite(s) and s > 0 else 0.0) for uid, s in scores.items()}
    total = sum(clean.values())
    if total <= 0:
        return {}
    return {uid: s / total for uid, s in sorted(clean.items())}


def weights_due(
    block: int, *, rate_limit: int, blocks_since_last_update: int | None = None, last_weights_block: int | None = None
) -> bool:
    """True when setting weights now would pass the chain's ``weights_rate_limit``.

    Both the chain's own count (``blocks_since_last_update`` of our uid) and the block we last set
    weights at (from the state, which survives a restart when the chain read fails) must allow it.
    """
    rate_limit = max(0, int(rate_limit))
    if blocks_since_last_update is not None and blocks_since_last_update < rate_limit:
        return False
    if last_weights_block is not None and 0 <= block - last_weights_block < rate_limit:  # < 0: another chain
        return False
    return True


def _clip01(x: float) -> float:
    if x is None or not math.isfinite(x):
        return 0.0
    return min(1.0, max(0.0, float(x)))
