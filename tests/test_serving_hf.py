"""The tiny random Llama served by the transformers backend, through the real process manager."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from bitagent_cli.serving.hf_server import _xlam_calls

pytestmark = pytest.mark.slow

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def _chat(server, **body):
    body = {
        "model": server.model_name,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "temperature": 0,
        "max_tokens": 16,
        **body,
    }
    return httpx.post(server.base_url + "/chat/completions", json=body, timeout=60)


def test_tiny_model_files(tiny_model_dir):
    names = {p.name for p in tiny_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pth")) for n in names)
    cfg = json.loads((tiny_model_dir / "config.json").read_text())
    assert cfg["model_type"] == "llama" and cfg["num_hidden_layers"] == 2 and "auto_map" not in cfg


def test_server_is_up_and_lists_the_model(tiny_server):
    assert tiny_server.backend == "transformers" and tiny_server.alive()
    assert tiny_server.base_url.startswith("http://127.0.0.1:") and tiny_server.base_url.endswith("/v1")
    assert tiny_server.supports_tools is True
    root = tiny_server.base_url[: -len("/v1")]
    assert httpx.get(root + "/health", timeout=5).status_code == 200
    models = httpx.get(tiny_server.base_url + "/models", timeout=5).json()
    assert [m["id"] for m in models["data"]] == ["tiny-model"]


def test_chat_with_tools_is_greedy_and_deterministic(tiny_server):
    r1 = _chat(tiny_server, tools=TOOLS)
    r2 = _chat(tiny_server, tools=TOOLS)
    assert r1.status_code == 200, r1.text
    out = r1.json()
    choice = out["choices"][0]
    assert out["object"] == "chat.completion" and out["model"] == "tiny-model"
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] in ("stop", "length", "tool_calls")
    assert isinstance(choice["message"]["content"], (str, type(None)))
    assert 0 < out["usage"]["completion_tokens"] <= 16
    assert choice["message"] == r2.json()["choices"][0]["message"]  # temperature 0: same answer
    # the tools are rendered into the prompt by the chat template
    no_tools = _chat(tiny_server).json()
    assert out["usage"]["prompt_tokens"] > no_tools["usage"]["prompt_tokens"]


def test_bad_requests_get_openai_errors(tiny_server):
    r = httpx.post(tiny_server.base_url + "/chat/completions", content=b"not json", timeout=10)
    assert r.status_code == 400 and "error" in r.json()
    assert _chat(tiny_server, messages=[]).status_code == 400
    assert _chat(tiny_server, model="other").status_code == 404
    assert _chat(tiny_server, max_tokens=0).status_code == 400
    long = [{"role": "user", "content": "word " * 20000}]  # past 8192 tokens (the tiny model takes 16384)
    r = _chat(tiny_server, messages=long)
    assert r.status_code == 400 and "maximum context length" in r.json()["error"]["message"]


def test_health_answers_while_generating(tiny_server):
    """Generation runs in a worker thread: /health keeps answering while a long request generates."""
    root = tiny_server.base_url[: -len("/v1")]
    done = {}

    def long_request():
        t0 = time.monotonic()
        done["r"] = _chat(tiny_server, max_tokens=300, min_tokens=300)
        done["s"] = time.monotonic() - t0

    t = threading.Thread(target=long_request)
    t.start()
    latencies = []
    while t.is_alive():
        t0 = time.monotonic()
        assert httpx.get(root + "/health", timeout=30).status_code == 200
        latencies.append(time.monotonic() - t0)
        time.sleep(0.02)
    t.join()
    assert done["r"].status_code == 200 and done["r"].json()["usage"]["completion_tokens"] == 300
    # Were /health blocked by the generation, one probe would wait for all of it.
    if done["s"] > 0.5:
        assert len(latencies) >= 3 and min(latencies) < 0.25, (done["s"], latencies[:5])


def test_xlam_list_becomes_tool_calls():
    calls = _xlam_calls('[{"name": "get_weather", "arguments": {"city": "Paris"}}]')
    assert calls and calls[0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert _xlam_calls("The weather is nice") is None
    assert _xlam_calls('[{"name": 3}]') is None and _xlam_calls("[]") is None
