"""The checks behind `bitagent doctor`: this machine for mining and validating, and what to fix.

Each check is ``ok``, ``warn`` (works, but something is missing or slow) or ``fail`` (a required
check: the miner or validator cannot run). The exit status is 1 when any required check fails.
Nothing is installed, downloaded or changed; the chain is asked for one block number with a short
timeout.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "FAIL",
    "OK",
    "WARN",
    "Check",
    "check_chain",
    "check_disk",
    "check_gpu",
    "check_llm",
    "check_pm2",
    "check_port",
    "check_python",
    "check_vllm",
    "check_wallet",
    "run_checks",
]

OK, WARN, FAIL = "ok", "warn", "fail"
MIN_PYTHON = (3, 10)


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""
    required: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------- checks
def check_python() -> Check:
    v = sys.version_info
    ver = f"{v.major}.{v.minor}.{v.micro}"
    if (v.major, v.minor) < MIN_PYTHON:
        return Check(
            "python",
            FAIL,
            f"Python {ver} at {sys.executable}",
            f"install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer",
            required=True,
        )
    try:
        own = importlib.metadata.version("bitagent-cli")
    except importlib.metadata.PackageNotFoundError:
        own = "source checkout"
    return Check("python", OK, f"Python {ver}; bitagent-cli {own}", required=True)


def _run(cmd: list[str], timeout: float = 10.0) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
        return out.stdout
    except (OSError, subprocess.SubprocessError):
        return None


def check_gpu() -> Check:
    """GPUs from nvidia-smi (no heavy import); torch's view only when torch is installed."""
    fix = (
        "validators need an NVIDIA GPU (about 24 GB for an 8B model) to evaluate submitted models; "
        "miners can serve from another machine with --openai-api-base"
    )
    smi = shutil.which("nvidia-smi")
    gpus = []
    if smi:
        out = _run([smi, "--query-gpu=name,memory.total,memory.used,driver_version", "--format=csv,noheader,nounits"])
        for line in (out or "").strip().splitlines():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) >= 4:
                gpus.append(
                    f"{parts[0]} ({int(float(parts[1])) // 1024} GiB, {int(float(parts[2])) // 1024} GiB used,"
                    f" driver {parts[3]})"
                )
    torch_note = ""
    if importlib.util.find_spec("torch") is not None:
        try:
            import torch  # lazy: optional, slow to import

            cuda = torch.cuda.is_available()
            torch_note = f"; torch {torch.__version__} sees CUDA: {'yes' if cuda else 'no'}"
            if gpus and not cuda:
                return Check(
                    "gpu",
                    WARN,
                    "; ".join(gpus) + torch_note,
                    "torch is a CPU build: reinstall torch for your CUDA version (vLLM brings its own)",
                )
        except Exception as e:  # noqa: BLE001
            torch_note = f"; torch import failed ({type(e).__name__})"
    if not gpus:
        return Check("gpu", WARN, ("nvidia-smi not found" if not smi else "nvidia-smi lists no GPU") + torch_note, fix)
    return Check("gpu", OK, "; ".join(gpus) + torch_note)


def check_vllm() -> Check:
    if importlib.util.find_spec("vllm") is None:
        return Check(
            "vllm",
            WARN,
            "vLLM is not installed: models are served with transformers (slow)",
            "pip install 'bitagent-cli[vllm]' on a machine with an NVIDIA GPU",
        )
    try:
        ver = importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        ver = "unknown version"
    return Check("vllm", OK, f"vLLM {ver} installed")


