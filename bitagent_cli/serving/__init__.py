"""Serving: vet a model, start (or attach to) an OpenAI-compatible server for it, stop it always.

- ``vet_model(ref) -> VetResult`` / ``download_model(vet, dest) -> Path`` (``vetting``): hub ids and
  local directories, safetensors only, no custom code, parameter and size caps; ``ModelRefused``.
- ``start_server(model, backend=...) -> ModelServer`` (``backends``): vllm, transformers (our
  ``hf_server``), endpoint, auto; ``ModelServer.base_url`` ends in ``/v1``.
- ``ManagedProcess``, ``free_port``, ``ServerError`` (``process``): the process manager.
- ``make_tiny_model(dest)`` (``tiny``): the tiny random Llama for tests and demos.

Importing this package imports neither torch nor transformers nor vLLM.
"""

from .backends import (
    ModelServer,
    gpu_available,
    resolve_backend,
    start_server,
    tool_call_parser,
    vllm_available,
)
from .process import ManagedProcess, ServerError, free_port
from .resolve import BUILTIN_SMOLLM2, BUILTIN_TINY, ResolvedModel, ensure_tiny_model, resolve_model
from .vetting import ModelRefused, ModelUnavailable, VetResult, download_model, vet_model


def make_tiny_model(dest, **kwargs):
    """See :func:`bitagent_cli.serving.tiny.make_tiny_model` (imported lazily: it needs torch)."""
    from .tiny import make_tiny_model as _make

    return _make(dest, **kwargs)


__all__ = [
    "BUILTIN_SMOLLM2",
    "BUILTIN_TINY",
    "ManagedProcess",
    "ModelRefused",
    "ModelServer",
    "ModelUnavailable",
    "ResolvedModel",
    "ServerError",
    "VetResult",
    "download_model",
    "ensure_tiny_model",
    "free_port",
    "gpu_available",
    "make_tiny_model",
    "resolve_backend",
    "resolve_model",
    "start_server",
    "tool_call_parser",
    "vet_model",
    "vllm_available",
]
