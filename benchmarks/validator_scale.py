#!/usr/bin/env python3
"""How the validator's memory, step time and state file scale with the number of miners, and how they
grow with the number of steps (a validator runs for months).

    python benchmarks/validator_scale.py [--miners 16,64,256,1024] [--steps 300] [--warm 50]
                                         [--synchronous NORMAL] [--modes before,after]

The real ``Validator`` and ``ValidatorState`` (SQLite on disk) over stand-in chain and miners
(tests/soak_fakes.py: N miners, N commitments half of them copies, a quarter scored, the rest queued;
``--sample`` miners queried per step, weights set every other step). Two modes run in this process, one
after the other, for each N:

* ``before``: the code as it was before the long-run fixes, emulated here: every step's report kept in a
  list (what ``Validator.run`` returned), the query log never pruned, the WAL never truncated
  (``journal_size_limit`` off), and the offline phase as it was (an upsert per commitment and a
  transaction per queued sha, every step);
* ``after``: the code as it is (``run`` keeps the last report; upkeep every 50 steps keeps 200 steps of
  query rows, rolls the rest up and truncates the WAL; one transaction per phase).

Reported per (N, mode): median and p95 step time, SQLite transactions per step, RSS growth per 1,000 steps
after the warm-up, the state file (database + WAL) at the end, and the ratios after/before and to N=16.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # run from a checkout; the stand-ins live with the tests

from soak_fakes import make_validator, rss_bytes  # noqa: E402 (after the sys.path insert)

from bitagent_cli.neurons.weights import first_committers  # noqa: E402 (after the sys.path insert)


def _old_sync_offline(v):
    """The offline phase before this change: one upsert per commitment, then one transaction per sha."""

    async def sync_offline(block: int) -> None:
        raw = v.chain.commitments()
        registered = {n.hotkey: n.uid for n in v.neurons}
        v.commits = {hk: c for hk, c in raw.items() if hk in registered}
        with v.state._tx() as db:
            for hk, c in v.commits.items():
                db.execute(
                    "INSERT INTO commit_seen(hotkey, sha, repo, first_block) VALUES(?, ?, ?, ?) "
                    "ON CONFLICT(hotkey, sha) DO UPDATE SET first_block=MIN(first_block, excluded.first_block)",
                    (hk, c.sha, c.repo, int(c.block)),
                )
        owners = first_committers(v.commits.values(), v.state.first_seen(), registered)
        v._wanted = set(owners)
        done = v.state.offline_scores()
        for sha, hk in owners.items():
            if sha not in done:
                v.state.enqueue(sha, v.commits[hk].repo, v.commits[hk].block)

    return sync_offline


def run_one(n: int, mode: str, *, steps: int, warm: int, sample: int, synchronous: str, tmp: Path) -> dict:
    before = mode == "before"
    v, _ = make_validator(
        n,
        tmp / f"{mode}-{n}.sqlite",
        sample_size=sample,
        rate_limit=2,
        query_log_steps=0 if before else 200,
        maintain_every=0 if before else 50,
        synchronous=synchronous,
    )
    if before:
        v.state._db.execute("PRAGMA journal_size_limit=-1")
        v.sync_offline = _old_sync_offline(v)
    tx = [0]
    v.state._db.set_trace_callback(lambda sql: tx.__setitem__(0, tx[0] + (sql == "BEGIN IMMEDIATE")))
    kept: list = []
    times: list[float] = []
    marks: dict[str, tuple[int, int]] = {}
    last = [time.perf_counter()]

    def on_step(r) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now
        if before:
            kept.append(r)  # what run() used to return
        if r.step == warm - 1:
            marks["warm"] = (rss_bytes(), tx[0])

    gc.collect()
    last[0] = time.perf_counter()
    result = asyncio.run(v.run(max_steps=steps, on_step=on_step))
    rss_end = rss_bytes()
    assert result.steps == steps and result.steps_with_errors == 0, result.last and result.last.errors
    rss_warm, tx_warm = marks["warm"]
    out = {
        "miners": n,
        "mode": mode,
        "steps": steps,
        "step_ms_median": round(statistics.median(times[warm:]) * 1000, 2),
        "step_ms_p95": round(sorted(times[warm:])[int(0.95 * (steps - warm)) - 1] * 1000, 2),
        "tx_per_step": round((tx[0] - tx_warm) / (steps - warm), 2),
        "rss_growth_kb_per_1000_steps": round((rss_end - rss_warm) / 1024 / (steps - warm) * 1000, 1),
        "rss_mb": round(rss_end / 2**20, 1),
        "state_kb": round(v.state.size_bytes() / 1024, 1),
        "query_rows": v.state.counts()["queries"],
    }
    v.state.close()
    kept.clear()
    gc.collect()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--miners", default="16,64,256,1024")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warm", type=int, default=50)
    ap.add_argument("--sample", type=int, default=10)
    ap.add_argument(
        "--synchronous",
        default="NORMAL",
        choices=["OFF", "NORMAL", "FULL"],
        help="SQLite synchronous for both modes (production uses FULL: an fsync per transaction)",
    )
    ap.add_argument("--modes", default="before,after")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ns = [int(x) for x in args.miners.split(",")]
    modes = args.modes.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for n in ns:
            for mode in modes:
                row = run_one(
                    n,
                    mode,
                    steps=args.steps,
                    warm=args.warm,
                    sample=args.sample,
                    synchronous=args.synchronous,
                    tmp=Path(d),
                )
                rows.append(row)
                if not args.json:
                    print(json.dumps(row), flush=True)
    by = {(r["miners"], r["mode"]): r for r in rows}
    base = by.get((ns[0], "after"))
    for r in rows:
        b = by.get((r["miners"], "before"))
        if r["mode"] == "after" and b:
            r["step_time_vs_before"] = round(r["step_ms_median"] / b["step_ms_median"], 3)
            r["tx_vs_before"] = round(r["tx_per_step"] / b["tx_per_step"], 3) if b["tx_per_step"] else None
            r["state_vs_before"] = round(r["state_kb"] / b["state_kb"], 3)
        if r["mode"] == "after" and base:
            r["step_time_vs_n16"] = round(r["step_ms_median"] / base["step_ms_median"], 2)
    if args.json:
        print(json.dumps({"rows": rows, "steps": args.steps, "synchronous": args.synchronous}))
        return
    print(
        f"\n{args.steps} steps per run ({args.warm} warm-up), {args.sample} miners queried per step, "
        f"synchronous={args.synchronous}"
    )
    print(
        f"{'N':>5} {'mode':>6} {'step ms':>8} {'p95':>7} {'tx/step':>7} {'RSS KB/1k steps':>15} "
        f"{'state KB':>9} {'after/before':>22} {'vs N=16':>7}"
    )
    for r in rows:
        ratio = f"time {r['step_time_vs_before']:.2f} tx {r['tx_vs_before']:.2f}" if "step_time_vs_before" in r else ""
        print(
            f"{r['miners']:>5} {r['mode']:>6} {r['step_ms_median']:>8} {r['step_ms_p95']:>7} {r['tx_per_step']:>7} "
            f"{r['rss_growth_kb_per_1000_steps']:>15} {r['state_kb']:>9} {ratio:>22} "
            f"{r.get('step_time_vs_n16', ''):>7}"
        )


if __name__ == "__main__":
    main()
