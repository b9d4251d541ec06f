#!/usr/bin/env python3
"""BFCL's own ``bfcl generate`` / ``bfcl evaluate`` and our ``eval-model``, pointed at one server, compared.

    python benchmarks/bfcl_e2e.py --model-dir DIR --bfcl-venv .venv-bfcl [--limit 16] [--seed 0]
                                  [--generation bfcl] [--threads 2] [--json]

One of our transformers servers (``serving/hf_server.py``, float32) serves the model under two names: the
one ``eval-model`` asks for and the local path BFCL's OSS handler sends; ``--log-prompts`` writes every
prompt exactly as the model is given it (after the chat template). Then:

1. ``evaluate()`` (what ``bitagent eval-model --backend endpoint`` runs) on ``--limit`` tasks of the bfcl
   suite, one request at a time, with ``--generation`` (default ``bfcl``: BFCL's temperature 0.001 and
   4,096 tokens, so both tools ask for the same thing);
2. the same task ids through BFCL's CLI in the private venv ``--bfcl-venv`` (a full
   ``pip install bfcl-eval==2026.3.23 soundfile``): the model is registered with BFCL's
   ``QuickTestingOSSHandler`` (prompt mode, the model's own chat template, ``/v1/completions``), then
   ``bfcl generate --run-ids --skip-server-setup --local-model-path DIR --num-threads 1`` and
   ``bfcl evaluate --partial-eval``.

Reported: prompts identical (the text the model got, and its token count), the sampling settings each
sent, answers identical, and the scores: eval-model's, BFCL's, and our checker (``--rules bfcl``) on BFCL's
raw answers against BFCL's verdicts. Not a test: figures for benchmarks/RESULTS.md ("BFCL prompts").
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

NAME = "SmolLM2-135M-Instruct"

_DRIVER = textwrap.dedent(
    """
    import sys
    from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING, ModelConfig
    from bfcl_eval.model_handler.local_inference.quick_testing_oss import QuickTestingOSSHandler

    MODEL_CONFIG_MAPPING[sys.argv[1]] = ModelConfig(
        model_name=sys.argv[1], display_name=sys.argv[1], url="", org="", license="",
        model_handler=QuickTestingOSSHandler, input_price=None, output_price=None,
        is_fc_model=False, underscore_to_dot=False,
    )
    from bfcl_eval.__main__ import cli

    sys.argv = ["bfcl", *sys.argv[2:]]
    cli()
    """
)


def _system_prompt_head() -> str:
    from bitagent_cli.serving.client import BFCL_SYSTEM_PROMPT

    return BFCL_SYSTEM_PROMPT.split("{functions}")[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    import httpx

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server was not healthy within {timeout:g} s")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", required=True, help="the model directory (e.g. builtin:smollm2's)")
    ap.add_argument("--bfcl-venv", required=True, help="a venv with the full bfcl-eval 2026.3.23 install")
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0, help="which tasks --limit takes")
    ap.add_argument("--generation", default="bfcl", choices=("bfcl", "bitagent"))
    ap.add_argument("--threads", type=int, default=2, help="torch threads of the server")
    ap.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help="the server caps every answer at this many tokens, whoever asks (both tools ask for 4,096 with "
        "--generation bfcl; SmolLM2 at 0.001 often runs that long, minutes per task on a busy CPU)",
    )
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per request")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", default=None, help="keep the work directory here (logs, BFCL's result files)")
    args = ap.parse_args(argv)

    from bitagent_cli._evaluate import GENERATIONS, evaluate
    from bitagent_cli.scoring import Response, score_task
    from bitagent_cli.tasks import load_suite

    model_dir = str(Path(args.model_dir).resolve())
    work = Path(args.keep or tempfile.mkdtemp(prefix="bfcl-e2e-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "prompts.jsonl"
    if not (work / "results.sqlite").exists():  # else eval-model's answers come from that cache, their prompts
        log.unlink(missing_ok=True)  # from this log (a rerun with the same --keep redoes only BFCL's side)
    port = free_port()
    server_argv = [sys.executable, "-m", "bitagent_cli.serving.hf_server", "--model", model_dir]
    server_argv += ["--port", str(port), "--served-model-name", NAME, model_dir, "--log-prompts", str(log)]
    server_argv += ["--threads", str(args.threads), "--max-model-len", "8192", "--seed", "0"]
    server_argv += ["--parent-pid", str(os.getpid())]  # gone with us, even when we are killed
    if args.max_new_tokens:
        server_argv += ["--max-new-tokens", str(args.max_new_tokens)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(work / "server.log", "w") as server_log:
        proc = subprocess.Popen(server_argv, stdout=server_log, stderr=subprocess.STDOUT, env=env)
    out: dict[str, Any] = {"generation": args.generation, "limit": args.limit, "seed": args.seed}
    out["server_max_new_tokens"] = args.max_new_tokens
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc, 600)
        base = f"http://127.0.0.1:{port}/v1"

        # 1. eval-model
        t0 = time.monotonic()
        rep = evaluate(
            NAME,
            settings={"eval.request_timeout": args.timeout},
            backend="endpoint",
            base_url=base,
            suites=["bfcl"],
            limit=args.limit,
            seed=args.seed,
            concurrency=1,
            generation=args.generation,
            store=work / "results.sqlite",
        )
        out["eval_model_s"] = round(time.monotonic() - t0, 1)
        ours = read_jsonl(log)
        n_ours = len(ours)
        from bitagent_cli._evaluate import PROBE_MESSAGES

        probe = str(PROBE_MESSAGES[-1]["content"])
        ours = [x for x in ours if probe not in x["prompt"]]  # the endpoint-identity probe, not a task
        tasks = {t.id: t for t in load_suite("bfcl")}
        outcome = {o.id: o for o in rep.outcomes}
        bfcl_ids = {tid: tasks[tid].meta["bfcl_id"] for tid in outcome}
        out["prompt_mode"] = rep.prompt_mode  # False when every answer came from the cache (nothing sent)
        out["eval_model_cached"] = rep.cached
        system = _system_prompt_head()
        out["eval_model_prompts_in_bfcl_prompt_mode"] = sum(1 for x in ours if system in x["prompt"])
        out["eval_model_correct"] = rep.correct

        # 2. bfcl generate + evaluate on the same ids
        by_cat: dict[str, list[str]] = {}
        for tid, bid in bfcl_ids.items():
            by_cat.setdefault(tasks[tid].meta["bfcl_category"], []).append(bid)
        (work / "test_case_ids_to_generate.json").write_text(json.dumps(by_cat))
        driver = work / "bfcl_driver.py"
        driver.write_text(_DRIVER)
        py = str(Path(args.bfcl_venv).resolve() / "bin" / "python")
        benv = {**env, "BFCL_PROJECT_ROOT": str(work), "LOCAL_SERVER_ENDPOINT": "127.0.0.1"}
        benv["LOCAL_SERVER_PORT"] = str(port)
        temperature = GENERATIONS[args.generation]["temperature"]
        gen = [py, str(driver), NAME, "generate", "--model", NAME, "--run-ids", "--skip-server-setup"]
        gen += ["--local-model-path", model_dir, "--num-threads", "1", "--include-input-log"]
        gen += ["--temperature", str(temperature), "--allow-overwrite"]
        t0 = time.monotonic()
        with open(work / "bfcl_generate.log", "w") as fh:
            rc = subprocess.run(gen, env=benv, cwd=work, stdout=fh, stderr=subprocess.STDOUT).returncode
        out["bfcl_generate_s"] = round(time.monotonic() - t0, 1)
        if rc != 0:
            raise SystemExit(f"bfcl generate failed (code {rc}); see {work / 'bfcl_generate.log'}")
        ev = [py, str(driver), NAME, "evaluate", "--model", NAME, "--test-category", ",".join(by_cat)]
        ev += ["--partial-eval"]
        with open(work / "bfcl_evaluate.log", "w") as fh:
            rc = subprocess.run(ev, env=benv, cwd=work, stdout=fh, stderr=subprocess.STDOUT).returncode
        if rc != 0:
            raise SystemExit(f"bfcl evaluate failed (code {rc}); see {work / 'bfcl_evaluate.log'}")
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    theirs = read_jsonl(log)[n_ours:]
    results: dict[str, dict[str, Any]] = {}
    for f in (work / "result").rglob("*_result.json"):
        for r in read_jsonl(f):
            results[r["id"]] = r
    failed: set[str] = set()
    scored: set[str] = set()
    for f in (work / "score").rglob("*_score.json"):
        rows = read_jsonl(f)
        failed.update(r["id"] for r in rows[1:] if "id" in r)
        scored.update(c for c in by_cat if f.name == f"BFCL_v4_{c}_score.json")
    our_prompts = {x["prompt"]: x for x in ours}
    rows = []
    for tid, bid in bfcl_ids.items():
        r = results.get(bid, {})
        formatted = ((r.get("inference_log") or [{}])[0].get("content") or {}).get("formatted_prompt")
        mine = our_prompts.get(formatted) if isinstance(formatted, str) else None
        bfcl_text = r.get("result") if isinstance(r.get("result"), str) else None
        o = outcome[tid]
        checker = score_task(tasks[tid], Response(tid, bfcl_text, None), "bfcl").correct if bfcl_text else None
        rows.append(
            {
                "id": tid,
                "prompt_identical": mine is not None,
                "tokens_identical": mine is not None
                and any(t["prompt"] == formatted and t["prompt_tokens"] == mine["prompt_tokens"] for t in theirs),
                "answer_identical": bfcl_text is not None and bfcl_text == o.text,
                "eval_model": o.correct,
                "bfcl": bid not in failed if bfcl_text is not None else None,
                "our_checker_on_bfcl": checker,
            }
        )
    out["rows"] = rows
    out["tasks"] = len(rows)
    for k in ("prompt_identical", "tokens_identical", "answer_identical", "eval_model", "bfcl"):
        out[k] = sum(1 for r in rows if r[k])
    out["checker_agrees"] = sum(1 for r in rows if r["our_checker_on_bfcl"] == r["bfcl"])
    out["sampling"] = {
        "eval_model": sorted({(x["temperature"], x["max_tokens"], json.dumps(x["params"])) for x in ours}),
        "bfcl": sorted({(x["temperature"], x["max_tokens"], json.dumps(x["params"])) for x in theirs}),
    }
    out["work_dir"] = str(work)
    if args.json:
        print(json.dumps(out, indent=1, default=str))
        return 0
    n = out["tasks"]
    cap = f", server cap {args.max_new_tokens} tokens" if args.max_new_tokens else ""
    print(f"{n} tasks, generation {args.generation}{cap}, eval-model prompt mode: {out['prompt_mode']}")
    print(f"eval-model prompts with BFCL's system prompt: {out['eval_model_prompts_in_bfcl_prompt_mode']}/{n}")
    print(f"prompts identical (text): {out['prompt_identical']}/{n}; token counts too: {out['tokens_identical']}/{n}")
    print(f"answers identical: {out['answer_identical']}/{n}")
    print(f"correct: eval-model {out['eval_model']}/{n}, bfcl {out['bfcl']}/{n}")
    print(f"our checker (--rules bfcl) on BFCL's answers agrees with BFCL: {out['checker_agrees']}/{n}")
    print(f"time: eval-model {out['eval_model_s']} s, bfcl generate {out['bfcl_generate_s']} s")
    for side, s in out["sampling"].items():
        print(f"sent by {side}: (temperature, max_tokens after the cap, other fields) {s}")
    for r in rows:
        if not (r["prompt_identical"] and r["answer_identical"] and r["eval_model"] == r["bfcl"]):
            print("  differs:", r)
    print("work dir:", work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
