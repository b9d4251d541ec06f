"""vLLM's CPU build for real (the vLLM stage of .ci/run; see conftest.py): both reference models evaluated
with ``--backend vllm``, SmolLM2's answers identical to the transformers backend's, Ctrl-C during start-up and
during requests leaving no process, and a server that dies at start reported with its real cause.

Every test starts real servers (vLLM takes ~45-75 s to start on 2 cores), so they are few and bounded by
the number of tasks; nothing waits on a sleep: each waits for a state it can see (a process, a stored
answer) up to a generous deadline.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bitagent_cli.serving.process import pid_alive

pytestmark = [pytest.mark.vllm_cpu, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SUITES = ("bfcl", "glaive", "bitagent")
BITAGENT = [sys.executable, "-m", "bitagent_cli"]
START_DEADLINE = 600.0  # seconds for a vLLM start on a busy 2-core machine (measured: 45-75 s)


def _suite_args(limit: int) -> list[str]:
    out = []
    for s in SUITES:
        out += ["--suite", s]
    return [*out, "--limit", str(limit)]


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, pgid, cmdline) for every live (non-zombie) process."""
    table = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        rest = stat[stat.rfind(")") + 2 :].split()
        if rest[0] in ("Z", "X"):
            continue
        table[int(d.name)] = (int(rest[1]), int(rest[2]), cmd)
    return table


def _descendants(root: int) -> dict[int, str]:
    table = _proc_table()
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _, cmd) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = cmd
                frontier.append(pid)
    return found


def _all_gone(pids, timeout: float = 60.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if pid_alive(p)]
        if not left:
            return []
        time.sleep(0.2)
    return [p for p in pids if pid_alive(p)]


def _cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [*BITAGENT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(REPO),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **kw,
    )


def test_vllm_cpu_build_is_installed_and_run_through_its_module():
    """Fails (never skips) when the stage's venv lacks vLLM: the stage exists to run it."""
    import torch
    import vllm  # noqa: F401

    from bitagent_cli.serving.backends import VLLM_API_MODULE, VLLM_BOUNDED_MODULE, gpu_available, vllm_command

    assert importlib.metadata.version("vllm-cpu").startswith("0.32")
    assert "+cpu" in torch.__version__ and not gpu_available()
    assert vllm_command() == [sys.executable, "-m", VLLM_BOUNDED_MODULE, VLLM_API_MODULE]


def test_builtin_tiny_with_vllm(tmp_path):
    """builtin:tiny (head size 32, which the CPU attention takes) through vLLM on every suite."""
    n = 2 * len(SUITES)
    proc = _cli(
        "eval-model", "builtin:tiny", "--backend", "vllm", *_suite_args(2), "--max-tokens", "16", "--no-cache", "--json"
    )
    out, err = proc.communicate(timeout=START_DEADLINE + 300)
    assert proc.returncode == 0, err[-3000:]
    rep = json.loads(out)
    assert rep["status"] == "ok" and rep["backend"] == "vllm" and rep["total"] == n
    assert rep["completed"] == n and rep["request_errors"] == 0, rep
    assert {s["name"] for s in rep["suites"]} == set(SUITES)
    assert rep["startup_s"] > 0 and rep["settings"]["concurrency"] == 8


def test_builtin_smollm2_vllm_answers_match_transformers():
    """Greedy float32: the two backends give SmolLM2-135M-Instruct's same answer to every task."""
    from bitagent_cli._evaluate import evaluate
    from bitagent_cli.config import load_settings

    settings = load_settings(
        "local", {"eval.dtype": "float32", "eval.request_timeout": 900.0, "eval.startup_timeout": START_DEADLINE}
    )
    reports = {}
    for backend in ("vllm", "transformers"):
        reports[backend] = evaluate(
            "builtin:smollm2",
            suites=list(SUITES),
            settings=settings,
            backend=backend,
            limit=3,
            max_tokens=96,
            use_cache=False,
        )
    v, t = reports["vllm"], reports["transformers"]
    assert v.status == t.status == "ok" and v.total == t.total == 3 * len(SUITES)
    assert v.request_errors == t.request_errors == 0
    assert v.prompt_mode == t.prompt_mode  # the same requests went to both

    def answers(rep):
        return {
            (o.suite, o.id): (
                o.text or "",
                json.dumps([(c.get("name"), c.get("arguments")) for c in (o.tool_calls or [])], default=str),
            )
            for o in rep.outcomes
        }

    av, at = answers(v), answers(t)
    assert av.keys() == at.keys()
    differ = {k: (av[k], at[k]) for k in av if av[k] != at[k]}
    assert not differ, json.dumps({f"{k[0]}/{k[1]}": d for k, d in differ.items()}, indent=1)[:4000]
    assert any(text for text, _ in av.values())  # a real model says something
    assert [o.correct for o in v.outcomes] == [o.correct for o in t.outcomes]


def test_ctrl_c_during_start_up_leaves_no_process():
    """SIGINT while vLLM loads (its engine process exists, /health not yet up): every process goes."""
    proc = _cli(
        "eval-model", "builtin:tiny", "--backend", "vllm", "--suite", "bfcl", "--limit", "2", "--no-cache", "--json"
    )
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            seen.update(_descendants(proc.pid))
            if any("EngineCore" in c or "VLLM" in c for c in seen.values()):
                break
            time.sleep(0.1)
        assert any("vllm" in c.lower() for c in seen.values()), seen
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = _all_gone(list(seen))
    for p in left:  # never leak, even when failing
        os.kill(p, signal.SIGKILL)
    assert proc.returncode == 130, (out, err[-3000:])
    assert not left, {p: seen[p] for p in left}


