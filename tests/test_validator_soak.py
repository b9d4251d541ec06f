"""A validator that runs for months, compressed: 2,000 steps at 256 miners (stand-ins from tests/soak_fakes.py,
no sleeps) with the real loop and the real SQLite state. Its memory must stay flat after a warm-up and its
state file bounded: ``Validator.run`` keeps only the last report, the query log is rolled up past the
retention and the WAL is truncated.

Measured when this was written (same machine, same fakes): keeping every report and never pruning, RSS grew
22 MB between steps 200 and 2,000 and the state file reached 6.6 MB (growing); now RSS grows < 0.1 MB
and the file stays at ~0.8 MB."""

from __future__ import annotations

import asyncio

import pytest
from soak_fakes import make_validator, rss_bytes

N, STEPS, WARM = 256, 2000, 200
KEEP_STEPS, EVERY = 500, 50


@pytest.mark.slow
def test_2000_steps_at_256_miners_flat_memory_and_bounded_state(tmp_path):
    if not rss_bytes():
        pytest.skip("no /proc/self/statm: RSS cannot be read on this platform")
    v, chain = make_validator(
        N, tmp_path / "state.sqlite", sample_size=10, rate_limit=2, query_log_steps=KEEP_STEPS, maintain_every=EVERY
    )
    marks: dict[int, tuple[int, int]] = {}
    errors: list[str] = []

    def on_step(r):
        errors.extend(r.errors)
        if r.step in (WARM - 1, STEPS // 2 - 1, STEPS - 1):
            marks[r.step] = (rss_bytes(), v.state.size_bytes())

    result = asyncio.run(v.run(max_steps=STEPS, on_step=on_step))
    assert result.steps == STEPS and result.steps_with_errors == 0 and not errors, errors[:5]
    assert result.last is not None and result.last.step == STEPS - 1 and result.last.committed

    (rss_warm, _), (_, size_mid), (rss_end, size_end) = (marks[WARM - 1], marks[STEPS // 2 - 1], marks[STEPS - 1])
    assert rss_end - rss_warm < 4 * 2**20, f"RSS grew {(rss_end - rss_warm) / 2**20:.1f} MB after warm-up"
    assert size_end <= size_mid * 1.25 + 64 * 1024, (size_mid, size_end)
    assert size_end < 2 * 2**20, f"state file {size_end / 2**20:.1f} MB"

    c = v.state.counts()
    assert c["steps"] <= KEEP_STEPS + EVERY and c["queries"] <= (KEEP_STEPS + EVERY) * 10
    assert c["queries"] + c["queries_rolled_up"] == STEPS * 10  # nothing lost: pruned rows are rolled up
    assert sum(r["n"] for r in v.state.rollup().values()) == c["queries_rolled_up"]
    assert v.state.next_step() == STEPS and chain.set_calls  # weights kept being set
    v.state.close()
