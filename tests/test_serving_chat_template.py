# ruff: noqa: E501 - templates are written as their authors write them, one long line a construct
"""Chat templates: rendered once at vetting in a memory- and time-limited child, and with bounded work when served.

The attacks are a hostile miner's own template (issue 18): each must be refused by vetting, on every path
(a local directory, a hub repo before anything is downloaded, the downloaded snapshot), in a child that stays
small; real templates (builtin:tiny, SmolLM2's ChatML, Qwen2.5- and Llama-3.1-style tool templates written
here) must still pass and render exactly as transformers' own sandbox renders them.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import jinja2
import pytest
from test_serving_vetting import FakeApi, make_dir, sibs_of

from bitagent_cli.serving import chat_template as ct
from bitagent_cli.serving import vetting
from bitagent_cli.serving.smollm2 import CHATML_TEMPLATE
from bitagent_cli.serving.tiny import CHAT_TEMPLATE as TINY_TEMPLATE
from bitagent_cli.serving.vetting import ModelRefused, download_model, vet_chat_templates, vet_local, vet_model

# ---------------------------------------------------------------- real templates (written in their styles)
QWEN25_STYLE = """{%- if tools %}
{{- '<|im_start|>system\\n' }}
{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}
{{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n<tools>" }}
{%- for tool in tools %}{{- "\\n" }}{{- tool | tojson }}{%- endfor %}
{{- "\\n</tools>\\n\\nFor each function call, return a json object within <tool_call></tool_call> tags.<|im_end|>\\n" }}
{%- else %}
{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- endif %}
{%- endif %}
{%- for message in messages %}
{%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
{%- elif message.role == "assistant" %}
{{- '<|im_start|>' + message.role }}
{%- if message.content %}{{- '\\n' + message.content }}{%- endif %}
{%- for tool_call in message.tool_calls %}
{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
{{- '\\n<tool_call>\\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\\n' }}
{%- elif message.role == "tool" %}
{%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}
{{- '\\n<tool_response>\\n' }}{{- message.content }}{{- '\\n</tool_response>' }}
{%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\\n' }}{%- endif %}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
"""

LLAMA31_STYLE = """{{- bos_token }}
{%- if not tools_in_user_message is defined %}{%- set tools_in_user_message = true %}{%- endif %}
{%- if not date_string is defined %}{%- set date_string = strftime_now("%d %b %Y") %}{%- endif %}
{%- if not tools is defined %}{%- set tools = none %}{%- endif %}
{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system_message = "" %}{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if tools is not none %}{{- "Environment: ipython\\n" }}{%- endif %}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- if tools_in_user_message and not tools is none %}
{%- if messages | length != 0 %}{%- set first_user_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{{- raise_exception("no first user message for the tools") }}{%- endif %}
{{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
{{- "Given the following functions, respond with a JSON for a function call.\\n\\n" }}
{%- for t in tools %}{{- t | tojson(indent=4) }}{{- "\\n\\n" }}{%- endfor %}
{{- first_user_message + "<|eot_id|>"}}
{%- endif %}
{%- for message in messages %}
{%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
{%- elif 'tool_calls' in message %}
{%- if not message.tool_calls|length == 1 %}{{- raise_exception("only single tool-calls") }}{%- endif %}
{%- set tool_call = message.tool_calls[0].function %}
{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
{{- '{"name": "' + tool_call.name + '", ' }}{{- '"parameters": ' }}{{- tool_call.arguments | tojson }}{{- "}" }}{{- "<|eot_id|>" }}
{%- elif message.role == "tool" or message.role == "ipython" %}
{{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
{%- if message.content is mapping or message.content is iterable %}{{- message.content | tojson }}{%- else %}{{- message.content }}{%- endif %}
{{- "<|eot_id|>" }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}
"""

# Gemma-style: refuses a system turn with raise_exception. That is the template's choice, not an attack.
NO_SYSTEM = (
    "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}<start_of_turn>{{ m.role }}\n{{ m.content }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)

REAL = {
    "tiny": TINY_TEMPLATE,
    "smollm2": CHATML_TEMPLATE,
    "qwen25": QWEN25_STYLE,
    "llama31": LLAMA31_STYLE,
    "no_system": NO_SYSTEM,
}

# ---------------------------------------------------------------- attacks: (template, the limit that stops it)
ATTACKS = {
    "string_multiply": ("{{ 'x' * 3000000000 }}", "size"),
    "list_multiply": ("{{ ([1] * 100000) * 100000 }}", "size"),
    "nested_range": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "iterations"),
    "doubling_concat": ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "size"),
    "doubling_plus": ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "size"),
    "center_filter": ("{{ 'x' | center(3000000000) }}", "argument"),
    "str_format_width": ("{{ '{:>3000000000}'.format('x') }}", "argument"),
    "percent_width": ("{{ '%3000000000s' % 'x' }}", "argument"),
    "replace_doubling": ("{% set ns = namespace(s='x' * 1000) %}{% for i in range(30) %}{% set ns.s = ns.s.replace('x', 'xx') %}{% endfor %}", "size"),
    "join_amplify": ("{{ (['x' * 1000000] * 1000) | join('') }}", "size"),
    "int_squaring": ("{% set ns = namespace(n=3) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}", "size"),
    "big_power": ("{{ 2 ** 100000000 }}", "size"),
    "output_flood": ("{% for i in range(100000) %}{% for j in range(1000) %}xxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}", "output"),
    "expandtabs": ("{{ ('\\t' * 100000).expandtabs(100000) }}", "size"),
    "lipsum": ("{{ lipsum(100000) }}", "argument"),
    "infinite_recursion": ("{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursion"),
    "exponential_macro": ("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}", "time"),
    "sandbox_escape": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "sandbox"),
}  # fmt: skip


def _vars(case: int = 1, **tokens) -> dict:
    _, messages, with_tools = ct.CONVERSATIONS[case]
    return {
        "messages": json.loads(json.dumps(messages)),
        "tools": json.loads(json.dumps(ct.TOOLS)) if with_tools else None,
        "documents": None,
        "add_generation_prompt": True,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "date_string": "07 Dec 2026",
        **tokens,
    }


def _model_with_template(tmp_path, template: str, name: str = "m", where: str = "tokenizer_config.json"):
    d = make_dir(tmp_path, name)
    if where == "tokenizer_config.json":
        (d / where).write_text(json.dumps({"chat_template": template, "bos_token": "<s>", "eos_token": "</s>"}))
    else:
        (d / where).parent.mkdir(parents=True, exist_ok=True)
        (d / where).write_text(template)
    return d


# ---------------------------------------------------------------- the bounded sandbox itself
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_templates_render_as_transformers_renders_them(name):
    """Same environment: every representative conversation renders byte for byte as in transformers' sandbox."""
    ctu = pytest.importorskip("transformers.utils.chat_template_utils")
    reference = getattr(ctu, "_cached_compile_jinja_template", None)
    if reference is None:
        pytest.skip("this transformers has no uncached template compile to compare with")
    ours, theirs = ct.compile_template(REAL[name]), reference(REAL[name])
    rendered = 0
    for case in range(len(ct.CONVERSATIONS)):
        try:
            expected = theirs.render(**_vars(case))
        except jinja2.TemplateError as e:
            with pytest.raises(type(e)):
                ours.render(**_vars(case))
            continue
        assert ours.render(**_vars(case)) == expected
        rendered += 1
    assert rendered >= 1


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_each_attack_is_stopped_by_the_bounded_sandbox(name):
    template, limit = ATTACKS[name]
    tpl = ct.compile_template(template)
    with pytest.raises(jinja2.exceptions.SecurityError) as ei:
        try:
            tpl.render_bounded(_vars(), timeout_s=1.0 if limit == "time" else 30.0)  # a busy box: no early "time"
        except RecursionError:
            raise ct.TemplateLimit("recursion", "recursed") from None
    if limit != "sandbox":
        assert isinstance(ei.value, ct.TemplateLimit) and ei.value.limit == limit, str(ei.value)


def test_the_budget_is_per_render_not_per_process():
    """Three renders of 110k iterations each: each is within MAX_ITERATIONS, so none is refused."""
    assert ct.MAX_ITERATIONS < 3 * 110_000
    tpl = ct.compile_template("{% for i in range(55000) %}{% for j in range(1) %}{% endfor %}{% endfor %}ok")
    assert [tpl.render() for _ in range(3)] == ["ok"] * 3


# ---------------------------------------------------------------- vetting: the child process
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_templates_pass_vetting(tmp_path, name):
    v = vet_local(_model_with_template(tmp_path, REAL[name]))
    assert v.info["chat_template"]["templates"] == ["tokenizer_config.json"]
    assert v.info["chat_template"]["renders"]["tokenizer_config.json"] >= 1


BOOM = "{% if messages[-1]['content'] == 'boom' %}BOMB{% endif %}"  # a branch vetting's samples never take


@pytest.mark.parametrize(
    "bomb", ["{{ 'x' * 3000000000 }}", "{{ 'x' * 50000000 }}", "{{ [0] * 10 ** 9 }}", "{{ 2 ** 100000000 }}"]
)
def test_a_constant_bomb_in_a_branch_never_taken_is_refused_at_vetting(tmp_path, bomb):
    """jinja2's optimizer folds constants when it compiles, in every environment that does not intercept the
    operator: vLLM compiles templates so at start-up (outside transformers' hook) and died there with a 3 GB
    literal and a 2 GB log. Vetting sizes each fold before it is made (a MemoryError under its cap would be
    swallowed by jinja2 as "not foldable" and the bomb passed), so the branch need not be taken."""
    with pytest.raises(ModelRefused, match=r"in a constant jinja2 folds .*\(size limit\)"):
        vet_local(_model_with_template(tmp_path, BOOM.replace("BOMB", bomb) + TINY_TEMPLATE))


def test_honest_folds_and_a_bomb_that_needs_the_messages_pass_vetting(tmp_path):
    """Small constant folds are what templates do (`'=' * 20`); a bomb built from the messages cannot be
    folded, so vetting (whose samples never say "boom") passes it and serving's bounds refuse that request
    (tests/vllm_cpu: a 400 from vLLM; test_hf_server_refuses_a_hostile_template_per_request_and_keeps_serving)."""
    extras = ("{{ '=' * 20 }}{{ 2 ** 10 }}", BOOM.replace("BOMB", "{{ 'x' * (3000000000 + messages|length) }}"))
    for i, extra in enumerate(extras):
        vetting._TEMPLATE_VERDICTS.clear()
        v = vet_local(_model_with_template(tmp_path, extra + TINY_TEMPLATE, name=f"m{i}"))
        assert v.info["chat_template"]["renders"]["tokenizer_config.json"] >= 1
    ct.check_plain_compile("{{ '=' * 20 }}")  # and the fold table is jinja2's own again afterwards
    import operator

    import jinja2.nodes

    assert jinja2.nodes._binop_to_func["*"] is operator.mul


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_each_attack_is_refused_at_vetting_in_a_small_child(tmp_path, name, monkeypatch):
    template, limit = ATTACKS[name]
    # the time attack: 1 s, not 5; the others must hit their own limit first, even on a busy machine
    monkeypatch.setattr(vetting, "TEMPLATE_TIMEOUT_S", 1.0 if limit == "time" else 30.0)
    monkeypatch.setattr(vetting, "TEMPLATE_CPU_S", 5 if limit == "time" else 30)
    with pytest.raises(ModelRefused) as ei:
        vet_local(_model_with_template(tmp_path, template))
    msg = str(ei.value)
    assert "\n" not in msg and "chat template" in msg and ("fix the template" in msg or "remove that" in msg)
    if limit != "sandbox":
        assert f"({limit} limit)" in msg
    r = vetting.run_template_child({"t": template}, {}, timeout_s=1.0 if limit == "time" else 30.0, cpu_s=30)
    assert r["ok"] is False and r["maxrss_kb"] < 256 * 1024  # refused before it allocated: far under the 1 GiB cap


def test_a_template_in_a_jinja_file_or_a_named_list_is_vetted_too(tmp_path):
    bad = ATTACKS["string_multiply"][0]
    with pytest.raises(ModelRefused, match=re.escape("chat_template.jinja")):
        vet_local(_model_with_template(tmp_path, bad, "a", where="chat_template.jinja"))
    with pytest.raises(ModelRefused, match=re.escape("additional_chat_templates/tool_use.jinja")):
        vet_local(_model_with_template(tmp_path, bad, "b", where="additional_chat_templates/tool_use.jinja"))
    d = make_dir(tmp_path, "c")
    named = [{"name": "default", "template": CHATML_TEMPLATE}, {"name": "tool_use", "template": bad}]
    (d / "tokenizer_config.json").write_text(json.dumps({"chat_template": named}))
    with pytest.raises(ModelRefused, match=re.escape("tokenizer_config.json:tool_use")):
        vet_local(d)


def test_the_childs_memory_cap_holds_where_the_sandbox_allows_the_render(monkeypatch):
    """~115 MB of 4-byte characters, within every per-operation limit: the address-space cap stops it."""
    hog = (
        "{% set ns = namespace(l=[]) %}{% for i in range(15) %}"
        "{% set ns.l = ns.l + [('\U0001f600' * 3900000) ~ i] %}{% endfor %}{{ ns.l | length }}"
    )
    r = vetting.run_template_child({"t": hog}, {}, memory_bytes=100 << 20)
    assert (r["ok"], r["limit"]) == (False, "memory")
    monkeypatch.setattr(vetting, "TEMPLATE_MEMORY_BYTES", 100 << 20)
    with pytest.raises(ModelRefused, match="ran out of the 100 MiB memory limit"):
        vet_chat_templates("m", {"t": hog}, {})


def test_the_verdict_is_cached_per_content(tmp_path, monkeypatch):
    d = _model_with_template(tmp_path, QWEN25_STYLE + "{# cache test #}")
    vet_local(d)
    monkeypatch.setattr(vetting, "run_template_child", lambda *a, **k: pytest.fail("rendered twice"))
    vet_local(d)


def test_hub_model_with_a_hostile_template_is_refused_before_any_download(tmp_path):
    src = _model_with_template(tmp_path, ATTACKS["nested_range"][0], "src")
    api = FakeApi(siblings=sibs_of(src), safetensors=SimpleNamespace(total=1000))
    api.source = src
    with pytest.raises(ModelRefused, match=r"loops more than .* \(iterations limit\)"):
        vet_model("org/name", api=api)
    assert ("hf_hub_download", "tokenizer_config.json") in api.calls
    assert not [c for c in api.calls if c[0] == "snapshot_download"]


def test_hub_model_whose_downloaded_template_differs_is_refused_on_disk(tmp_path):
    """The Hub served a good template at vetting; the snapshot holds a hostile one: re-vetting on disk refuses."""
    src = _model_with_template(tmp_path, CHATML_TEMPLATE, "src")
    api = FakeApi(siblings=sibs_of(src), safetensors=SimpleNamespace(total=1000))
    api.source = src
    v = vet_model("org/name", api=api)
    assert v.info["chat_template"]["renders"]["tokenizer_config.json"] == 3
    (src / "tokenizer_config.json").write_text(json.dumps({"chat_template": ATTACKS["string_multiply"][0]}))
    with pytest.raises(ModelRefused, match=r"\(size limit\)"):
        download_model(v, tmp_path / "cache", api=api)


def test_a_model_without_a_template_is_not_rendered(tmp_path, monkeypatch):
    d = make_dir(tmp_path, "m")
    (d / "tokenizer_config.json").write_text("{}")
    monkeypatch.setattr(vetting, "run_template_child", lambda *a, **k: pytest.fail("nothing to render"))
    assert vet_local(d).info["chat_template"] == {"templates": [], "renders": {}}


def test_a_child_that_dies_is_a_refusal_with_one_sentence(monkeypatch):
    cases = [
        ({"ok": None, "signal": "SIGXCPU", "returncode": -24, "killed_after": None, "stderr_tail": ""}, "CPU limit"),
        ({"ok": None, "signal": None, "returncode": 0, "killed_after": 35.0, "stderr_tail": ""}, "did not finish"),
        ({"ok": None, "signal": None, "returncode": 1, "killed_after": None, "stderr_tail": "MemoryError"}, "memory"),
        ({"ok": None, "signal": "SIGSEGV", "returncode": -11, "killed_after": None, "stderr_tail": ""}, "crashed"),
    ]
    for i, (reply, match) in enumerate(cases):
        monkeypatch.setattr(vetting, "run_template_child", lambda *a, r=reply, **k: r)
        with pytest.raises(ModelRefused, match=match) as ei:
            vet_chat_templates("m", {"t": f"{{{{ {i} }}}}"}, {})
        assert "\n" not in str(ei.value)


# ---------------------------------------------------------------- serving: transformers renders through the bound
def test_transformers_apply_chat_template_is_bounded_once_patched(monkeypatch):
    ctu = pytest.importorskip("transformers.utils.chat_template_utils")
    tokenizers = pytest.importorskip("tokenizers")
    from transformers import PreTrainedTokenizerFast

    monkeypatch.setattr(ctu, "_compile_jinja_template", ctu._compile_jinja_template)  # undone after the test
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tokenizers.Tokenizer(tokenizers.models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    )
    messages = _vars()["messages"]
    before = tok.apply_chat_template(messages, chat_template=QWEN25_STYLE, tools=ct.TOOLS, tokenize=False)
    assert ct.patch_transformers()
    after = tok.apply_chat_template(messages, chat_template=QWEN25_STYLE, tools=ct.TOOLS, tokenize=False)
    assert after == before
    with pytest.raises(ct.TemplateLimit, match="size"):
        tok.apply_chat_template(messages, chat_template=ATTACKS["string_multiply"][0], tokenize=False)
    with pytest.raises(jinja2.exceptions.SecurityError):  # the sandbox is still there
        tok.apply_chat_template(messages, chat_template=ATTACKS["sandbox_escape"][0], tokenize=False)


@pytest.mark.slow
def test_hf_server_refuses_a_hostile_template_per_request_and_keeps_serving(tiny_model_dir, tmp_path):
    """The second layer end to end: a model dir whose template was swapped after vetting (start_server does not
    vet). Each request is a 400 naming the limit, at once, and the server keeps answering."""
    import shutil

    import httpx

    from bitagent_cli.serving import start_server

    d = tmp_path / "hostile"
    shutil.copytree(tiny_model_dir, d)
    bad = "{% if messages | length > 1 %}{{ 'x' * 3000000000 }}{% endif %}" + TINY_TEMPLATE
    for f in ("chat_template.jinja", "tokenizer_config.json"):
        if (d / f).exists() and f.endswith(".jinja"):
            (d / f).write_text(bad)
        elif (d / f).exists():
            cfg = json.loads((d / f).read_text())
            if "chat_template" in cfg:
                cfg["chat_template"] = bad
                (d / f).write_text(json.dumps(cfg))
    with start_server(str(d), backend="transformers", served_name="hostile", settings={"startup_timeout": 120}) as s:
        url = s.base_url + "/chat/completions"
        two = [{"role": "user", "content": "hi"}, {"role": "user", "content": "again"}]
        r = httpx.post(url, json={"messages": two, "max_tokens": 4}, timeout=60)
        assert r.status_code == 400 and "TemplateLimit" in r.text and "size" in r.text, r.text
        assert r.elapsed.total_seconds() < 10
        ok = httpx.post(url, json={"messages": two[:1], "max_tokens": 4}, timeout=60)  # the branch not taken
        assert ok.status_code == 200, ok.text


def test_an_interrupt_while_the_child_renders_takes_the_child_with_it(monkeypatch):
    import os
    import subprocess
    import time

    from bitagent_cli.serving.process import pid_alive

    started: list[int] = []

    real_popen = subprocess.Popen

    def popen(*a, **k):
        p = real_popen(*a, **k)
        started.append(p.pid)
        return p

    monkeypatch.setattr(subprocess, "Popen", popen)
    real_sleep = time.sleep

    def sleep(s):  # the first wait inside run_template_child is where Ctrl-C lands
        if started:
            raise KeyboardInterrupt
        real_sleep(s)

    monkeypatch.setattr(time, "sleep", sleep)
    with pytest.raises(KeyboardInterrupt):
        vetting.run_template_child({"t": ATTACKS["exponential_macro"][0]}, {})
    assert started and not pid_alive(started[0])
    with pytest.raises(ChildProcessError):
        os.waitpid(started[0], os.WNOHANG)  # reaped, not left a zombie


def test_parse_returns_the_template_as_written_and_compiling_twice_bounds_once():
    """vLLM reads a template's AST through ``environment.parse`` (to see how it loops over content): the bounds
    are added at code generation only, so it sees the loops as written."""
    src = "{% for m in messages %}{% for c in m['content'] %}{{ c.text ~ '!' }}{% endfor %}{% endfor %}"
    env = ct.compile_template(src).environment
    names = {n.name for n in env.parse(src).find_all(jinja2.nodes.Name)}
    assert not {"_bitagent_iter", "_bitagent_concat"} & names
    assert names == {n.name for n in jinja2.Environment().parse(src).find_all(jinja2.nodes.Name)}
    tree = env.parse(src)
    env.from_string(tree)  # the same tree compiled twice: wrapped once
    env.from_string(tree)
    assert sum(1 for n in tree.find_all(jinja2.nodes.Name) if n.name == "_bitagent_iter") == 2
    msgs = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert ct.compile_template(src).render(messages=msgs) == "hi!"


FAKE_VLLM_API_SERVER = """
import json, sys
from transformers.utils import chat_template_utils as ctu

def render(template):
    convs = [[{"role": "user", "content": "hi"}]]
    try:
        ctu.render_jinja_template(conversations=convs, chat_template=template, add_generation_prompt=True)
        return "rendered"
    except Exception as e:
        return type(e).__name__ + ": " + str(e)[:120]

if __name__ == "__main__":
    print(json.dumps({"argv": sys.argv[1:], "name": __name__,
                      "hostile": render(sys.argv[sys.argv.index("--template") + 1]),
                      "honest": render("{% for m in messages %}{{ m.content }}{% endfor %}")}))
"""


@pytest.mark.slow  # a fresh interpreter importing transformers: ~7 s on a busy box
def test_vllm_runs_behind_the_bounded_compile(tmp_path):
    """`python -m bitagent_cli.serving.vllm_bounded vllm.entrypoints.openai.api_server ...`: vLLM's module runs
    as __main__ with its arguments, and a template rendered through transformers there is bounded. The module
    here is a stand-in; tests/vllm_cpu checks the same on vLLM's CPU build (the vllm backend runs through it)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("transformers.utils.chat_template_utils")
    from bitagent_cli.serving.backends import VLLM_API_MODULE, VLLM_BOUNDED_MODULE

    pkg = tmp_path / "fake" / "vllm" / "entrypoints" / "openai"
    pkg.mkdir(parents=True)
    for d in (pkg, pkg.parent, pkg.parent.parent):
        (d / "__init__.py").write_text("")
    (pkg / "api_server.py").write_text(FAKE_VLLM_API_SERVER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "fake"), os.environ.get("PYTHONPATH", "")])}
    hostile = ATTACKS["string_multiply"][0]
    out = subprocess.run(
        [sys.executable, "-m", VLLM_BOUNDED_MODULE, VLLM_API_MODULE, "--model", "m", "--template", hostile],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["name"] == "__main__" and got["argv"] == ["--model", "m", "--template", hostile]
    assert got["hostile"].startswith("TemplateLimit") and "size" in got["hostile"]
    assert got["honest"] == "rendered"


def test_generate_and_stream_are_bounded_too_and_leave_no_budget_behind():
    tpl = ct.compile_template(ATTACKS["nested_range"][0])
    with pytest.raises(ct.TemplateLimit, match="iterations"):
        list(tpl.generate())
    with pytest.raises(ct.TemplateLimit, match="iterations"):
        "".join(tpl.stream())
    ok = ct.compile_template("{% for i in range(3) %}{{ i }}{% endfor %}")
    gen = ok.generate()
    next(gen)  # abandoned mid-way: the caller's context holds no budget
    assert ct._BUDGET.get() is None
    assert ok.render() == "012"