def test_ctrl_c_during_requests_leaves_no_process(stage_data_dir):
    """SIGINT once answers are being stored: the run is recorded as interrupted, no server process is left."""
    from bitagent_cli.config import load_settings
    from bitagent_cli.store import ResultStore, default_path

    db = default_path(load_settings("local"))
    before = 0
    if db.exists():
        with ResultStore(db) as store:
            before = store.count()
    proc = _cli(
        "eval-model",
        "builtin:tiny",
        "--backend",
        "vllm",
        *_suite_args(30),
        "--max-tokens",
        "512",
        "--no-cache",
        "--json",
    )
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + START_DEADLINE + 300
        answered = False
        while time.monotonic() < deadline and not answered:
            assert proc.poll() is None, proc.communicate()
            seen.update(_descendants(proc.pid))
            if db.exists():
                with ResultStore(db) as store:
                    answered = store.count() > before
            time.sleep(0.2)
        assert answered, "no answer was stored"
        seen.update(_descendants(proc.pid))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = _all_gone(list(seen))
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert proc.returncode == 130, (out, err[-3000:])
    assert "interrupted" in err and not left, {p: seen[p] for p in left}
    with ResultStore(db) as store:
        assert store.runs()[0]["status"] == "interrupted"


def _run_to_the_end(*args: str) -> tuple[subprocess.Popen, str, str, dict[int, str]]:
    proc = _cli(*args)
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + START_DEADLINE + 300
        while proc.poll() is None and time.monotonic() < deadline:
            seen.update(_descendants(proc.pid))
            time.sleep(0.2)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc, out, err, seen


def _one_line_with_cause(err: str, cause: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:") or "exited" in ln]
    assert lines, err[-3000:]
    msg = lines[-1]
    assert cause in msg, err[-3000:]
    assert "resource_tracker" not in err and "Traceback" not in err, err[-3000:]
    assert err.count("log: ") + err.count("; log ") == 1, err  # the log path once
    return msg


def test_server_that_dies_at_start_is_reported_with_its_cause(monkeypatch):
    """A KV cache too small for one request: vLLM's engine raises during start-up and the API server exits;
    the error quotes the engine's exception (not the API server's follow-on or a warning), the log path once."""
    monkeypatch.setenv("BITAGENT_EVAL_KV_CACHE_BYTES", "65536")
    proc, out, err, seen = _run_to_the_end(
        "eval-model", "builtin:tiny", "--backend", "vllm", "--suite", "bfcl", "--limit", "1", "--no-cache"
    )
    assert proc.returncode == 1, (out, err[-3000:])
    msg = _one_line_with_cause(err, "vllm serve exited during start-up")
    assert "ValueError" in msg and "KV cache" in msg, msg
    assert "Engine core initialization failed" not in msg
    log = Path(msg.split("log: ", 1)[1].split(")", 1)[0])
    assert log.is_file()
    assert not _all_gone(list(seen))


def test_server_that_dies_during_the_run_is_reported_with_its_cause(tmp_path):
    """A model whose head size (16) vLLM's CPU attention cannot run: it starts, then its worker dies on the
    first request; the error quotes the worker's exception and the log path once, and nothing is left."""
    from bitagent_cli.serving.tiny import make_tiny_model

    model = make_tiny_model(tmp_path / "head16-model")
    cfg = json.loads((model / "config.json").read_text())
    # Same tensor shapes (4 x 16 = 2 x 32 query, 2 x 16 = 1 x 32 key/value), head size 16.
    cfg.update(num_attention_heads=4, num_key_value_heads=2, head_dim=16)
    (model / "config.json").write_text(json.dumps(cfg))
    proc, out, err, seen = _run_to_the_end(
        "eval-model", str(model), "--backend", "vllm", "--suite", "bfcl", "--limit", "1", "--no-cache"
    )
    assert proc.returncode == 1, (out, err[-3000:])
    msg = _one_line_with_cause(err, "during the run")
    assert "Unsupported CPU attention configuration: head_dim=16" in msg, msg
    assert not _all_gone(list(seen))


def test_a_hostile_template_branch_is_a_400_and_vllm_keeps_serving(tmp_path):
    """Issue 18's second layer on real vLLM: a template whose hostile branch vetting's sample conversations
    never take (`'x' * 3e9` when the user says "boom") is vetted clean, then served by the vllm backend (which
    runs vLLM behind the bounded compile, serving/vllm_bounded.py): that request is a 400 naming the size
    limit, at once, and the requests before and after it are answered."""
    import httpx

    from bitagent_cli.serving.backends import start_server
    from bitagent_cli.serving.tiny import make_tiny_model
    from bitagent_cli.serving.vetting import vet_model

    model = make_tiny_model(tmp_path / "hostile-branch")
    jinja = model / "chat_template.jinja"
    branch = "{% if messages[-1]['content'] == 'boom' %}{{ 'x' * (3000000000 + messages|length) }}{% endif %}"
    jinja.write_text(branch + jinja.read_text())
    vet_model(str(model), max_params_b=1, max_download_gb=1)  # the branch is not on vetting's samples: clean
    with start_server(str(model), backend="vllm", log_dir=tmp_path) as server:
        url = server.base_url + "/chat/completions"

        def ask(content: str) -> httpx.Response:
            body = {"model": server.model_name, "messages": [{"role": "user", "content": content}], "max_tokens": 4}
            return httpx.post(url, json=body, timeout=300)

        assert ask("hi").status_code == 200
        t0 = time.monotonic()
        r = ask("boom")
        assert r.status_code == 400 and "limit: size" in r.text, r.text[:500]
        assert time.monotonic() - t0 < 60  # refused before it allocates (3 GB unbounded), not after
        assert ask("hi again").status_code == 200
