"""A small OpenAI-compatible server for a local transformers model (the CPU backend).

    python -m bitagent_cli.serving.hf_server --model DIR --port P [--served-model-name N [ALIAS ...]]

Endpoints: ``GET /health`` (200 once the model is loaded), ``GET /v1/models``,
``POST /v1/chat/completions`` (messages + tools rendered by the model's own chat template,
greedy decoding at temperature 0) and ``POST /v1/completions`` (a raw prompt, as BFCL's OSS handlers send;
special tokens added as vLLM adds them). ``--log-prompts FILE``: one JSON line per generation with the prompt
as the model sees it. Generation runs in a worker thread, one request at a time,
so the event loop keeps answering ``/health``.

Tools: when the chat template shows them (a probe tool's name appears in the rendered prompt; checked once
at load), they are rendered and a whole-output JSON list of ``{name, arguments}`` becomes ``tool_calls``
(vLLM's xlam parser). When it does not, a request with ``tools`` is refused as vLLM without a tool parser
refuses it (HTTP 400, ``"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be
set``, vLLM's error body), instead of answering the bare question as if tools had been seen: clients fall
back to putting the tools in the prompt. ``tool_choice: "none"`` is accepted either way (no calls parsed).

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

#: The tool rendered once at load to learn whether the chat template shows tools.
_PROBE_TOOL_NAME = "bitagent_probe_fn_3f9c"
_PROBE_TOOL = {
    "type": "function",
    "function": {"name": _PROBE_TOOL_NAME, "description": "", "parameters": {"type": "object", "properties": {}}},
}
#: vLLM's answer (``renderers/online_renderer.py``, 0.32) to ``tool_choice: auto`` without a tool parser.
VLLM_NO_PARSER = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


class _Model:
    def __init__(self, path: str, served_name: str, max_model_len: int, seed: int, threads: int | None):
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.name = served_name
        self.names = {served_name}  # every name a request may use (vLLM's --served-model-name A B ...)
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
        self.shows_tools = self._template_shows_tools()

    def _template_shows_tools(self) -> bool:
        """Whether the chat template puts ``tools`` in the prompt (a template that ignores them, or has none,
        does not)."""
        try:
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": "hi"}], tools=[_PROBE_TOOL], add_generation_prompt=True, tokenize=False
            )
        except Exception:  # noqa: BLE001 - no template, or one that cannot take tools
            return False
        return isinstance(text, str) and _PROBE_TOOL_NAME in text

    def render(self, messages: list[dict], tools: list | None) -> tuple[str, list[int]]:
        """The prompt the chat template makes of a conversation, and its token ids."""
        text = self.tokenizer.apply_chat_template(
            messages, tools=tools or None, add_generation_prompt=True, tokenize=False
        )
        return cast(str, text), list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, prompt: str) -> list[int]:
        """A raw prompt's token ids, special tokens added as vLLM's completions endpoint adds them."""
        return list(self.tokenizer(prompt, add_special_tokens=True)["input_ids"])

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
    """An OpenAI-style error body (vLLM's shape: ``{"error": {message, type, param, code}}``)."""
    return JSONResponse(
        status_code=status, content={"error": {"message": message, "type": kind, "param": None, "code": status}}
    )


def _refuse_tools(tool_choice: Any) -> str | None:
    """vLLM's refusal of tools when it has no tool parser (None: ``tool_choice: "none"`` needs none)."""
    if tool_choice in (None, "auto"):
        return VLLM_NO_PARSER
    if tool_choice == "none":
        return None
    if isinstance(tool_choice, dict):
        name = (
            (tool_choice.get("function") or {}).get("name") if isinstance(tool_choice.get("function"), dict) else None
        )
        desc = f'function "{name}"'
    else:
        desc = f'"{tool_choice}"'
    return f"tool_choice={desc} requires --tool-call-parser to be set"


def build_app(m: _Model, prompt_log: str | None = None, max_new_tokens: int | None = None):
    """The app; ``prompt_log``: a file that gets one JSON line per generation (the endpoint, the prompt as the
    model sees it, the sampling settings), to compare what two clients send; ``max_new_tokens``: a cap on
    every request's completion tokens (vLLM's ``--override-generation-config '{"max_new_tokens": N}'``)."""
    app = FastAPI(title="bitagent transformers server", docs_url=None, redoc_url=None, openapi_url=None)
    log_lock = threading.Lock()

    def log_prompt(endpoint: str, prompt: str, n_ids: int, max_tokens: int, temperature: float, body: dict) -> None:
        if not prompt_log:
            return
        extra = sorted(k for k in body if k not in ("model", "messages", "prompt", "tools", "tool_choice"))
        line = json.dumps(
            {
                "endpoint": endpoint,
                "prompt": prompt,
                "prompt_tokens": n_ids,
                "max_tokens": max_tokens,
                "temperature": temperature,
                "params": {k: body[k] for k in extra},
                "time": time.time(),
            }
        )
        with log_lock, open(prompt_log, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    async def _complete(body: dict, prompt: str, ids: list[int], endpoint: str) -> Any:
        """(text, completion tokens, finish reason) for a rendered prompt, or the error response."""
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
        if len(ids) >= m.max_model_len:
            return _error(
                400,
                f"This model's maximum context length is {m.max_model_len} tokens. "
                f"However, your request has {len(ids)} input tokens.",
            )
        max_tokens = min(max_tokens, m.max_model_len - len(ids))  # as vLLM: capped at the context left
        if max_new_tokens:
            max_tokens = min(max_tokens, max_new_tokens)
        log_prompt(endpoint, prompt, len(ids), max_tokens, float(temperature), body)
        return await asyncio.to_thread(m.generate, ids, max_tokens, float(temperature), seed, min_tokens)

    @app.get("/health")
    async def health():
        return Response(status_code=200)

    @app.get("/v1/models")
    async def models():
        return {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "created": m.created,
                    "owned_by": "bitagent",
                    "max_model_len": m.max_model_len,
                }
                for name in [m.name, *sorted(m.names - {m.name})]
            ],
        }

    async def _json_body(request: Request) -> dict[str, Any] | JSONResponse:
        """The request's JSON object, or the 400 both completion routes answer for a body they cannot take."""
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "request body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object")
        if body.get("stream"):
            return _error(400, "stream=true is not supported by this server")
        return body

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return body
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(x, dict) for x in messages):
            return _error(400, "messages must be a non-empty list of objects")
        tools = body.get("tools")
        if tools is not None and not isinstance(tools, list):
            return _error(400, "tools must be a list")
        if body.get("model") not in (None, "", *m.names):
            return _error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
        tool_choice = body.get("tool_choice")
        if tools and not m.shows_tools:
            refusal = _refuse_tools(tool_choice)
            if refusal is not None:
                return _error(400, refusal, "BadRequestError")
        parse_calls = bool(tools) and tool_choice != "none"
        try:
            text, ids = m.render(messages, tools)
        except Exception as e:  # noqa: BLE001 template errors (no template, bad roles) are the client's problem
            return _error(400, f"chat template failed: {type(e).__name__}: {str(e)[:300]}")
        got = await _complete(body, text, ids, "chat")
        if isinstance(got, JSONResponse):
            return got
        text, n_out, finish = got
        calls = _xlam_calls(text) if parse_calls else None
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

    @app.post("/v1/completions")
    async def completions(request: Request):
        """A raw prompt (what BFCL's OSS handlers send: the prompt formatted by their own chat template)."""
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return body
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str) or not prompt:
            return _error(400, "prompt must be a non-empty string")
        if body.get("model") not in (None, "", *m.names):
            return _error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
        body.setdefault("max_tokens", 16)  # the OpenAI (and vLLM) default of this endpoint
        got = await _complete(body, prompt, m.encode(prompt), "completions")
        if isinstance(got, JSONResponse):
            return got
        text, n_out, finish = got
        n_in = len(m.encode(prompt))
        return {
            "id": "cmpl-" + uuid.uuid4().hex,
            "object": "text_completion",
            "created": int(time.time()),
            "model": m.name,
            "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out},
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
    ap.add_argument(
        "--served-model-name", nargs="+", default=None, help="the model's name; more names are accepted too (as vLLM)"
    )
    ap.add_argument("--max-model-len", type=int, default=8192)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--parent-pid", type=int, default=None, help="exit when this process is gone")
    ap.add_argument("--log-prompts", default=None, help="append each prompt the model is given to this JSONL file")
    ap.add_argument("--max-new-tokens", type=int, default=None, help="cap every request's completion tokens")
    args = ap.parse_args(argv)

    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    t0 = time.monotonic()
    names = args.served_model_name or [os.path.basename(os.path.abspath(args.model))]
    name = names[0]
    try:
        m = _Model(args.model, name, args.max_model_len, args.seed, args.threads)
        m.names.update(names)
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
        build_app(m, args.log_prompts, args.max_new_tokens),
        host=args.host,
        port=args.port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=3,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
