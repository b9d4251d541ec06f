"""Model vetting: decide whether a model may be downloaded and served, before doing either.

``vet_model("org/name[@rev]")`` asks the Hub (one ``model_info`` call, no download) and
``vet_model("./dir")`` reads the directory; both apply the same rules:

- the reference resolves to one commit (hub: the sha of ``revision``; local: ``local:<hash>`` of
  the safetensors headers, sampled weight bytes, config and tokenizer files);
- safetensors only: any pickle-format file (``.bin .pt .pth .pkl .pickle .ckpt``...) refuses the model;
- the parameter count from the safetensors metadata is at most ``max_params_b`` billion;
- no custom code: ``auto_map`` in config.json (or tokenizer_config.json), or the Hub's
  ``custom_code`` tag, refuses the model; nothing is ever loaded with ``trust_remote_code``;
- the files that would be downloaded (weights, JSON, tokenizer files, templates) fit in ``max_download_gb``;
- the license (self-declared on the model card) is reported, not judged.

A refusal is ``ModelRefused`` with one line that says why and what to do. ``download_model``
fetches only the allowed files at the vetted sha, then vets the result again on disk.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import os
import re
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

__all__ = ["ALLOW_PATTERNS", "ModelRefused", "ModelUnavailable", "VetResult", "download_model",
           "parse_ref", "read_safetensors_header", "vet_local", "vet_model"]

# What download_model fetches: weights, configs, tokenizer files, chat templates. Nothing else.
ALLOW_PATTERNS = ["*.safetensors", "*.json", "*.model", "*.txt", "*.jinja", "README.md"]
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz", ".h5")
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own limit
MAX_JSON_BYTES = 50 * 1024 * 1024
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
                "U16": 2, "U32": 4, "U64": 8, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1,
                "F4": 0.5, "F6_E2M3": 0.75, "F6_E3M2": 0.75, "E8M0": 1, "C64": 8}
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9_.-]{1,96}$")
_REV_RE = re.compile(r"^[A-Za-z0-9_.\-/]{1,200}$")


class ModelRefused(Exception):
    """The model may not be used; ``reason`` is one line saying why and what to do."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class ModelUnavailable(ModelRefused):
    """The model could not be looked up (not found, gated, offline): nothing was judged."""

    def __init__(self, reason: str, offline: bool = False):
        super().__init__(reason)
        self.offline = offline  # the Hub could not be reached at all (vs. it answered "no")


@dataclass(frozen=True)
class VetResult:
    repo: str                     # hub id, or the directory's absolute path
    sha: str                      # commit sha, or "local:<sha256>"
    revision: str | None          # what was asked for (branch, tag, sha), None = default branch
    params: int                   # parameters, from the safetensors metadata
    license: str | None           # self-declared on the model card (reported only)
    files: tuple[str, ...]        # the files download_model fetches (relative paths)
    size_bytes: int               # their total size
    local_path: Path | None = None  # set for local directories (and after download_model)
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
        raise ModelRefused(f"{what} has {params / 1e9:.2f}B parameters, over the {max_params_b:g}B limit; "
                           f"pick a smaller model or raise eval.max_params_b")
    if size_bytes > max_download_gb * 1e9:
        raise ModelRefused(f"{what} is {_gb(size_bytes)} to download, over the {max_download_gb:g} GB cap; "
                           f"raise eval.max_download_gb if that is intended")


def _is_pickle(name: str) -> bool:
    low = name.lower()
    return low.endswith(PICKLE_SUFFIXES) or "pickle" in Path(low).name


def _allowed(name: str) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(Path(name).name, p) for p in ALLOW_PATTERNS)


