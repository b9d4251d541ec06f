"""Model vetting: decide whether a model may be downloaded and served, before doing either.

``vet_model("org/name[@rev]")`` asks the Hub (one ``model_info`` call, plus the small
``model.safetensors.index.json`` when there is one; no weights) and ``vet_model("./dir")`` reads the
directory; both apply the same rules (docs/vetting.md lists them with the attacks they stop):

- the reference resolves to one commit (hub: the sha of ``revision``; local: ``local:<hash>`` of the
  weights' fingerprint, config and tokenizer files);
- safetensors only: any file in another weight format (``REFUSED_WEIGHT_SUFFIXES``: pickle ``.bin .pt
  .pth .pth.tar .ckpt``..., and ``.gguf .onnx .h5 .msgpack .tflite .ot``...) refuses the model;
- every ``.safetensors`` file is a weight file: all of them are counted and fingerprinted, and a
  ``model.safetensors.index.json`` must name exactly the ``.safetensors`` files present (no more, no
  fewer), so no loader (transformers prefers ``model.safetensors``, vLLM follows the index) can load
  weights that were not counted;
- the parameter count from the safetensors headers is at most ``max_params_b`` billion; each header is
  validated as strictly as the safetensors library does (so it cannot fail only at server start);
- no custom code: ``auto_map``/``custom_pipelines``/``trust_remote_code: true`` in config.json (or
  tokenizer_config.json), the Hub's ``custom_code`` tag, or a PEFT ``adapter_config.json`` (which makes
  transformers fetch another, unvetted base model) refuses the model; nothing is loaded with
  ``trust_remote_code``;
- a local directory holds only regular files inside it: no symlink out (or loop), no hard link, no
  FIFO; JSON is parsed with bounded size and depth;
- the files that would be downloaded (weights, JSON, tokenizer files, templates) fit in ``max_download_gb``;
- the license (self-declared on the model card) is reported, not judged.

``VetResult.fingerprint`` identifies the weights: a sha256 over the sorted sha256 content hashes of all
``.safetensors`` files (see :func:`weights_fingerprint`). For a hub model it comes from the Hub's file
metadata (no download); for a directory each file is hashed once. A refusal is ``ModelRefused`` with
one line that says why and what to do. ``download_model`` fetches exactly the vetted files at the
vetted sha, vets the result again on disk and checks it has the fingerprint the Hub announced.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import json
import math
import os
import re
import stat
import struct
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ALLOW_PATTERNS",
    "REFUSED_WEIGHT_SUFFIXES",
    "ModelRefused",
    "ModelUnavailable",
    "VetResult",
    "download_model",
    "local_fingerprint",
    "parse_ref",
    "read_safetensors_header",
    "remote_fingerprint",
    "vet_local",
    "vet_model",
    "weights_fingerprint",
]

# What download_model fetches: weights, configs, tokenizer files, chat templates. Nothing else.
ALLOW_PATTERNS = ["*.safetensors", "*.json", "*.model", "*.txt", "*.jinja", "README.md"]

#: Every weight format but safetensors, in one place. A repo or directory holding any of them is
#: refused, whatever its name or folder (the strict rule: a model is safetensors and nothing else).
#: Pickle-based ones run code when loaded; the others can be loaded by some runtime and would escape
#: the parameter count and the fingerprint. None of them matches ALLOW_PATTERNS either, so they are
#: never downloaded.
REFUSED_WEIGHT_SUFFIXES = (
    # pickle (torch.load, joblib, numpy allow_pickle, NeMo/TorchServe archives)
    ".bin",
    ".pt",
    ".pth",
    ".pkl",
    ".pickle",
    ".ckpt",
    ".joblib",
    ".dill",
    ".npy",
    ".npz",
    ".pth.tar",
    ".tar",
    ".mar",
    ".nemo",
    # Keras/TensorFlow, Flax, ONNX, llama.cpp, TFLite, rust-bert, Paddle, MXNet, Caffe, Core ML, TensorRT, MNN,
    # ExecuTorch, MindSpore, Darknet
    ".h5",
    ".hdf5",
    ".keras",
    ".pb",
    ".tflite",
    ".lite",
    ".msgpack",
    ".onnx",
    ".onnx_data",
    ".ort",
    ".gguf",
    ".ggml",
    ".ggjt",
    ".llamafile",
    ".ot",
    ".pdparams",
    ".pdiparams",
    ".pdmodel",
    ".params",
    ".caffemodel",
    ".mlmodel",
    ".engine",
    ".plan",
    ".trt",
    ".mnn",
    ".pte",
    ".mindir",
    ".weights",
    # vLLM's tensorizer files, torch distributed checkpoints
    ".tensors",
    ".distcp",
    # archives, which can hold any of the above
    ".zip",
    ".gz",
    ".tgz",
    ".bz2",
    ".xz",
    ".zst",
    ".7z",
    ".rar",
    ".lz4",
)
# TensorFlow checkpoints: variables.data-00000-of-00001 beside variables.index
_REFUSED_WEIGHT_RE = re.compile(r"(\.data-\d+-of-\d+|\.ckpt\.index|^variables\.index)$")
INDEX_NAME = "model.safetensors.index.json"  # the one index transformers and vLLM read
ADAPTER_NAME = "adapter_config.json"  # PEFT: transformers would load base_model_name_or_path
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own limit
MAX_JSON_BYTES = 50 * 1024 * 1024
MAX_JSON_DEPTH = 64  # real configs nest 3-4 deep; safetensors headers 3
# bits per value, as the safetensors library defines them
_DTYPE_BITS = {
    "F64": 64,
    "F32": 32,
    "F16": 16,
    "BF16": 16,
    "I64": 64,
    "I32": 32,
    "I16": 16,
    "I8": 8,
    "U8": 8,
    "U16": 16,
    "U32": 32,
    "U64": 64,
    "BOOL": 8,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "C64": 64,
}
_CODE_KEYS = ("auto_map", "custom_pipelines")
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9_.-]{1,96}$")
_REV_RE = re.compile(r"^[A-Za-z0-9_.\-/]{1,200}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


from ..errors import ModelRefused  # noqa: E402 - one class for refusals; chain.ModelRejected is the same


class ModelUnavailable(ModelRefused):
    """The model could not be looked up (not found, gated, offline): nothing was judged."""

    def __init__(self, reason: str, offline: bool = False):
        super().__init__(reason)
        self.offline = offline  # the Hub could not be reached at all (vs. it answered "no")


@dataclass(frozen=True)
class VetResult:
    repo: str  # hub id, or the directory's absolute path
    sha: str  # commit sha, or "local:<sha256>"
    revision: str | None  # what was asked for (branch, tag, sha), None = default branch
    params: int  # parameters, from the safetensors metadata
    license: str | None  # self-declared on the model card (reported only)
    files: tuple[str, ...]  # the files download_model fetches (relative paths)
    size_bytes: int  # their total size
    local_path: Path | None = None  # set for local directories (and after download_model)
    fingerprint: str | None = None  # weights_fingerprint of the .safetensors files (None: the Hub gave no hashes)
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_local(self) -> bool:
        return self.local_path is not None

    @property
    def ref(self) -> str:
        """``repo@sha`` for a hub model (cached or not), the path for a local directory."""
        return self.repo if self.sha.startswith("local:") else f"{self.repo}@{self.sha}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = list(self.files)
        d["local_path"] = str(self.local_path) if self.local_path else None
        d["params_b"] = round(self.params / 1e9, 3)
        return d


# ---------------------------------------------------------------- references
def parse_ref(ref: str) -> tuple[str, str | None]:
    """``org/name@rev`` -> (``org/name``, ``rev``); a plain id gives (id, None). Raises ModelRefused."""
    ref = ref.strip()
    repo, sep, rev = ref.partition("@")
    if not _REPO_RE.match(repo) or ".." in repo or "--" in repo:
        raise ModelRefused(f"{ref!r} is neither a local directory nor a Hugging Face model id (org/name[@revision])")
    if sep and (not rev or not _REV_RE.match(rev) or ".." in rev):
        raise ModelRefused(f"{ref!r}: the revision after '@' must be a branch, tag or commit sha")
    return repo, (rev or None)


def looks_local(ref: str) -> bool:
    """An existing directory, or anything written as a path (./x, ../x, /x, ~/x)."""
    return Path(ref).expanduser().is_dir() or ref.startswith(("./", "../", "/", "~")) or ref in (".", "..")


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def _check_limits(what: str, params: int, size_bytes: int, max_params_b: float, max_download_gb: float) -> None:
    if params <= 0:
        raise ModelRefused(f"{what}: the safetensors files declare no parameters; the weights look empty or broken")
    if params > max_params_b * 1e9:
        raise ModelRefused(
            f"{what} has {params / 1e9:.2f}B parameters, over the {max_params_b:g}B limit; "
            f"pick a smaller model or raise eval.max_params_b"
        )
    if size_bytes > max_download_gb * 1e9:
        raise ModelRefused(
            f"{what} is {_gb(size_bytes)} to download, over the {max_download_gb:g} GB cap; "
            f"raise eval.max_download_gb if that is intended"
        )


def refused_weight_format(name: str) -> bool:
    """True for a file in a weight format other than safetensors (``REFUSED_WEIGHT_SUFFIXES``)."""
    low = name.lower()
    base = low.rsplit("/", 1)[-1]
    return low.endswith(REFUSED_WEIGHT_SUFFIXES) or "pickle" in base or bool(_REFUSED_WEIGHT_RE.search(base))


def _refuse_formats(what: str, names: Iterable[str]) -> None:
    bad = sorted(n for n in names if refused_weight_format(n))
    if bad:
        raise ModelRefused(
            f"{what} contains weight files that are not safetensors ({_few(bad)}); only "
            f"safetensors models are accepted (pickle-format files can run code when loaded, other "
            f"formats escape the checks): delete them (or convert the weights to safetensors)"
        )


def _refuse_adapter(what: str, names: Iterable[str]) -> None:
    if ADAPTER_NAME in names:
        raise ModelRefused(
            f"{what}/{ADAPTER_NAME}: a PEFT adapter makes transformers load another, unvetted base "
            f"model; merge the adapter into the weights (merge_and_unload) and upload the full model"
        )


def _allowed(name: str) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(Path(name).name, p) for p in ALLOW_PATTERNS)


def weights_fingerprint(hashes: Iterable[str]) -> str:
    """The identity of a model's weights: sha256 over the sorted sha256 content hashes of its safetensors files.

    Sorted by hash, not by name: renaming shards, moving them to another repo or committing them again
    under a new sha leaves it unchanged, while any change to any tensor byte changes it. (The same
    tensors re-serialised, re-sharded or fine-tuned give another fingerprint: see docs/vetting.md.)
    """
    body = "".join(h + "\n" for h in sorted(hashes))
    return hashlib.sha256(b"bitagent-weights-v1\n" + body.encode()).hexdigest()


def _check_code_keys(what: str, data: Any) -> None:
    """Refuse custom code anywhere in a parsed config (bounded: the JSON depth was checked on parsing)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if k in _CODE_KEYS or (k == "trust_remote_code" and v not in (False, None)):
                    raise ModelRefused(
                        f"{what} asks for custom code ({k!s}); only models that run with the "
                        f"standard transformers/vLLM architectures are accepted"
                    )
                stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)


