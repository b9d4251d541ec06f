"""Benchmark: what our chain client costs over the wire, against the recorded-chain replay on loopback.

    python benchmarks/chain_replay.py [--reads 300] [--connects 5] [--json]

The replay server (``tests/chain_replay.py``) answers from a real Bittensor node's recorded JSON-RPC replies on
127.0.0.1. Measured in the same process, interleaved:

* ``raw``: one ``state_getStorageAt`` request (the recorded ``NetworksAdded[23]`` key) sent by a plain
  websockets client and its reply parsed (the floor: loopback, JSON, the server's lookup);
* ``chain``: ``Chain.subnet_exists(23)`` through ``chain.connect({"chain.network": url})``, i.e. our retry
  wrapper, the SDK's blocking bridge onto its event-loop thread, its storage-key hashing, transport and decoder;
* ``connect cold`` / ``connect warm``: a fresh client's first read (``block``): the metadata download and
  decode (the real V15 metadata of spec 343, 96 kB hex), without and with the SDK's on-disk metadata cache.

Reported: per-read median and p90 for ``raw`` and ``chain`` and their ratio, and the connect medians. Every
count is fixed and the server is local: the run stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from chain_replay import ReplayServer  # noqa: E402

from bitagent_cli import chain  # noqa: E402

KEY = "0x658faa385070e074c85bf6b568cf05550e30450fc4d507a846032a7fa65d9a431700"  # NetworksAdded[23]


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=300)
    ap.add_argument("--connects", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from websockets.sync.client import connect as ws_connect

    tmp = tempfile.mkdtemp(prefix="bitagent-replay-bench-")
    os.environ["HOME"] = tmp
    out: dict[str, float | int] = {"reads": args.reads}
    with ReplayServer("subnet_exists") as srv:
        cold, warm = [], []
        for i in range(args.connects):
            for bucket, cache in ((cold, f"{tmp}/cold{i}"), (warm, f"{tmp}/warm")):
                os.environ["BITTENSOR_RUNTIME_CACHE_DIR"] = cache
                t = time.perf_counter()
                with chain.connect({"chain.network": srv.url}) as c:
                    assert c.block > 0
                bucket.append(time.perf_counter() - t)
        raw: list[float] = []
        via_chain: list[float] = []
        with ws_connect(srv.url) as ws, chain.connect({"chain.network": srv.url}) as c:
            assert c.subnet_exists(23) is True
            for i in range(args.reads):
                t = time.perf_counter()
                ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "state_getStorageAt", "params": [KEY, None]}))
                assert json.loads(ws.recv())["result"] == "0x01"
                raw.append(time.perf_counter() - t)
                t = time.perf_counter()
                assert c.subnet_exists(23) is True
                via_chain.append(time.perf_counter() - t)
        missing = srv.missing
        served = sum(1 for e in srv.log if e.method == "state_getStorageAt" and e.params[0] == KEY)
    # every timed read reached the server (no cache in between), and nothing but connect-time probes was missing
    assert served == 2 * args.reads + 1, served
    assert all(m.startswith("state_getKeysPaged") for m in missing), missing
    out.update(
        raw_p50_ms=statistics.median(raw) * 1e3,
        raw_p90_ms=_pct(raw, 0.9) * 1e3,
        chain_p50_ms=statistics.median(via_chain) * 1e3,
        chain_p90_ms=_pct(via_chain, 0.9) * 1e3,
        ratio_p50=statistics.median(via_chain) / statistics.median(raw),
        connect_cold_ms=statistics.median(cold) * 1e3,
        connect_warm_ms=statistics.median(warm) * 1e3,
        missing_replies=len(missing),
    )
    if args.json:
        print(json.dumps(out))
        return
    print(f"reads: {args.reads} each, interleaved; connects: {args.connects} each")
    print(f"raw websocket request   p50 {out['raw_p50_ms']:.3f} ms   p90 {out['raw_p90_ms']:.3f} ms")
    print(f"Chain.subnet_exists     p50 {out['chain_p50_ms']:.3f} ms   p90 {out['chain_p90_ms']:.3f} ms")
    print(f"ratio chain/raw (p50)   {out['ratio_p50']:.1f}x")
    print(f"connect + first read    cold {out['connect_cold_ms']:.1f} ms   warm cache {out['connect_warm_ms']:.1f} ms")
    print(f"requests the recordings could not answer (connect-time token symbols): {out['missing_replies']}")


if __name__ == "__main__":
    main()
