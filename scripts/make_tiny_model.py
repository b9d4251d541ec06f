#!/usr/bin/env python3
"""Build the tiny random Llama used by the tests and the README's demo (offline, about a second).

python scripts/make_tiny_model.py ./tiny-model
bitagent eval-model ./tiny-model
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from bitagent_cli.serving.tiny import make_tiny_model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dest", nargs="?", default="tiny-model", help="directory to write (default: ./tiny-model)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    path = make_tiny_model(Path(args.dest), seed=args.seed)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
