"""A small OpenAI-compatible server for a local transformers model (the CPU backend).

    python -m bitagent_cli.serving.hf_server --model DIR --port P [--served-model-name N]

Endpoints: ``GET /health`` (200 once the model is loaded), ``GET /v1/models`` and
``POST /v1/chat/completions`` (messages + tools rendered by the model's own chat template,
greedy decoding at temperature 0). Generation runs in a worker thread, one request at a time,
so the event loop keeps answering ``/health``.

Why not ``transformers serve``: it exists only in transformers 5, needs the ``openai`` package,
loads models by request name with idle unloading, and is built around the hub cache; we need one
local directory, ``trust_remote_code=False`` and safetensors only, and the same ``/health``
contract as vLLM. This app is ~200 lines and has exactly that.

The model is loaded before the socket listens, like vLLM: until then connections are refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import uuid
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

DEFAULT_MAX_TOKENS = 512


class _Model:
    def __init__(self, path: str, served_name: str, max_model_len: int, seed: int, threads: int | None):
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.name = served_name
        self.seed = seed
        from .chat_template import patch_transformers

        # The chat template is the model author's code: rendered with bounded work (serving/chat_template.py),
        # a second layer behind vetting's render in a memory- and time-limited child.
        if not patch_transformers():
            raise RuntimeError(
                f"transformers {transformers.__version__} has no chat-template compile hook to bound; "
                f"install a transformers version this package supports (pip install 'bitagent[cpu]')"
            )
        self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        major_minor = tuple(int(x) for x in transformers.__version__.split(".")[:2])
        dtype_kw = "dtype" if major_minor >= (4, 56) else "torch_dtype"  # renamed in 4.56
        self.model = AutoModelForCausalLM.from_pretrained(
            path, trust_remote_code=False, use_safetensors=True, **{dtype_kw: torch.float32}
        )
        self.model.eval()
        cfg = self.model.config
        limit = getattr(cfg, "max_position_embeddings", None) or max_model_len
        self.max_model_len = min(max_model_len, int(limit)) if max_model_len else int(limit)
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        eos = gen_eos if gen_eos is not None else self.tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        self.pad_id = (
            self.tokenizer.pad_token_id
            if self.tokenizer.pad_token_id is not None
            else (next(iter(self.eos_ids)) if self.eos_ids else 0)
        )
        self.lock = threading.Lock()
        self.created = int(time.time())

    def render(self, messages: list[dict], tools: list | None) -> list[int]:
        text = self.tokenizer.apply_chat_template(
            messages, tools=tools or None, add_generation_prompt=True, tokenize=False
        )
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(
        self, ids: list[int], max_tokens: int, temperature: float, seed: int | None, min_tokens: int = 0
    ) -> tuple[str, int, str]:
        torch = self.torch
        with self.lock, torch.inference_mode():
            torch.manual_seed(self.seed if seed is None else seed)
            inp = torch.tensor([ids], dtype=torch.long)
            kwargs: dict[str, Any] = {
                "max_new_tokens": max_tokens,
                "pad_token_id": self.pad_id,
                "attention_mask": torch.ones_like(inp),
            }
            if self.eos_ids:
                kwargs["eos_token_id"] = sorted(self.eos_ids)
            if min_tokens:
                kwargs["min_new_tokens"] = min(min_tokens, max_tokens)
            if temperature and temperature > 0:
                kwargs.update(do_sample=True, temperature=float(temperature), top_p=1.0, top_k=0)
            else:
                kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            out = self.model.generate(inp, **kwargs)
        new = out[0, len(ids) :].tolist()
        finish = "stop" if new and new[-1] in self.eos_ids else ("length" if len(new) >= max_tokens else "stop")
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return cast(str, text), len(new), finish  # one id list decodes to one string


def _xlam_calls(text: str) -> list[dict] | None:
    """Tool calls when the whole output is a JSON list of {name, arguments} (vLLM's xlam case), else None."""
    s = text.strip()
    if not s.startswith("["):
        return None
    try:
        data = json.loads(s)
    except ValueError:
        return None
    if not isinstance(data, list) or not data:
        return None
    calls = []
    for c in data:
        if not (isinstance(c, dict) and isinstance(c.get("name"), str) and isinstance(c.get("arguments", {}), dict)):
            return None
        calls.append(
            {
                "id": "call_" + uuid.uuid4().hex[:24],
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))},
            }
        )
    return calls


