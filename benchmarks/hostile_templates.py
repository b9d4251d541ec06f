#!/usr/bin/env python3
"""Hostile chat templates (issue 18) before and after vetting's bounded render, attack by attack.

    python benchmarks/hostile_templates.py [--json] [--before-cap-gib 1.5] [--before-cpu-s 20]

A miner ships its own chat template, rendered on every request. For each attack template
(``ATTACKS``, the same ones tests/test_serving_chat_template.py refuses):

- **before**: rendered as the servers rendered it before this change (transformers' own
  ``ImmutableSandboxedEnvironment`` via its ``_cached_compile_jinja_template``, on the full
  tool-calling conversation) in a child process that this benchmark caps so the machine survives:
  address space = what the child holds after importing transformers + ``--before-cap-gib``, CPU
  ``--before-cpu-s``, and a wall-clock watchdog. The outcome is what happened within those caps;
  without them the string attacks allocate 3 GB+ on every request and the loops never end.
- **after**: ``vetting.run_template_child``, exactly what ``vet_model``/``vet_local`` run (the bounded
  sandbox in a child capped at 1 GiB and 5 s CPU): the outcome is the refusal's limit.
- **serving**: the same template through the bounded sandbox in this process (what hf_server does on
  a request): time to the TemplateLimit.

Each row: attack, before outcome / wall s / child peak RSS MB, after outcome / wall s / child peak RSS
MB, serving s. A baseline in the same run: the real templates (tiny, ChatML, Qwen2.5- and
Llama-3.1-style) rendered 200 times in transformers' sandbox and in the bounded one, with the ratio
(the cost of the bounds on honest templates). Not a test: figures for benchmarks/RESULTS.md.
``run_attacks()`` returns the rows (the lead merges it into benchmarks/hostile_models.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(ROOT / "tests"))  # the real-style templates and the attacks live with their tests

# The renderer as it was: transformers' sandbox, no bounds. Reads the same JSON as serving/chat_template.py.
BEFORE_CHILD = r"""
import json, resource, sys, time
req = json.loads(sys.stdin.read())
try:
    from transformers.utils.chat_template_utils import _cached_compile_jinja_template as compile_
    how = "transformers"
except Exception:  # an older transformers: the same environment, built as it builds it
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    compile_ = env.from_string
    how = "jinja2"
vm = 0
for line in open("/proc/self/status"):
    if line.startswith("VmSize:"):
        vm = int(line.split()[1]) * 1024
cap = vm + int(req["memory_bytes"])
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
resource.setrlimit(resource.RLIMIT_CPU, (int(req["cpu_s"]), int(req["cpu_s"]) + 1))
conv = req["conversation"]
out = {"renderer": how}
t0 = time.monotonic()
try:
    for name, src in req["templates"].items():
        text = compile_(src).render(**conv)
    out.update(ok=True, outcome=f"rendered {len(text):,} chars")
except MemoryError:
    out.update(ok=False, outcome="MemoryError at the benchmark's cap")
except RecursionError:
    out.update(ok=False, outcome="RecursionError")
except Exception as e:
    out.update(ok=False, outcome=f"{type(e).__name__}: {str(e)[:80]}")