# ---------------------------------------------------------------- hub
def vet_model(ref: str, *, max_params_b: float = 8.0, max_download_gb: float = 40.0, revision: str | None = None,
              api: Any = None) -> VetResult:
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
        cached = _vet_cached(repo, rev, max_params_b=max_params_b, max_download_gb=max_download_gb) \
            if e.offline else None
        if cached is None:
            raise
        return cached
    sha = str(getattr(info, "sha", "") or "")
    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise ModelUnavailable(f"{repo}: the Hub did not return a commit sha for revision {rev or 'main'!r}")
    what = f"{repo}@{sha[:12]}"
    siblings = list(getattr(info, "siblings", None) or [])
    names = [str(getattr(s, "rfilename", "")) for s in siblings]
    pickles = sorted(n for n in names if _is_pickle(n))
    if pickles:
        raise ModelRefused(f"{what} contains pickle-format files ({_few(pickles)}); only safetensors repos are "
                           f"accepted: remove them from the repo (or convert the weights to safetensors)")
    weights = [n for n in names if n.endswith(".safetensors")]
    if not weights:
        raise ModelRefused(f"{what} has no .safetensors weights; upload the model in safetensors format")
    config = getattr(info, "config", None) or {}
    tags = [str(t) for t in (getattr(info, "tags", None) or [])]
    if (isinstance(config, dict) and ("auto_map" in config or "auto_map" in (config.get("tokenizer_config") or {}))) \
            or "custom_code" in tags:
        raise ModelRefused(f"{what} needs custom code (auto_map in its config); only models that run with the "
                           f"standard transformers/vLLM architectures are accepted")
    if "config.json" not in names:
        raise ModelRefused(f"{what} has no config.json at the top level; it cannot be served")
    params = _hub_params(api, info, repo, sha)
    files = tuple(sorted(n for n in names if _allowed(n)))
    sizes = {str(getattr(s, "rfilename", "")): _sibling_size(s) for s in siblings}
    unknown = [n for n in files if sizes.get(n) is None]
    size_bytes = sum(sizes.get(n) or 0 for n in files)
    _check_limits(what, params, size_bytes, max_params_b, max_download_gb)
    return VetResult(repo=repo, sha=sha, revision=rev, params=params, license=_hub_license(info), files=files,
                     size_bytes=size_bytes, local_path=None,
                     info={"unknown_sizes": unknown, "gated": getattr(info, "gated", None),
                           "max_params_b": max_params_b, "max_download_gb": max_download_gb,
                           "pipeline_tag": getattr(info, "pipeline_tag", None)})