# ---------------------------------------------------------------- hub
def vet_model(
    ref: str, *, max_params_b: float = 8.0, max_download_gb: float = 40.0, revision: str | None = None, api: Any = None
) -> VetResult:
    """Vet a hub model (``org/name[@rev]``) or a local directory. Raises ModelRefused (one line)."""
    if looks_local(ref):
        return vet_local(Path(ref), max_params_b=max_params_b, max_download_gb=max_download_gb)
    repo, rev = parse_ref(ref)
    if revision and rev and revision != rev:
        raise ModelRefused(f"{ref!r} names revision {rev!r} but {revision!r} was also given; give one")
    rev = revision or rev
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    try:
        info = _model_info(api, repo, rev)
    except ModelUnavailable as e:
        cached = (
            _vet_cached(repo, rev, max_params_b=max_params_b, max_download_gb=max_download_gb) if e.offline else None
        )
        if cached is None:
            raise
        return cached
    sha = str(getattr(info, "sha", "") or "")
    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise ModelUnavailable(f"{repo}: the Hub did not return a commit sha for revision {rev or 'main'!r}")
    what = f"{repo}@{sha[:12]}"
    siblings = list(getattr(info, "siblings", None) or [])
    names = [str(getattr(s, "rfilename", "")) for s in siblings]
    _refuse_formats(what, names)
    weights = sorted(n for n in names if n.endswith(".safetensors"))
    if not weights:
        raise ModelRefused(f"{what} has no .safetensors weights; upload the model in safetensors format")
    config = getattr(info, "config", None) or {}
    tags = [str(t) for t in (getattr(info, "tags", None) or [])]
    if "custom_code" in tags:
        raise ModelRefused(
            f"{what} needs custom code (the Hub tags it custom_code); only models that run with the "
            f"standard transformers/vLLM architectures are accepted"
        )
    if isinstance(config, dict):
        _check_code_keys(f"{what}/config.json", config)
    _refuse_adapter(what, names)
    if "config.json" not in names:
        raise ModelRefused(f"{what} has no config.json at the top level; it cannot be served")
    if INDEX_NAME in names:  # the index is small: read it now, so a mismatch is refused before any weight moves
        _check_index(f"{what}/{INDEX_NAME}", _hub_index(api, repo, sha, what), weights)
    params = _hub_params(api, info, repo, sha)
    files = tuple(sorted(n for n in names if _allowed(n)))
    sizes = {str(getattr(s, "rfilename", "")): _sibling_size(s) for s in siblings}
    unknown = [n for n in files if sizes.get(n) is None]
    size_bytes = sum(sizes.get(n) or 0 for n in files)
    _check_limits(what, params, size_bytes, max_params_b, max_download_gb)
    template_info = _vet_hub_templates(api, repo, sha, what, files, sizes)
    return VetResult(
        repo=repo,
        sha=sha,
        revision=rev,
        params=params,
        license=_hub_license(info),
        files=files,
        size_bytes=size_bytes,
        local_path=None,
        fingerprint=_hub_fingerprint(siblings, weights),
        info={
            "unknown_sizes": unknown,
            "gated": getattr(info, "gated", None),
            "max_params_b": max_params_b,
            "max_download_gb": max_download_gb,
            "pipeline_tag": getattr(info, "pipeline_tag", None),
            "weights": weights,
            "chat_template": template_info,
        },
    )