out["render_s"] = round(time.monotonic() - t0, 3)
out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        out["vmhwm_kb"] = int(line.split()[1])
print(json.dumps(out), flush=True)
"""


def _conversation() -> dict[str, Any]:
    from bitagent_cli.serving import chat_template as ct

    _, messages, _ = ct.CONVERSATIONS[1]
    return {
        "messages": messages,
        "tools": ct.TOOLS,
        "documents": None,
        "add_generation_prompt": True,
        "bos_token": "<s>",
        "eos_token": "</s>",
    }


def _before(template: str, cap_bytes: int, cpu_s: int, watchdog_s: float) -> dict[str, Any]:
    from bitagent_cli.serving import vetting

    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "before_child.py"
        script.write_text(BEFORE_CHILD)
        r = vetting.run_template_child(
            {"t": template},
            {},
            memory_bytes=cap_bytes,
            cpu_s=cpu_s,
            timeout_s=watchdog_s,
            start_s=30.0,
            script=script,
            extra={"conversation": _conversation()},
        )
    if r.get("outcome") is None:
        if r.get("killed_after") is not None:
            r["outcome"] = f"killed by the watchdog at {r['killed_after']:.0f} s"
        elif r.get("signal"):
            r["outcome"] = f"killed by {r['signal']} (CPU cap {cpu_s} s)"
        else:
            r["outcome"] = f"exit {r.get('returncode')}: {r.get('stderr_tail', '')[:80]}"
    return r


def _after(template: str) -> dict[str, Any]:
    from bitagent_cli.serving import vetting

    r = vetting.run_template_child(
        {"t": template}, {}, memory_bytes=vetting.TEMPLATE_MEMORY_BYTES, cpu_s=vetting.TEMPLATE_CPU_S
    )
    try:
        vetting._TEMPLATE_VERDICTS.clear()
        vetting.vet_chat_templates("model", {"t": template}, {})
        r["refusal"] = None
    except vetting.ModelRefused as e:
        r["refusal"] = str(e)
    # the verdict is vetting's (the refusal), the label says what stopped the child: a limit it reported, or the
    # signal that ended it (the time attack races its 5 s render clock against the 5 s CPU cap: SIGXCPU may win)
    stopped = r.get("limit") if r.get("ok") is False else r.get("signal") or "crash"
    r["outcome"] = f"refused ({stopped})" if r["refusal"] else "accepted"
    return r


def _serving(template: str) -> tuple[str, float]:
    import jinja2

    from bitagent_cli.serving import chat_template as ct

    t0 = time.monotonic()
    try:
        ct.compile_template(template).render(**_conversation())
        what = "rendered"
    except ct.TemplateLimit as e:
        what = f"TemplateLimit ({e.limit})"
    except jinja2.exceptions.SecurityError:
        what = "SecurityError (sandbox)"
    except RecursionError:
        what = "RecursionError"
    return what, round(time.monotonic() - t0, 3)


def run_attacks(*, before: bool = True, before_cap_gib: float = 1.5, before_cpu_s: int = 20) -> list[dict]:
    """One dict per attack: name, outcome (after), wall_s (to the refusal), peak_rss_mb (the vetting child),
    before_outcome / before_wall_s / before_peak_rss_mb (when ``before``), serving, serving_s."""
    from test_serving_chat_template import ATTACKS

    rows = []
    for name, (template, _limit) in ATTACKS.items():
        after = _after(template)
        row: dict[str, Any] = {
            "attack": name,
            "outcome": after["outcome"],
            "wall_s": after["wall_s"],
            "peak_rss_mb": round((after.get("maxrss_kb") or 0) / 1024, 1),
            "refusal": after.get("refusal"),
        }
        row["serving"], row["serving_s"] = _serving(template)
        if before:
            b = _before(template, int(before_cap_gib * (1 << 30)), before_cpu_s, float(before_cpu_s) + 5)
            row.update(
                before_outcome=b["outcome"],
                before_wall_s=b["wall_s"],
                before_peak_rss_mb=round((b.get("maxrss_kb") or 0) / 1024, 1),
            )
        rows.append(row)
    return rows


def honest_overhead(repeat: int = 200) -> list[dict]:
    """Real templates: transformers' sandbox vs the bounded one, same process, same conversation."""
    from test_serving_chat_template import REAL
    from transformers.utils.chat_template_utils import _cached_compile_jinja_template as reference

    from bitagent_cli.serving import chat_template as ct

    conv = _conversation()
    out = []
    for name, src in REAL.items():
        theirs, ours = reference(src), ct.compile_template(src)
        try:
            expected = theirs.render(**conv)
        except Exception:  # noqa: BLE001 - a template that refuses this shape (no system role): a bare user turn
            conv = {**conv, "messages": ct.CONVERSATIONS[2][1]}
            expected = theirs.render(**conv)
        assert ours.render(**conv) == expected, name
        base = bounded = 0.0
        for _ in range(repeat // 10):  # interleaved rounds: a busy machine slows both alike
            t = time.perf_counter()
            for _ in range(10):
                theirs.render(**conv)
            base += time.perf_counter() - t
            t = time.perf_counter()
            for _ in range(10):
                ours.render(**conv)
            bounded += time.perf_counter() - t
        conv = _conversation()
        out.append(
            {
                "template": name,
                "transformers_ms": round(base / repeat * 1000, 3),
                "bounded_ms": round(bounded / repeat * 1000, 3),
                "ratio": round(bounded / base, 2),
            }
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-before", action="store_true", help="skip the unbounded renders (the slow part)")
    ap.add_argument("--before-cap-gib", type=float, default=1.5)
    ap.add_argument("--before-cpu-s", type=int, default=20)
    args = ap.parse_args()
    rows = run_attacks(before=not args.no_before, before_cap_gib=args.before_cap_gib, before_cpu_s=args.before_cpu_s)
    honest = honest_overhead()
    if args.json:
        print(json.dumps({"attacks": rows, "honest": honest}, indent=1))
        return 0
    print(
        f"{'attack':20} | {'before (capped)':44} {'s':>6} {'MB':>6} | {'after (vetting)':24} {'s':>5} {'MB':>5} "
        f"| serving s"
    )
    for r in rows:
        print(
            f"{r['attack']:20} | {r.get('before_outcome', '-')[:44]:44} {r.get('before_wall_s', 0):6.2f} "
            f"{r.get('before_peak_rss_mb', 0):6.0f} | {r['outcome'][:24]:24} {r['wall_s']:5.2f} "
            f"{r['peak_rss_mb']:5.0f} | {r['serving_s']:.3f}"
        )
    print()
    print(f"{'honest template':16} {'transformers ms':>16} {'bounded ms':>11} {'ratio':>6}")
    for h in honest:
        print(f"{h['template']:16} {h['transformers_ms']:16.3f} {h['bounded_ms']:11.3f} {h['ratio']:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
