"""Our transformers server and a chat template that cannot show tools: refused as vLLM refuses them without a
tool parser (a 400 with vLLM's message and body), so the client falls back to BFCL's prompt mode, instead of
answering the bare question as if the tools had been seen. In process (the app, not a server process)."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil

import httpx
import pytest

from bitagent_cli.serving.client import chat, tools_unsupported
from bitagent_cli.serving.hf_server import VLLM_NO_PARSER, _Model, build_app
from bitagent_cli.serving.smollm2 import CHATML_TEMPLATE
from bitagent_cli.tasks import Tool

pytestmark = pytest.mark.slow  # torch, a tiny model built and loaded: ~4 s idle, 10-25 s on a busy box

TOOL = Tool("get_weather", "Weather for a city.", {"type": "object", "properties": {"city": {"type": "string"}}})
MESSAGES = [{"role": "user", "content": "Weather in Paris?"}]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from bitagent_cli.serving.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-model")


def _with_template(src, dest, template: str):
    shutil.copytree(src, dest)
    cfg_path = dest / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["chat_template"] = template
    cfg_path.write_text(json.dumps(cfg))
    (dest / "chat_template.jinja").unlink(missing_ok=True)
    return dest


@pytest.fixture(scope="module")
def models(tiny_dir, tmp_path_factory):
    """builtin:tiny as built (its template renders tools), the same weights with SmolLM2's ChatML template (no
    tools), and with that template plus a comment that says 'tools' (what a text search takes for support)."""
    from transformers import AutoTokenizer

    root = tmp_path_factory.mktemp("templates")
    out = {"tiny": _Model(str(tiny_dir), "m", 2048, 0, 1)}
    commented = "{# tools are not rendered by this template #}" + CHATML_TEMPLATE
    for name, template in (("chatml", CHATML_TEMPLATE), ("commented", commented)):
        # the same weights (loaded once), that template's tokenizer; the check _Model runs at load, run again
        m = copy.copy(out["tiny"])
        m.tokenizer = AutoTokenizer.from_pretrained(_with_template(tiny_dir, root / name, template))
        m.shows_tools = m._template_shows_tools()
        out[name] = m
    return out


async def _post(model, body):
    transport = httpx.ASGITransport(app=build_app(model))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        return await c.post("/v1/chat/completions", json=body)


def _ask(model, **extra):
    body = {"model": "m", "messages": MESSAGES, "max_tokens": 4, "temperature": 0, **extra}
    return asyncio.run(_post(model, body))


def test_the_template_check_renders_a_probe_tool(models):
    assert models["tiny"].shows_tools is True  # builtin:tiny's template renders tools as JSON
    assert models["chatml"].shows_tools is False
    assert models["commented"].shows_tools is False  # says "tools", shows none


@pytest.mark.parametrize("name", ["chatml", "commented"])
def test_tools_the_template_cannot_show_are_refused_as_vllm_does(models, name):
    r = _ask(models[name], tools=[TOOL.to_openai()], tool_choice="auto")
    assert r.status_code == 400
    err = r.json()["error"]
    assert err == {"message": VLLM_NO_PARSER, "type": "BadRequestError", "param": None, "code": 400}
    assert tools_unsupported(r.status_code, r.text)  # what makes our client switch to prompt mode
    r = _ask(models[name], tools=[TOOL.to_openai()])  # no tool_choice: "auto", as in vLLM
    assert r.status_code == 400
    r = _ask(models[name], tools=[TOOL.to_openai()], tool_choice="required")
    assert r.status_code == 400 and r.json()["error"]["message"] == (
        'tool_choice="required" requires --tool-call-parser to be set'
    )
    r = _ask(models[name], tools=[TOOL.to_openai()], tool_choice="none")  # no calls wanted: answered
    assert r.status_code == 200 and "tool_calls" not in r.json()["choices"][0]["message"]
    assert _ask(models[name]).status_code == 200  # no tools: answered


def test_a_template_that_shows_tools_still_takes_them(models):
    r = _ask(models["tiny"], tools=[TOOL.to_openai()])
    assert r.status_code == 200, r.text


def test_the_client_falls_back_to_prompt_mode_on_the_refusal(models):
    """Through serving.client.chat: two requests, the second in BFCL's prompt mode with no tools field."""
    sent: list[dict] = []
    app = build_app(models["chatml"])

    async def run():
        async def record(request: httpx.Request):
            sent.append(json.loads(request.content))

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, event_hooks={"request": [record]}) as c:
            return await chat(c, "http://t/v1", "m", MESSAGES, [TOOL], max_tokens=4, retries=0)

    comp = asyncio.run(run())
    assert comp.ok and comp.prompt_mode and comp.attempts == 2
    assert "tools" in sent[0] and "tools" not in sent[1]
    assert sent[1]["messages"][0]["content"].startswith("You are an expert in composing functions.You are given")


def test_completions_take_a_raw_prompt_and_the_log_has_what_the_model_saw(models, tmp_path):
    """/v1/completions (what BFCL's OSS handlers call) and --log-prompts: the chat prompt as the template made
    it, the raw prompt as sent, and the sampling settings after the cap at the context left."""
    log = tmp_path / "prompts.jsonl"
    m = copy.copy(models["chatml"])
    m.max_model_len = len(m.render(MESSAGES, None)[1]) + 2  # two tokens left for the chat request
    m.names = {"m", "/models/alias"}  # --served-model-name m /models/alias (BFCL sends its local model path)
    app = build_app(m, str(log))

    async def run():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            raw = {"model": "/models/alias", "prompt": "<|im_start|>user\nhi", "max_tokens": 3}
            a = await c.post("/v1/completions", json=raw)
            b = await c.post("/v1/chat/completions", json={"messages": MESSAGES, "max_tokens": 100000, "seed": 1})
            bad = await c.post("/v1/completions", json={"prompt": ""})
            listed = await c.get("/v1/models")
            return a, b, bad, listed

    a, b, bad, listed = asyncio.run(run())
    assert a.status_code == 200 and b.status_code == 200 and bad.status_code == 400
    assert [x["id"] for x in listed.json()["data"]] == ["m", "/models/alias"]
    got = a.json()
    assert got["object"] == "text_completion" and isinstance(got["choices"][0]["text"], str)
    assert got["usage"]["completion_tokens"] <= 3
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [x["endpoint"] for x in lines] == ["completions", "chat"]
    assert lines[0]["prompt"] == "<|im_start|>user\nhi" and lines[0]["max_tokens"] == 3
    assert lines[1]["prompt"].endswith("<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n")
    assert lines[1]["max_tokens"] == 2 and lines[1]["params"] == {"max_tokens": 100000, "seed": 1}


def test_max_new_tokens_caps_every_answer(models, tmp_path):
    """--max-new-tokens N (vLLM's generation-config max_new_tokens): whatever a client asks for."""
    log = tmp_path / "prompts.jsonl"
    app = build_app(models["chatml"], str(log), max_new_tokens=1)

    async def run():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.post("/v1/chat/completions", json={"messages": MESSAGES, "max_tokens": 4096})

    r = asyncio.run(run())
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 1
    assert json.loads(log.read_text())["max_tokens"] == 1
