"""What the weights fingerprint costs when vetting a local directory (issue 10).

``python benchmarks/vetting_fingerprint.py [--mb 512] [--shards 2]`` writes a model directory whose
safetensors shards hold ``--mb`` MB of random bytes in all, then times, in the same process:

- ``baseline``: the pre-issue-10 local identity (headers plus 16 sampled 64 KB slices per file);
- ``vet_local``: the current ``vet_local`` (every header validated, every shard hashed in full, each
  JSON parsed), first run (cold memo) and again (the per-process memo: no rehash);
- ``sha256``: plain hashlib over the same bytes (the floor).

It prints MB/s, the ratios to the baseline and to plain sha256, and the time extrapolated to a 16 GB
(8B parameters in BF16) model. The files are read from the page cache after the first pass, so disk
speed is not measured: on a real first download the disk, not the hash, is usually the limit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bitagent_cli.serving import vetting


def write_model(root: Path, mb: int, shards: int) -> Path:
    d = root / "m"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "llama"}))
    per = mb * 1024 * 1024 // shards // 2 * 2
    wm = {}
    for i in range(shards):
        name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        raw = json.dumps({f"t{i}": {"dtype": "BF16", "shape": [per // 2], "data_offsets": [0, per]}}).encode()
        with (d / name).open("wb") as f:
            f.write(struct.pack("<Q", len(raw)) + raw)
            left = per
            while left:
                n = min(left, 8 << 20)
                f.write(os.urandom(n))
                left -= n
        wm[f"t{i}"] = name
    (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": wm}))
    return d


def old_identity(d: Path) -> str:
    """The pre-issue-10 local sha: headers and 16 evenly spaced 64 KB slices of each indexed shard."""
    digest = hashlib.sha256()
    for p in sorted(d.glob("*.safetensors")):
        size = p.stat().st_size
        with p.open("rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            digest.update(p.name.encode() + b"\0" + f.read(n))
            start, span = 8 + n, size - 8 - n
            for i in range(16):
                f.seek(start + (span - 65536) * i // 15)
                digest.update(f.read(65536))
    return digest.hexdigest()


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=512)
    ap.add_argument("--shards", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = write_model(Path(tmp), args.mb, args.shards)
        files = sorted(d.glob("*.safetensors"))
        total = sum(p.stat().st_size for p in files)

        def plain() -> None:
            for p in files:
                h = hashlib.sha256()
                with p.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)

        def cold() -> None:
            vetting._HASHES.clear()
            vetting.vet_local(d)

        plain()  # warm the page cache
        t_base = timed(lambda: old_identity(d))
        t_plain = timed(plain)
        t_cold = timed(cold)
        t_warm = timed(lambda: vetting.vet_local(d))

        def mbs(t: float) -> float:
            return total / t / 1e6

        print(f"model: {total / 1e6:.0f} MB in {len(files)} shards")
        print(f"baseline (sampled)   {t_base * 1e3:9.1f} ms  ({mbs(t_base):8.0f} MB/s)")
        print(f"sha256 (floor)       {t_plain * 1e3:9.1f} ms  ({mbs(t_plain):8.0f} MB/s)")
        print(
            f"vet_local, cold      {t_cold * 1e3:9.1f} ms  ({mbs(t_cold):8.0f} MB/s)  "
            f"x{t_cold / t_base:.0f} baseline, x{t_cold / t_plain:.2f} sha256; "
            f"16 GB model ~{16e9 / mbs(t_cold) / 1e6:.0f} s"
        )
        print(f"vet_local, memoised  {t_warm * 1e3:9.1f} ms  x{t_warm / t_base:.1f} baseline")


if __name__ == "__main__":
    main()