def _few(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _model_info(api: Any, repo: str, rev: str | None) -> Any:
    try:
        return api.model_info(repo, revision=rev, files_metadata=True)
    except Exception as e:  # classify by name: the hub's error classes moved between versions
        kind = type(e).__name__
        if kind == "RepositoryNotFoundError":
            raise ModelUnavailable(f"{repo} was not found on the Hugging Face Hub (or it is private); "
                                   f"check the name, or log in with `hf auth login`") from None
        if kind == "RevisionNotFoundError":
            raise ModelUnavailable(f"{repo} has no revision {rev!r}; use a branch, tag or commit sha that exists") \
                from None
        if kind == "GatedRepoError":
            raise ModelUnavailable(f"{repo} is gated; accept its terms on huggingface.co and log in "
                                   f"with `hf auth login`") from None
        if kind == "OfflineModeIsEnabled" or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
            raise ModelUnavailable(f"cannot look up {repo}: Hugging Face Hub access is off (HF_HUB_OFFLINE) and "
                                   f"it is not in the local cache; unset it, or pass a local model directory",
                                   offline=True) from None
        msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else kind
        raise ModelUnavailable(f"cannot look up {repo} on the Hugging Face Hub ({msg}) and it is not in the local "
                               f"cache; check the network or pass a local model directory",
                               offline=isinstance(e, OSError) or "connect" in kind.lower()) from None


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
        except Exception:
            pass
    raise ModelRefused(f"{repo}@{sha[:12]}: the Hub has no safetensors metadata for it, so its size cannot be "
                       f"checked; vet a downloaded copy instead (pass the local directory)")


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
                lic = str(t)[len("license:"):]
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
    return VetResult(repo=repo, sha=sha, revision=rev, params=local.params, license=local.license,
                     files=local.files, size_bytes=local.size_bytes, local_path=local.local_path,
                     info={**local.info, "offline": True, "max_params_b": max_params_b,
                           "max_download_gb": max_download_gb})


# ---------------------------------------------------------------- local directories
def read_safetensors_header(path: Path) -> tuple[dict[str, Any], bytes, int]:
    """(header dict, raw header bytes, parameter count) of one .safetensors file, validated.

    Layout: 8-byte little-endian header length N, N bytes of JSON, then the tensor data. The length,
    the JSON, every shape and every data offset are checked against the file size.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelRefused(f"{path.name} is not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES or n + 8 > size:
            raise ModelRefused(f"{path.name} has a corrupt or hostile safetensors header (declares {n} header bytes "
                               f"in a {size}-byte file); re-save the weights with safetensors")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ModelRefused(f"{path.name}: the safetensors header is not valid JSON; re-save the weights") from None
    if not isinstance(header, dict):
        raise ModelRefused(f"{path.name}: the safetensors header is not a JSON object; re-save the weights")
    data_len = size - 8 - n
    params = 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        shape = t.get("shape") if isinstance(t, dict) else None
        offsets = t.get("data_offsets") if isinstance(t, dict) else None
        dtype = t.get("dtype") if isinstance(t, dict) else None
        if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
                or not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and 0 <= o <= data_len for o in offsets) or offsets[0] > offsets[1]):
            raise ModelRefused(f"{path.name}: tensor {str(name)[:80]!r} has an invalid shape or data offsets; "
                               f"re-save the weights with safetensors")
        count = math.prod(shape)
        width = _DTYPE_BYTES.get(str(dtype))
        if width is None:
            raise ModelRefused(f"{path.name}: tensor {str(name)[:80]!r} has an unknown dtype {str(dtype)[:20]!r}; "
                               f"re-save the weights with safetensors")
        if math.ceil(count * width) != offsets[1] - offsets[0]:
            raise ModelRefused(f"{path.name}: tensor {str(name)[:80]!r} declares {count} values of {dtype} in "
                               f"{offsets[1] - offsets[0]} bytes; the file is corrupt")
        params += count
    return header, raw, params


def _read_json_file(path: Path, what: str) -> dict:
    if path.stat().st_size > MAX_JSON_BYTES:
        raise ModelRefused(f"{what} is larger than {MAX_JSON_BYTES // 1_000_000} MB; it is not a real config file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ModelRefused(f"{what} is not valid JSON; fix or re-save it") from None
    return data if isinstance(data, dict) else {}


def _inside(p: Path, root: Path) -> bool:
    try:
        p.relative_to(root)
        return True
    except ValueError:
        return False


def _walk(root: Path) -> Iterable[tuple[str, Path]]:
    """(relative name, resolved path) of every file under root, never following directory links out.

    A symlink must resolve inside ``root``; in a Hugging Face cache snapshot
    (``models--org--name/snapshots/<sha>/``) links into the repo's ``blobs/`` are allowed too.
    """
    allowed_roots = [root]
    if root.parent.name == "snapshots" and root.parent.parent.name.startswith("models--"):
        allowed_roots.append((root.parent.parent / "blobs").resolve())
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        for name in list(dirnames) + filenames:
            p = d / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                target = p.resolve()
                if not any(_inside(target, r) for r in allowed_roots):
                    raise ModelRefused(f"{root}: {rel} is a symlink that points outside the model directory "
                                       f"({target}); copy the real file in instead")
                if target.is_dir():
                    raise ModelRefused(f"{root}: {rel} is a symlink to a directory; copy the files in instead")
            if name in filenames:
                target = p.resolve()
                if not target.is_file():  # broken link, FIFO, device: nothing to read safely
                    raise ModelRefused(f"{root}: {rel} is not a regular file (a broken link, a pipe or a device); "
                                       f"remove it")
                yield rel, target


def vet_local(path: Path, *, max_params_b: float = 8.0, max_download_gb: float = 40.0) -> VetResult:
    """Vet a model directory with the same rules as a hub repo (nothing is imported or executed)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ModelRefused(f"{path} is not a directory; pass a model directory or a Hugging Face id (org/name)")
    root = root.resolve()
    what = str(root)
    entries = dict(_walk(root))
    pickles = sorted(n for n in entries if _is_pickle(n))
    if pickles:
        raise ModelRefused(f"{what} contains pickle-format files ({_few(pickles)}); only safetensors weights are "
                           f"accepted: delete them (or convert the weights to safetensors)")
    if "config.json" not in entries:
        raise ModelRefused(f"{what} has no config.json; it is not a Hugging Face model directory")
    config = _read_json_file(entries["config.json"], f"{what}/config.json")
    tok_cfg = (_read_json_file(entries["tokenizer_config.json"], f"{what}/tokenizer_config.json")
               if "tokenizer_config.json" in entries else {})
    if "auto_map" in config or "auto_map" in tok_cfg:
        raise ModelRefused(f"{what} needs custom code (auto_map in its config); only models that run with the "
                           f"standard transformers/vLLM architectures are accepted")
    weights = sorted(n for n in entries if n.endswith(".safetensors"))
    index_name = next((n for n in ("model.safetensors.index.json",) if n in entries), None)
    if index_name:  # sharded: count the shards the index names (other .safetensors, e.g. consolidated, aside)
        index = _read_json_file(entries[index_name], f"{what}/{index_name}")
        wm = index.get("weight_map") if isinstance(index.get("weight_map"), dict) else {}
        shards = sorted({str(v) for v in wm.values()})
        missing = [s for s in shards if s not in entries]
        if missing:
            raise ModelRefused(f"{what}: {index_name} names missing shards ({_few(missing)}); the download is "
                               f"incomplete")
        if shards:
            weights = shards
    if not weights:
        raise ModelRefused(f"{what} has no .safetensors weights; save the model with safe_serialization=True")
    digest = hashlib.sha256()
    params = 0
    for name in weights:
        _, raw, n = read_safetensors_header(entries[name])
        params += n
        digest.update(name.encode() + b"\0" + raw)
        _sample_weights(entries[name], 8 + len(raw), digest)
    files = tuple(sorted(n for n in entries if _allowed(n)))
    size_bytes = sum(entries[n].stat().st_size for n in files)
    _check_limits(what, params, size_bytes, max_params_b, max_download_gb)
    for name in files:  # configs, tokenizer files and templates change answers: hash them whole
        if not name.endswith(".safetensors") and entries[name].stat().st_size <= MAX_JSON_BYTES:
            digest.update(name.encode() + b"\0" + entries[name].read_bytes())
    return VetResult(repo=what, sha="local:" + digest.hexdigest(), revision=None, params=params,
                     license=_local_license(root), files=files, size_bytes=size_bytes, local_path=root,
                     info={"weights": weights, "model_type": config.get("model_type"),
                           "architectures": config.get("architectures")})


def _sample_weights(path: Path, start: int, digest: "hashlib._Hash", chunks: int = 16, chunk: int = 65536) -> None:
    """Hash ``chunks`` evenly spaced slices of the tensor data (fine-tuning changes every slice)."""
    size = path.stat().st_size
    span = size - start
    digest.update(str(size).encode())
    with path.open("rb") as f:
        if span <= chunks * chunk:
            f.seek(start)
            digest.update(f.read(span))
            return
        for i in range(chunks):
            f.seek(start + (span - chunk) * i // (chunks - 1))
            digest.update(f.read(chunk))


def _local_license(root: Path) -> str | None:
    readme = root / "README.md"
    try:
        if not readme.is_file() or readme.is_symlink() and not _inside(readme.resolve(), root):
            return None
        text = readme.read_text("utf-8", errors="replace")[:20000]
    except OSError:
        return None
    m = re.match(r"^---\s*\n(.*?)\n---", text, re.S)
    if not m:
        return None
    lic = re.search(r"^license:\s*['\"]?([^'\"\n]+)", m.group(1), re.M)
    return lic.group(1).strip() if lic else None


# ---------------------------------------------------------------- download
def download_model(vet: VetResult, dest: Path | None = None, *, api: Any = None) -> Path:
    """Fetch the vetted files at the vetted sha into ``dest`` (an HF cache dir); returns the snapshot dir.

    Only the files listed by ``vet`` (weights, JSON, tokenizer files, templates) are fetched; of a
    sharded checkpoint, only the shards its index names. The result is vetted again on disk with the
    same limits (pickle files, auto_map, symlinks, parameters, size), so what is served is what was
    vetted. Local models are returned as they are.
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
    allow = list(vet.files)
    try:
        index_name = "model.safetensors.index.json"
        if index_name in allow:  # fetch the index first; skip .safetensors files it does not name
            index_path = api.hf_hub_download(repo_id=vet.repo, filename=index_name, revision=vet.sha,
                                             cache_dir=cache)
            index = _read_json_file(Path(index_path), f"{where}/{index_name}")
            wm = index.get("weight_map") if isinstance(index.get("weight_map"), dict) else {}
            shards = {str(v) for v in wm.values()}
            if shards:
                allow = [f for f in allow if not f.endswith(".safetensors") or f in shards]
        path = api.snapshot_download(repo_id=vet.repo, revision=vet.sha, cache_dir=cache,
                                     allow_patterns=[glob_escape(f) for f in allow])
    except ModelRefused:
        raise
    except Exception as e:
        msg = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise ModelUnavailable(f"could not download {where} ({msg}); check the network and disk space, "
                               f"then run again") from None
    local = vet_local(Path(path), max_params_b=max_params_b, max_download_gb=max_download_gb)
    if vet.params and local.params > vet.params:
        raise ModelRefused(f"{where}: the downloaded weights hold {local.params} parameters, more than the "
                           f"{vet.params} the Hub declared; refusing to serve them")
    return Path(path)


def glob_escape(name: str) -> str:
    """A file name as an fnmatch pattern that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", name)
