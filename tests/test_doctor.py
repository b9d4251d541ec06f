"""`bitagent doctor`: every check on its own, and the command's table, JSON and exit status."""

from __future__ import annotations

import json
import socket
import time

import pytest

from bitagent_cli import doctor
from bitagent_cli.config import load_settings


def make_wallet(root, name="cold", hotkey="hot", mode=0o600, coldkey=True):
    base = root / name
    (base / "hotkeys").mkdir(parents=True)
    (base / "coldkeypub.txt").write_text('{"ss58Address": "5x"}')
    hk = base / "hotkeys" / hotkey
    hk.write_text("{}")
    hk.chmod(mode)
    if coldkey:
        ck = base / "coldkey"
        ck.write_text("encrypted")
        ck.chmod(0o600)
    return base


def settings(tmp_path, **over):
    values = {"wallet.path": str(tmp_path / "wallets"), "wallet.name": "cold", "wallet.hotkey": "hot"}
    values.update(over)
    return load_settings("local", values)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_python_check_passes_here():
    c = doctor.check_python()
    assert c.status == "ok" and c.required


def test_wallet_present_and_private(tmp_path):
    make_wallet(tmp_path / "wallets")
    c = doctor.check_wallet(settings(tmp_path))
    assert c.status == "ok", c


def test_wallet_missing_says_how_to_create_it(tmp_path):
    c = doctor.check_wallet(settings(tmp_path))
    assert c.status == "fail" and "wallet-setup" in c.fix and "hotkeys/hot" in c.detail


def test_wallet_mode_too_open(tmp_path):
    base = make_wallet(tmp_path / "wallets", mode=0o644)
    c = doctor.check_wallet(settings(tmp_path))
    assert c.status == "fail" and "0644" in c.detail and f"chmod 600 {base / 'hotkeys' / 'hot'}" in c.fix


def test_wallet_bad_name(tmp_path):
    c = doctor.check_wallet(settings(tmp_path, **{"wallet.name": "../etc"}))
    assert c.status == "fail" and "invalid wallet name" in c.detail


def test_port_free_and_busy():
    port = free_port()
    assert doctor.check_port("127.0.0.1", port).status == "ok"
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        c = doctor.check_port("127.0.0.1", port)
    assert c.status == "warn" and "in use" in c.detail and "--port" in c.fix


def test_chain_reachable_unreachable_and_hanging(tmp_path):
    s = settings(tmp_path)
    assert doctor.check_chain(s, read_block=lambda _: 4242).detail.startswith("local: block 4242")

    def refuse(_):
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    c = doctor.check_chain(s, read_block=refuse)
    assert c.status == "fail" and "unreachable" in c.detail and "local subtensor" in c.fix

    t0 = time.monotonic()
    c = doctor.check_chain(s, timeout=0.5, read_block=lambda _: time.sleep(30))
    assert c.status == "fail" and "offline?" in c.detail and time.monotonic() - t0 < 3


def test_disk(tmp_path):
    c = doctor.check_disk(settings(tmp_path), tmp_path / "not" / "yet" / "created")
    assert c.status in ("ok", "warn") and "GB free" in c.detail


def _no_torch(monkeypatch):
    real = doctor.importlib.util.find_spec
    monkeypatch.setattr(
        doctor.importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )


def test_gpu_missing_is_a_warning_with_the_fix(monkeypatch):
    _no_torch(monkeypatch)
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    c = doctor.check_gpu()
    assert (c.status, c.detail) == ("warn", "nvidia-smi not found") and "--openai-api-base" in c.fix
    assert not c.required  # optional: a miner can serve from another machine


def test_gpu_listed_by_nvidia_smi(monkeypatch, tmp_path):
    _no_torch(monkeypatch)
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'NVIDIA H100 80GB HBM3, 81559, 1024, 550.54'\n")
    smi.chmod(0o755)
    monkeypatch.setattr(doctor.shutil, "which", lambda name: str(smi))
    c = doctor.check_gpu()
    assert c.status == "ok" and c.detail == "NVIDIA H100 80GB HBM3 (79 GiB, 1 GiB used, driver 550.54)"
    smi.write_text("#!/bin/sh\nexit 9\n")  # a broken driver lists nothing
    c = doctor.check_gpu()
    assert (c.status, c.detail) == ("warn", "nvidia-smi lists no GPU")


def test_vllm_installed_or_not(monkeypatch):
    monkeypatch.setattr(doctor.importlib.util, "find_spec", lambda name, *a: None)
    c = doctor.check_vllm()
    assert c.status == "warn" and "not installed" in c.detail and "[vllm]" in c.fix
    monkeypatch.setattr(doctor.importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setattr(doctor.importlib.metadata, "version", lambda name: "0.9.1")
    c = doctor.check_vllm()
    assert (c.status, c.detail) == ("ok", "vLLM 0.9.1 installed")


def test_llm_check_only_when_configured(tmp_path):
    assert doctor.check_llm(settings(tmp_path)) is None
    c = doctor.check_llm(
        settings(tmp_path, **{"validator.llm_base_url": f"http://127.0.0.1:{free_port()}/v1"}), timeout=1
    )
    assert c.status == "warn" and "unaltered" in c.detail


@pytest.fixture
def chain_ok(monkeypatch):
    monkeypatch.setattr(doctor, "_default_block_reader", lambda s: 77)


@pytest.mark.slow
def test_command_json_ok(tmp_path, run_cli, chain_ok):
    make_wallet(tmp_path / "wallets")
    code, out, _ = run_cli("doctor", "--json", "--wallet-path", str(tmp_path / "wallets"), "-w", "cold", "-H", "hot")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True, doc
    names = [c["name"] for c in doc["checks"]]
    assert names[:7] == ["python", "gpu", "vllm", "miner port", "wallet", "disk", "chain"]
    assert all({"name", "status", "detail", "fix", "required"} <= set(c) for c in doc["checks"])


def test_command_fails_on_a_required_check(tmp_path, run_cli, chain_ok):
    code, out, _ = run_cli("doctor", "--json", "--wallet-path", str(tmp_path / "nowhere"))
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert next(c for c in doc["checks"] if c["name"] == "wallet")["status"] == "fail"


def test_command_table(tmp_path, run_cli, monkeypatch):
    def refuse(_):
        raise OSError("connection refused")

    monkeypatch.setattr(doctor, "_default_block_reader", refuse)
    make_wallet(tmp_path / "wallets")
    code, out, _ = run_cli("doctor", "--wallet-path", str(tmp_path / "wallets"), "-w", "cold", "-H", "hot")
    assert code == 1
    assert "FAIL" in out and "not ready: fix chain first." in out