def _error(status: int, message: str, kind: str = "invalid_request_error"):
    return JSONResponse(status_code=status, content={"error": {"message": message, "type": kind, "code": status}})


def build_app(m: _Model):
    app = FastAPI(title="bitagent transformers server", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    async def health():
        return Response(status_code=200)

    @app.get("/v1/models")
    async def models():
        return {
            "object": "list",
            "data": [
                {
                    "id": m.name,
                    "object": "model",
                    "created": m.created,
                    "owned_by": "bitagent",
                    "max_model_len": m.max_model_len,
                }
            ],
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "request body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object")
        if body.get("stream"):
            return _error(400, "stream=true is not supported by this server")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(x, dict) for x in messages):
            return _error(400, "messages must be a non-empty list of objects")
        tools = body.get("tools")
        if tools is not None and not isinstance(tools, list):
            return _error(400, "tools must be a list")
        if body.get("model") not in (None, "", m.name):
            return _error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
        max_tokens = body.get("max_completion_tokens")
        if max_tokens is None:
            max_tokens = body.get("max_tokens")
        if max_tokens is None:
            max_tokens = DEFAULT_MAX_TOKENS
        temperature = body.get("temperature", 0) or 0
        seed = body.get("seed")
        min_tokens = body.get("min_tokens") or 0  # vLLM's extra parameter
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            return _error(400, "max_tokens must be a positive integer")
        if (
            not isinstance(temperature, (int, float))
            or not isinstance(seed, (int, type(None)))
            or not isinstance(min_tokens, int)
        ):
            return _error(400, "temperature must be a number, seed and min_tokens integers")
        try:
            ids = m.render(messages, tools)
        except Exception as e:  # noqa: BLE001 template errors (no template, bad roles) are the client's problem
            return _error(400, f"chat template failed: {type(e).__name__}: {str(e)[:300]}")
        if len(ids) >= m.max_model_len:
            return _error(
                400,
                f"This model's maximum context length is {m.max_model_len} tokens. "
                f"However, your request has {len(ids)} input tokens.",
            )
        max_tokens = min(max_tokens, m.max_model_len - len(ids))
        text, n_out, finish = await asyncio.to_thread(m.generate, ids, max_tokens, float(temperature), seed, min_tokens)
        calls = _xlam_calls(text) if tools else None
        message: dict[str, Any] = {"role": "assistant", "content": None if calls else text}
        if calls:
            message["tool_calls"] = calls
            finish = "tool_calls" if finish == "stop" else finish
        return {
            "id": "chatcmpl-" + uuid.uuid4().hex,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": m.name,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": len(ids), "completion_tokens": n_out, "total_tokens": len(ids) + n_out},
        }

    return app


def _watch_parent(parent_pid: int, *, interval: float = 0.5, ready=None) -> None:
    """Exit when the process that started us is gone (it was SIGKILLed and could not stop us).

    ``parent_pid`` is the pid the parent gave us, so a parent that died before we got here is seen at
    once (our parent is then init or a subreaper, never ``parent_pid``) instead of being watched
    forever. ``ready()`` is called after that first check: tests wait on it, not on a sleep.
    """
    if os.getppid() != parent_pid:
        os._exit(0)
    if ready is not None:
        ready()
    while True:
        time.sleep(interval)
        if os.getppid() != parent_pid:
            os._exit(0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bitagent_cli.serving.hf_server", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="local model directory (safetensors)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--served-model-name", default=None)
    ap.add_argument("--max-model-len", type=int, default=8192)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    args = ap.parse_args(argv)

    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    t0 = time.monotonic()
    name = args.served_model_name or os.path.basename(os.path.abspath(args.model))
    try:
        m = _Model(args.model, name, args.max_model_len, args.seed, args.threads)
    except Exception as e:  # noqa: BLE001 (any load failure is reported in one line)
        print(
            f"error: could not load the model from {args.model}: {type(e).__name__}: {e}", file=sys.stderr, flush=True
        )
        return 1
    print(
        f"Loaded {name} from {args.model} in {time.monotonic() - t0:.2f} s (max_model_len={m.max_model_len})",
        flush=True,
    )
    import uvicorn

    uvicorn.run(
        build_app(m), host=args.host, port=args.port, log_level="info", access_log=False, timeout_graceful_shutdown=3
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