def check_port(host: str, port: int) -> Check:
    """Whether the miner's port can be bound (in use: probably a miner already running). Only miners need
    it, so it never fails the doctor."""
    bind_host = host or "0.0.0.0"
    try:
        with socket.socket(socket.AF_INET6 if ":" in bind_host else socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((bind_host, port))
    except PermissionError:
        return Check(
            "miner port",
            WARN,
            f"{bind_host}:{port} needs privileges to bind",
            "use a port above 1024: --port 8091 (miner.port)",
        )
    except OSError as e:
        return Check(
            "miner port",
            WARN,
            f"{bind_host}:{port} is in use ({e.strerror})",
            f"stop what listens there (`ss -ltnp | grep :{port}`; a miner already running?) "
            f"or pick another port: --port N",
        )
    return Check("miner port", OK, f"{bind_host}:{port} is free; open it to validators in your firewall")


def _mode_problem(path: Path) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    return f"{path.name} is mode {mode:04o}" if mode & 0o077 else None


def check_wallet(settings: Mapping[str, Any]) -> Check:
    from .chain.errors import WalletError
    from .chain.wallets import setup_command, wallet_location

    try:
        name, hotkey_name, path = wallet_location(settings)
    except WalletError as e:
        return Check("wallet", FAIL, e.message, "fix --wallet-name / --wallet-hotkey", required=True)
    base = Path(path) / name
    hotkey = base / "hotkeys" / hotkey_name
    coldpub = base / "coldkeypub.txt"
    coldkey = base / "coldkey"
    missing = [p for p in (coldpub, hotkey) if not p.is_file()]
    if missing:
        return Check(
            "wallet",
            FAIL,
            "missing " + ", ".join(str(p) for p in missing),
            f"create it with `{setup_command(name, hotkey_name, path)}` (or point --wallet-path at your wallets)",
            required=True,
        )
    loose = [p for p in (hotkey, coldkey) if p.is_file() and _mode_problem(p)]
    if loose:
        return Check(
            "wallet",
            FAIL,
            "; ".join(_mode_problem(p) or "" for p in loose) + " (readable by others)",
            "chmod 600 " + " ".join(str(p) for p in loose),
            required=True,
        )
    note = "" if coldkey.is_file() else " (no coldkey file on this machine: fine for mining and validating)"
    return Check("wallet", OK, f"{base} hotkey {hotkey_name}: files present, mode 0600{note}", required=True)


def check_disk(settings: Mapping[str, Any], data: Path) -> Check:
    need_gb = float(settings["eval.max_download_gb"]) + 10.0
    probe = data
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free_gb = shutil.disk_usage(probe).free / 1e9
    except OSError as e:
        return Check(
            "disk",
            FAIL,
            f"cannot read free space at {probe}: {e.strerror}",
            "set paths.data_dir (BITAGENT_PATHS_DATA_DIR) to a writable directory",
            required=True,
        )
    if not os.access(probe, os.W_OK):
        return Check(
            "disk", FAIL, f"{probe} is not writable", "set paths.data_dir to a writable directory", required=True
        )
    detail = f"{free_gb:.1f} GB free for {data}"
    if free_gb < 1.0:
        return Check("disk", FAIL, detail, "free some space or set paths.data_dir elsewhere", required=True)
    if free_gb < need_gb:
        return Check(
            "disk",
            WARN,
            detail + f" (a model download may take up to {need_gb - 10:.0f} GB)",
            "free space, or lower eval.max_download_gb, or move paths.data_dir and HF_HOME",
            required=True,
        )
    return Check("disk", OK, detail, required=True)


def _default_block_reader(settings: Mapping[str, Any]) -> int:
    from . import chain as chain_mod

    return int(chain_mod.connect(settings).block)


def check_chain(
    settings: Mapping[str, Any], *, timeout: float = 8.0, read_block: Callable[[Mapping[str, Any]], int] | None = None
) -> Check:
    """One block read in a thread with a deadline: an unreachable chain cannot hang the doctor."""
    read_block = read_block or _default_block_reader
    where = settings.get("chain.endpoint") or settings["chain.network"]
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["block"] = read_block(settings)
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(timeout)
    fix_local = (
        "start a local subtensor (ws://127.0.0.1:9944) or use --profile testnet"
        if str(settings["chain.network"]) == "local"
        else "check your network or the endpoint (--network / --chain-endpoint)"
    )
    if t.is_alive():
        return Check("chain", FAIL, f"{where}: no answer within {timeout:.0f}s (offline?)", fix_local, required=True)
    if "error" in box:
        e = box["error"]
        return Check(
            "chain", FAIL, f"{where}: unreachable ({type(e).__name__}: {str(e)[:160]})", fix_local, required=True
        )
    return Check("chain", OK, f"{where}: block {box['block']}, netuid {settings['chain.netuid']}", required=True)


def check_llm(settings: Mapping[str, Any], *, timeout: float = 3.0) -> Check | None:
    url = str(settings["validator.llm_base_url"] or "").rstrip("/")
    if not url:
        return None
    import httpx

    try:
        r = httpx.get(f"{url}/models", timeout=timeout)
        r.raise_for_status()
        names = [m.get("id", "?") for m in r.json().get("data", [])][:3]
        return Check("validator llm", OK, f"{url}: {', '.join(names) or 'no models listed'}")
    except Exception as e:  # noqa: BLE001
        return Check(
            "validator llm",
            WARN,
            f"{url}: unreachable ({type(e).__name__}); tasks go out unaltered",
            "start an OpenAI-compatible server there (e.g. `vllm serve <model> --port 8000`) or unset "
            "validator.llm_base_url",
        )


def check_pm2() -> Check:
    if shutil.which("pm2"):
        return Check("pm2", OK, "pm2 found (scripts/ecosystem.*.config.js)")
    return Check(
        "pm2",
        WARN,
        "pm2 not found (only needed for scripts/ecosystem.*.config.js)",
        "sudo npm install -g pm2, or run `bitagent mine` / `bitagent validate` under systemd",
    )


def run_checks(
    settings: Mapping[str, Any],
    data: Path,
    *,
    chain_timeout: float = 8.0,
    read_block: Callable[[Mapping[str, Any]], int] | None = None,
) -> list[Check]:
    checks = [
        check_python(),
        check_gpu(),
        check_vllm(),
        check_port(str(settings["miner.host"]), int(settings["miner.port"])),
        check_wallet(settings),
        check_disk(settings, data),
        check_chain(settings, timeout=chain_timeout, read_block=read_block),
    ]
    llm = check_llm(settings)
    if llm is not None:
        checks.append(llm)
    checks.append(check_pm2())
    return checks