def remote_fingerprint(repo: str, sha: str, *, api: Any = None) -> str | None:
    """The weights fingerprint of ``repo@sha`` from the Hub's file metadata (no download, no other check).

    None when a ``.safetensors`` file has no sha256 on the Hub (stored outside LFS) or there are none.
    Raises ``ModelUnavailable`` when the Hub cannot be asked.
    """
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    info = _model_info(api, repo, sha)
    siblings = list(getattr(info, "siblings", None) or [])
    weights = sorted(n for n in (str(getattr(s, "rfilename", "")) for s in siblings) if n.endswith(".safetensors"))
    return _hub_fingerprint(siblings, weights) if weights else None


def _sibling_sha256(s: Any) -> str | None:
    lfs = getattr(s, "lfs", None)
    h = getattr(lfs, "sha256", None) if lfs is not None else None
    if h is None and isinstance(lfs, dict):
        h = lfs.get("sha256")
    return h if isinstance(h, str) and _SHA256_RE.fullmatch(h) else None


def _hub_fingerprint(siblings: list[Any], weights: list[str]) -> str | None:
    by_name = {str(getattr(s, "rfilename", "")): s for s in siblings}
    hashes = [_sibling_sha256(by_name[n]) for n in weights]
    return None if any(h is None for h in hashes) else weights_fingerprint(hashes)  # type: ignore[arg-type]


def _hub_file(api: Any, repo: str, sha: str, what: str, name: str) -> Path:
    """One small file of the repo at ``sha``, downloaded; any failure to fetch is ``ModelUnavailable``."""
    try:
        return Path(api.hf_hub_download(repo_id=repo, filename=name, revision=sha))
    except Exception as e:  # noqa: BLE001 - any failure to fetch is "could not look it up", not a verdict
        msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise ModelUnavailable(
            f"could not fetch {what}/{name} ({msg}); check the network and run again",
            offline=isinstance(e, OSError),
        ) from None


def _hub_index(api: Any, repo: str, sha: str, what: str) -> dict:
    return _read_json_file(_hub_file(api, repo, sha, what, INDEX_NAME), f"{what}/{INDEX_NAME}")


def _check_index(where: str, index: dict, weights: list[str]) -> None:
    """The index must name exactly the .safetensors files present: every loader then loads what was counted."""
    wm = index.get("weight_map")
    if not isinstance(wm, dict) or not wm or not all(isinstance(k, str) and isinstance(v, str) for k, v in wm.items()):
        raise ModelRefused(f"{where} has no valid weight_map (tensor name -> shard file); re-save the model")
    named = set(wm.values())
    missing = sorted(named - set(weights))
    if missing:
        raise ModelRefused(
            f"{where} names shards that are not there ({_few(missing)}); the model is incomplete, "
            f"upload the missing files"
        )
    extra = sorted(set(weights) - named)
    if extra:
        raise ModelRefused(
            f"{where} does not name {_few(extra)}; a loader could read weights that the index hides "
            f"from the checks: delete the extra .safetensors files (or the index)"
        )


def _few(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _model_info(api: Any, repo: str, rev: str | None) -> Any:
    try:
        return api.model_info(repo, revision=rev, files_metadata=True)
    except Exception as e:  # noqa: BLE001 classify by name: the hub's error classes moved between versions
        kind = type(e).__name__
        if kind == "RepositoryNotFoundError":
            raise ModelUnavailable(
                f"{repo} was not found on the Hugging Face Hub (or it is private); "
                f"check the name, or log in with `hf auth login`"
            ) from None
        if kind == "RevisionNotFoundError":
            raise ModelUnavailable(
                f"{repo} has no revision {rev!r}; use a branch, tag or commit sha that exists"
            ) from None
        if kind == "GatedRepoError":
            raise ModelUnavailable(
                f"{repo} is gated; accept its terms on huggingface.co and log in with `hf auth login`"
            ) from None
        if kind == "OfflineModeIsEnabled" or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
            raise ModelUnavailable(
                f"cannot look up {repo}: Hugging Face Hub access is off (HF_HUB_OFFLINE) and "
                f"it is not in the local cache; unset it, or pass a local model directory",
                offline=True,
            ) from None
        msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else kind
        raise ModelUnavailable(
            f"cannot look up {repo} on the Hugging Face Hub ({msg}) and it is not in the local "
            f"cache; check the network or pass a local model directory",
            offline=isinstance(e, OSError) or "connect" in kind.lower(),
        ) from None


def _sibling_size(s: Any) -> int | None:
    lfs = getattr(s, "lfs", None)
    size = getattr(lfs, "size", None) if lfs is not None else None
    if size is None and isinstance(lfs, dict):
        size = lfs.get("size")
    if size is None:
        size = getattr(s, "size", None)
    return int(size) if isinstance(size, (int, float)) else None


def _hub_params(api: Any, info: Any, repo: str, sha: str) -> int:
    st = getattr(info, "safetensors", None)
    total = getattr(st, "total", None) if st is not None else None
    if isinstance(total, int) and total > 0:
        return total
    get_meta = getattr(api, "get_safetensors_metadata", None)
    if get_meta is not None:
        try:
            meta = get_meta(repo, revision=sha)
            counts = getattr(meta, "parameter_count", None) or {}
            n = sum(int(v) for v in counts.values())
            if n > 0:
                return n
        except Exception:  # noqa: BLE001 (no usable metadata: the refusal below)
            pass
    raise ModelRefused(
        f"{repo}@{sha[:12]}: the Hub has no safetensors metadata for it, so its size cannot be "
        f"checked; vet a downloaded copy instead (pass the local directory)"
    )


def _hub_license(info: Any) -> str | None:
    card = getattr(info, "card_data", None) or getattr(info, "cardData", None)
    lic = None
    if card is not None:
        lic = getattr(card, "license", None)
        if lic is None and hasattr(card, "get"):
            lic = card.get("license")
        if lic == "other":
            name = getattr(card, "license_name", None) or (card.get("license_name") if hasattr(card, "get") else None)
            lic = f"other:{name}" if name else "other"
    if not lic:
        for t in getattr(info, "tags", None) or []:
            if str(t).startswith("license:"):
                lic = str(t)[len("license:") :]
                break
    if isinstance(lic, list):
        lic = ",".join(map(str, lic))
    return str(lic) if lic else None


def _hub_cache_dir() -> Path:
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except (ImportError, AttributeError):  # pragma: no cover
        return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def _vet_cached(repo: str, rev: str | None, *, max_params_b: float, max_download_gb: float) -> VetResult | None:
    """Offline: vet the snapshot of ``repo@rev`` in the local Hugging Face cache, if one is there.

    The commit sha comes from the cache's refs (or ``rev`` itself when it is a sha), so results stay
    keyed by the same sha as when the Hub was reachable.
    """
    base = _hub_cache_dir() / ("models--" + repo.replace("/", "--"))
    if rev and re.fullmatch(r"[0-9a-f]{40}", rev):
        sha = rev
    else:
        try:
            sha = (base / "refs" / (rev or "main")).read_text().strip()
        except (OSError, ValueError):
            return None
    snap = base / "snapshots" / sha
    if not re.fullmatch(r"[0-9a-f]{40}", sha) or not snap.is_dir():
        return None
    local = vet_local(snap, max_params_b=max_params_b, max_download_gb=max_download_gb)
    return VetResult(
        repo=repo,
        sha=sha,
        revision=rev,
        params=local.params,
        license=local.license,
        files=local.files,
        size_bytes=local.size_bytes,
        local_path=local.local_path,
        fingerprint=local.fingerprint,
        info={**local.info, "offline": True, "max_params_b": max_params_b, "max_download_gb": max_download_gb},
    )


# ---------------------------------------------------------------- local directories
def _parse_json(raw: bytes | str, what: str) -> Any:
    """``json.loads`` bounded in depth: deep nesting is a ModelRefused naming ``what``, never a RecursionError."""
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except RecursionError:
        raise ModelRefused(
            f"{what} nests JSON deeper than any real file ({MAX_JSON_DEPTH} levels); it is not a valid model file"
        ) from None
    except (UnicodeDecodeError, ValueError):
        raise ModelRefused(f"{what} is not valid JSON; fix or re-save it") from None
    stack = [(data, 1)]
    while stack:  # iterative: the depth check itself cannot recurse
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ModelRefused(
                f"{what} nests JSON deeper than any real file ({MAX_JSON_DEPTH} levels); it is not a valid model file"
            )
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return data


def _is_count(x: Any) -> bool:
    return type(x) is int and x >= 0  # not bool: True is an int to Python, not to the safetensors library


def read_safetensors_header(path: Path, where: str | None = None) -> tuple[dict[str, Any], bytes, int]:
    """(header dict, raw header bytes, parameter count) of one .safetensors file, validated.

    Layout: 8-byte little-endian header length N, N bytes of JSON (an object starting with ``{``), then
    the tensor data. Checked as the safetensors library checks it when loading, so a file that passes
    here loads: every dtype known, every shape a list of non-negative integers, each tensor's byte
    range exactly its size, the ranges contiguous from 0 and covering the whole data region, and
    ``__metadata__`` (if any) a string -> string object.
    """
    name = where or path.name
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelRefused(f"{name} is not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES or n + 8 > size:
            raise ModelRefused(
                f"{name} has a corrupt or hostile safetensors header (declares {n} header bytes "
                f"in a {size}-byte file); re-save the weights with safetensors"
            )
        raw = f.read(n)
    if not raw.startswith(b"{"):
        raise ModelRefused(f"{name}: the safetensors header is not a JSON object; re-save the weights")
    header = _parse_json(raw, f"{name} (safetensors header)")
    if not isinstance(header, dict):
        raise ModelRefused(f"{name}: the safetensors header is not a JSON object; re-save the weights")
    meta = header.get("__metadata__")
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        raise ModelRefused(
            f"{name}: __metadata__ in the safetensors header must map strings to strings; re-save the weights"
        )
    data_len = size - 8 - n
    params = 0
    spans = []
    for tname, t in header.items():
        if tname == "__metadata__":
            continue
        shape = t.get("shape") if isinstance(t, dict) else None
        offsets = t.get("data_offsets") if isinstance(t, dict) else None
        dtype = t.get("dtype") if isinstance(t, dict) else None
        if (
            not isinstance(shape, list)
            or not all(_is_count(d) for d in shape)
            or not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_count(o) and o <= data_len for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise ModelRefused(
                f"{name}: tensor {str(tname)[:80]!r} has an invalid shape or data offsets; "
                f"re-save the weights with safetensors"
            )
        count = math.prod(shape)
        bits = _DTYPE_BITS.get(dtype) if isinstance(dtype, str) else None
        if bits is None:
            raise ModelRefused(
                f"{name}: tensor {str(tname)[:80]!r} has an unknown dtype {str(dtype)[:20]!r}; "
                f"re-save the weights with safetensors"
            )
        if count * bits % 8 or count * bits // 8 != offsets[1] - offsets[0]:
            raise ModelRefused(
                f"{name}: tensor {str(tname)[:80]!r} declares {count} values of {dtype} in "
                f"{offsets[1] - offsets[0]} bytes; the file is corrupt"
            )
        params += count
        spans.append((offsets[0], offsets[1]))
    end = 0
    for a, b in sorted(spans):
        if a != end:
            raise ModelRefused(
                f"{name}: the tensors' byte ranges overlap or leave gaps; the file is corrupt "
                f"(re-save the weights with safetensors)"
            )
        end = b
    if end != data_len:
        raise ModelRefused(
            f"{name}: the tensors cover {end} of the {data_len} data bytes; the file is corrupt "
            f"(re-save the weights with safetensors)"
        )
    return header, raw, params


def _read_json_file(path: Path, what: str) -> dict:
    """A JSON file that must hold an object (config, tokenizer config, index), bounded in size and depth."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ModelRefused(f"{what} is larger than {MAX_JSON_BYTES // 1_000_000} MB; it is not a real config file")
        raw = path.read_bytes()
    except OSError as e:
        raise ModelRefused(f"cannot read {what} ({e.strerror or e}); check its permissions") from None
    data = _parse_json(raw, what)
    if not isinstance(data, dict):
        raise ModelRefused(f"{what} is not a JSON object (it holds a {type(data).__name__}); fix or re-save it")
    return data


def _inside(p: Path, root: Path) -> bool:
    try:
        p.relative_to(root)
        return True
    except ValueError:
        return False


def _walk(root: Path) -> Iterable[tuple[str, Path]]:
    """(relative name, resolved path) of every file under root, never following directory links out.

    A symlink must resolve inside ``root``; in a Hugging Face cache snapshot
    (``models--org--name/snapshots/<sha>/``) links into the repo's ``blobs/`` are allowed too. Every
    file must be a regular file with one link: a hard link is another name for the same bytes,
    possibly outside the directory, through which they can change after vetting.
    """
    allowed_roots = [root]
    if root.parent.name == "snapshots" and root.parent.parent.name.startswith("models--"):
        allowed_roots.append((root.parent.parent / "blobs").resolve())
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        for name in list(dirnames) + filenames:
            p = d / name
            rel = p.relative_to(root).as_posix()
            try:
                target = p.resolve(strict=True)
            except RuntimeError:  # Python < 3.13 reports a loop this way
                raise ModelRefused(f"{root}: {rel} is a symlink loop; remove it") from None
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise ModelRefused(f"{root}: {rel} is a symlink loop; remove it") from None
                raise ModelRefused(
                    f"{root}: {rel} is not a regular file (a broken link, a pipe or a device); remove it"
                ) from None
            if p.is_symlink():
                if not any(_inside(target, r) for r in allowed_roots):
                    raise ModelRefused(
                        f"{root}: {rel} is a symlink that points outside the model directory "
                        f"({target}); copy the real file in instead"
                    )
                if target.is_dir():
                    raise ModelRefused(f"{root}: {rel} is a symlink to a directory; copy the files in instead")
            if name in filenames:
                st = target.stat()
                if not stat.S_ISREG(st.st_mode):  # FIFO, device, socket: nothing to read safely
                    raise ModelRefused(
                        f"{root}: {rel} is not a regular file (a broken link, a pipe or a device); remove it"
                    )
                if st.st_nlink > 1:
                    raise ModelRefused(
                        f"{root}: {rel} is a hard link ({st.st_nlink} names for the same file, maybe "
                        f"outside the directory, through which it can change after vetting); replace "
                        f"it with a copy (cp, not ln or cp -l)"
                    )
                yield rel, target


_HASHES: dict[tuple[int, int, int, int], str] = {}  # (dev, inode, size, mtime_ns) -> sha256, this process only


def _file_sha256(path: Path) -> str:
    st = path.stat()
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    h = _HASHES.get(key)
    if h is None:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        h = _HASHES[key] = digest.hexdigest()
        if len(_HASHES) > 4096:  # bounded: forget the oldest
            _HASHES.pop(next(iter(_HASHES)))
    return h


def local_fingerprint(path: Path) -> str | None:
    """The weights fingerprint of a vetted directory (its files hashed once per process); None without weights."""
    root = Path(path).expanduser().resolve()
    weights = sorted((rel, p) for rel, p in _walk(root) if rel.endswith(".safetensors"))
    return weights_fingerprint(_file_sha256(p) for _, p in weights) if weights else None


def vet_local(path: Path, *, max_params_b: float = 8.0, max_download_gb: float = 40.0) -> VetResult:
    """Vet a model directory with the same rules as a hub repo (nothing is imported or executed)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ModelRefused(f"{path} is not a directory; pass a model directory or a Hugging Face id (org/name)")
    root = root.resolve()
    what = str(root)
    try:
        return _vet_dir(root, what, max_params_b, max_download_gb)
    except OSError as e:  # unreadable file, vanished mid-way: say which, never "unexpected"
        where = e.filename or what
        raise ModelRefused(
            f"cannot read {where} ({e.strerror or e}); check the directory and its permissions"
        ) from None


def _vet_dir(root: Path, what: str, max_params_b: float, max_download_gb: float) -> VetResult:
    entries = dict(_walk(root))
    _refuse_formats(what, entries)
    _refuse_adapter(what, entries)
    if "config.json" not in entries:
        raise ModelRefused(f"{what} has no config.json; it is not a Hugging Face model directory")
    config = _read_json_file(entries["config.json"], f"{what}/config.json")
    _check_code_keys(f"{what}/config.json", config)
    if "tokenizer_config.json" in entries:
        _check_code_keys(
            f"{what}/tokenizer_config.json",
            _read_json_file(entries["tokenizer_config.json"], f"{what}/tokenizer_config.json"),
        )
    # Every .safetensors file, at any depth, is a weight file: the loaders disagree on which ones they read
    # (transformers prefers model.safetensors, vLLM globs *.safetensors and filters by the index), so all
    # of them are counted and fingerprinted, and the index must name exactly them.
    weights = sorted(n for n in entries if n.endswith(".safetensors"))
    if not weights:
        raise ModelRefused(f"{what} has no .safetensors weights; save the model with safe_serialization=True")
    if INDEX_NAME in entries:
        where = f"{what}/{INDEX_NAME}"
        _check_index(where, _read_json_file(entries[INDEX_NAME], where), weights)
    params = 0
    for name in weights:
        params += read_safetensors_header(entries[name], f"{what}/{name}")[2]
    files = tuple(sorted(n for n in entries if _allowed(n)))
    size_bytes = sum(entries[n].stat().st_size for n in files)
    _check_limits(what, params, size_bytes, max_params_b, max_download_gb)
    fingerprint = weights_fingerprint(_file_sha256(entries[n]) for n in weights)
    digest = hashlib.sha256(b"weights\0" + fingerprint.encode())
    for name in files:  # configs, tokenizer files and templates change answers: hash them whole
        if not name.endswith(".safetensors") and entries[name].stat().st_size <= MAX_JSON_BYTES:
            raw = entries[name].read_bytes()
            if name.endswith(".json"):  # every loader parses these: bad or deeply nested JSON fails here, not there
                _parse_json(raw, f"{what}/{name}")
            digest.update(b"\0" + name.encode() + b"\0" + raw)
    template_info = vet_chat_templates(what, *collect_chat_templates(what, {n: entries[n] for n in files}))
    return VetResult(
        repo=what,
        sha="local:" + digest.hexdigest(),
        revision=None,
        params=params,
        license=_local_license(root),
        files=files,
        size_bytes=size_bytes,
        local_path=root,
        fingerprint=fingerprint,
        info={
            "weights": weights,
            "model_type": config.get("model_type"),
            "architectures": config.get("architectures"),
            "chat_template": template_info,
        },
    )


def _local_license(root: Path) -> str | None:
    readme = root / "README.md"
    try:
        if not readme.is_file() or (readme.is_symlink() and not _inside(readme.resolve(), root)):
            return None
        text = readme.read_text("utf-8", errors="replace")[:20000]
    except OSError:
        return None
    m = re.match(r"^---\s*\n(.*?)\n---", text, re.S)
    if not m:
        return None
    lic = re.search(r"^license:\s*['\"]?([^'\"\n]+)", m.group(1), re.M)
    return lic.group(1).strip() if lic else None


# ---------------------------------------------------------------- chat templates
#: Where chat templates live: a "chat_template" key in these JSON files, and every ``*.jinja`` file.
TEMPLATE_JSON_FILES = ("tokenizer_config.json", "chat_template.json", "processor_config.json")
MAX_TEMPLATES = 32  # real models ship 1-3 (default, tool_use, ...)
MAX_TEMPLATE_CHARS = 1_000_000  # one template's source (real ones: under 100 KB); chat_template.py has the same
TEMPLATE_MEMORY_BYTES = 1 << 30  # the vetting child's address space: 1 GiB
TEMPLATE_CPU_S = 5  # its CPU time (RLIMIT_CPU); the renders' own wall clock is TEMPLATE_TIMEOUT_S
TEMPLATE_TIMEOUT_S = 5.0
TEMPLATE_START_S = 30.0  # on top, for the child's start (a Python interpreter and jinja2) on a busy machine
_TEMPLATE_TOKENS = ("bos_token", "eos_token", "unk_token", "pad_token")
_TEMPLATE_VERDICTS: dict[str, dict[str, Any]] = {}  # sha256 of (templates, tokens) -> info, this process only


def _template_text(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def collect_chat_templates(what: str, files: dict[str, Path]) -> tuple[dict[str, str], dict[str, str]]:
    """({name: template source}, {special token name: text}) from a model's files (relative name -> path).

    Names: ``tokenizer_config.json`` (its ``chat_template``: a string, or a list of ``{name, template}``
    as transformers saves named templates), ``chat_template.json`` and ``processor_config.json``, and
    every ``*.jinja`` file by its path. Raises ModelRefused for more than MAX_TEMPLATES templates or
    one over the size limit.
    """
    templates: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for name in TEMPLATE_JSON_FILES:
        if name not in files:
            continue
        data = _read_json_file(files[name], f"{what}/{name}")
        ct = data.get("chat_template")
        if isinstance(ct, str):
            templates[name] = ct
        elif isinstance(ct, list):
            for i, item in enumerate(ct[: MAX_TEMPLATES + 1]):
                if isinstance(item, dict) and _template_text(item.get("template")) is not None:
                    templates[f"{name}:{str(item.get('name') or i)[:100]}"] = item["template"]
        elif isinstance(ct, dict):
            for k, v in list(ct.items())[: MAX_TEMPLATES + 1]:
                if _template_text(v) is not None:
                    templates[f"{name}:{str(k)[:100]}"] = v
        if name == "tokenizer_config.json":
            for t in _TEMPLATE_TOKENS:
                v = data.get(t)
                v = v.get("content") if isinstance(v, dict) else v
                if isinstance(v, str):
                    tokens[t] = v[:1000]
    for name in sorted(files):
        if name.endswith(".jinja"):
            size = files[name].stat().st_size
            if size > MAX_TEMPLATE_CHARS * 4:
                raise ModelRefused(
                    f"{what}/{name} is a {size:,}-byte chat template (real ones are under 100 KB); shorten it"
                )
            templates[name] = files[name].read_text("utf-8", errors="replace")
    if len(templates) > MAX_TEMPLATES:
        raise ModelRefused(
            f"{what} ships {len(templates)} chat templates, over {MAX_TEMPLATES}; keep the ones the model uses"
        )
    for name, src in templates.items():
        if len(src) > MAX_TEMPLATE_CHARS:
            raise ModelRefused(
                f"{what}: the chat template {name!r} is {len(src):,} characters, over {MAX_TEMPLATE_CHARS:,} "
                f"(real ones are under 100 KB); shorten it"
            )
    return templates, tokens


def run_template_child(
    templates: dict[str, str],
    tokens: dict[str, str],
    *,
    memory_bytes: int = TEMPLATE_MEMORY_BYTES,
    cpu_s: int = TEMPLATE_CPU_S,
    timeout_s: float = TEMPLATE_TIMEOUT_S,
    start_s: float = TEMPLATE_START_S,
    script: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Render ``templates`` in a child process (serving/chat_template.py) under the limits; its verdict.

    Returns the child's JSON reply plus ``returncode``, ``signal`` (when it was killed), ``killed_after``
    (when this process killed it at ``timeout_s + start_s``), ``maxrss_kb`` (the child's peak RSS: its own
    VmHWM when it replied, else wait4's, which also counts what it inherited at fork) and ``wall_s``.
    Nothing here raises for the template's behaviour.
    """
    import signal
    import subprocess
    import sys
    import tempfile

    script = script or Path(__file__).with_name("chat_template.py")  # (benchmarks pass another renderer)
    request = {"templates": templates, "tokens": tokens, "memory_bytes": memory_bytes, "cpu_s": cpu_s}
    payload = json.dumps({**request, "timeout_s": timeout_s, **(extra or {})}).encode()
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
        fin.write(payload)
        fin.seek(0)
        proc = subprocess.Popen(
            [sys.executable, "-I", str(script)], stdin=fin, stdout=fout, stderr=ferr, close_fds=True
        )
        deadline = t0 + timeout_s + start_s
        killed_after = None
        status, rusage = 0, None
        delay = 0.005
        try:
            while True:
                pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    killed_after = round(time.monotonic() - t0, 3)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGKILL)
                    _, status, rusage = os.wait4(proc.pid, 0)
                    break
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        except BaseException:  # Ctrl-C / SIGTERM while it renders: the child goes too
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.wait4(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        fout.seek(0)
        out = fout.read(1 << 20).decode("utf-8", errors="replace")
        ferr.seek(0)
        err = ferr.read(1 << 16).decode("utf-8", errors="replace")
    reply: dict[str, Any] = {}
    last = out.strip().splitlines()[-1] if out.strip() else ""
    with contextlib.suppress(ValueError):
        parsed = json.loads(last) if last else {}
        reply = parsed if isinstance(parsed, dict) else {}
    reply["returncode"] = proc.returncode
    reply["signal"] = signal.Signals(-proc.returncode).name if proc.returncode < 0 else None
    reply["killed_after"] = killed_after
    # the child's own peak (VmHWM) when it reported one; wait4's maxrss includes what it inherited at fork
    reply["maxrss_kb"] = reply.get("vmhwm_kb") or (int(rusage.ru_maxrss) if rusage is not None else None)
    reply["wall_s"] = round(time.monotonic() - t0, 3)
    reply["stderr_tail"] = err.strip().splitlines()[-1][:300] if err.strip() else ""
    return reply


def vet_chat_templates(what: str, templates: dict[str, str], tokens: dict[str, str]) -> dict[str, Any]:
    """Render every template once on representative conversations in a child with memory and time limits.

    Returns ``{"templates": [...], "renders": {name: cases rendered}}``; raises ModelRefused when a render
    goes over a limit (size, loops, time, memory, output), reaches for what the sandbox forbids, or kills
    the child. A template's own error for one shape (``raise_exception``) is recorded, not refused. The
    verdict is kept per content for this process, so re-vetting the same files renders nothing again.
    """
    if not templates:
        return {"templates": [], "renders": {}}
    key = hashlib.sha256(json.dumps([templates, tokens], sort_keys=True).encode()).hexdigest()
    cached = _TEMPLATE_VERDICTS.get(key)
    if cached is not None:
        return cached
    r = run_template_child(
        templates, tokens, memory_bytes=TEMPLATE_MEMORY_BYTES, cpu_s=TEMPLATE_CPU_S, timeout_s=TEMPLATE_TIMEOUT_S
    )
    which = f"the chat template in {r['template']}" if r.get("template") else "the chat template"
    fix = "fix the template (real ones render a conversation in milliseconds) and upload it again"
    if r.get("ok") is True and isinstance(r.get("results"), dict):
        info = {
            "templates": sorted(templates),
            "renders": {n: sum(1 for c in cases if c.get("ok")) for n, cases in r["results"].items()},
        }
        _TEMPLATE_VERDICTS[key] = info
        if len(_TEMPLATE_VERDICTS) > 256:
            _TEMPLATE_VERDICTS.pop(next(iter(_TEMPLATE_VERDICTS)))
        return info
    if r.get("ok") is False:
        limit = str(r.get("limit"))
        if limit == "sandbox":
            raise ModelRefused(
                f"{what}: {which} reaches for what the rendering sandbox forbids ({str(r.get('detail'))[:200]}); "
                f"remove that from the template"
            )
        if limit == "memory":
            raise ModelRefused(
                f"{what}: {which} ran out of the {TEMPLATE_MEMORY_BYTES >> 20} MiB memory limit while rendering "
                f"a sample conversation; {fix}"
            )
        rest = str(r.get("detail") or "went over a rendering limit").removeprefix("the chat template ")
        raise ModelRefused(f"{what}: {which} {rest} ({limit} limit) while rendering a sample conversation; {fix}")
    if "No module named" in str(r.get("stderr_tail")):
        raise ModelUnavailable(
            f"cannot vet the chat template of {what}: {r['stderr_tail']}; install jinja2 (pip install 'jinja2>=3.1.6')"
        )
    if r.get("killed_after") is not None:
        raise ModelRefused(
            f"{what}: the chat template's render did not finish within "
            f"{TEMPLATE_TIMEOUT_S + TEMPLATE_START_S:g} s; {fix}"
        )
    if r.get("signal") in ("SIGXCPU", "SIGKILL"):
        raise ModelRefused(f"{what}: {which} ran past the {TEMPLATE_CPU_S} s CPU limit while rendering; {fix}")
    if "MemoryError" in str(r.get("stderr_tail")):
        raise ModelRefused(
            f"{what}: {which} ran out of the {TEMPLATE_MEMORY_BYTES >> 20} MiB memory limit while rendering; {fix}"
        )
    raise ModelRefused(
        f"{what}: rendering the chat template crashed its sandboxed process "
        f"({r.get('signal') or 'exit ' + str(r.get('returncode'))}: {str(r.get('stderr_tail'))[:200]}); {fix}"
    )


def _vet_hub_templates(
    api: Any, repo: str, sha: str, what: str, files: tuple[str, ...], sizes: dict[str, int | None]
) -> dict[str, Any]:
    """Fetch a hub model's template-bearing files (small JSON and *.jinja) at ``sha`` and vet the templates."""
    wanted = [n for n in files if n in TEMPLATE_JSON_FILES or n.endswith(".jinja")]
    if not wanted:
        return {"templates": [], "renders": {}}
    paths: dict[str, Path] = {}
    for name in wanted:
        size = sizes.get(name)
        if size is not None and size > MAX_JSON_BYTES:
            raise ModelRefused(
                f"{what}/{name} is larger than {MAX_JSON_BYTES // 1_000_000} MB; it is not a real config file"
            )
        paths[name] = _hub_file(api, repo, sha, what, name)
    return vet_chat_templates(what, *collect_chat_templates(what, paths))


# ---------------------------------------------------------------- download
def download_model(vet: VetResult, dest: Path | None = None, *, api: Any = None) -> Path:
    """Fetch the vetted files at the vetted sha into ``dest`` (an HF cache dir); returns the snapshot dir.

    Exactly the files listed by ``vet`` are fetched (``allow_patterns`` is that list, each name escaped
    to match only itself). The result is vetted again on disk with the same limits (formats, index,
    auto_map, links, parameters, size), and its weights must have the fingerprint the Hub announced,
    so what is served is what was vetted. Local models are returned as they are.
    """
    if vet.local_path is not None:
        return vet.local_path
    max_params_b = float(vet.info.get("max_params_b", 8.0))
    max_download_gb = float(vet.info.get("max_download_gb", 40.0))
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    cache = str(dest) if dest else None
    where = f"{vet.repo}@{vet.sha[:12]}"
    try:
        path = api.snapshot_download(
            repo_id=vet.repo, revision=vet.sha, cache_dir=cache, allow_patterns=[glob_escape(f) for f in vet.files]
        )
    except Exception as e:  # noqa: BLE001 (any download failure is ModelUnavailable)
        msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise ModelUnavailable(
            f"could not download {where} ({msg}); check the network and disk space, then run again"
        ) from None
    local = vet_local(Path(path), max_params_b=max_params_b, max_download_gb=max_download_gb)
    if vet.params and local.params > vet.params:
        raise ModelRefused(
            f"{where}: the downloaded weights hold {local.params} parameters, more than the "
            f"{vet.params} the Hub declared; refusing to serve them"
        )
    if vet.fingerprint and local.fingerprint != vet.fingerprint:
        raise ModelRefused(
            f"{where}: the downloaded weights ({path}) are not the ones the Hub listed (fingerprint "
            f"{str(local.fingerprint)[:12]}, expected {vet.fingerprint[:12]}); delete that snapshot "
            f"and run again"
        )
    return Path(path)


def glob_escape(name: str) -> str:
    """A file name as an fnmatch pattern that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", name)
