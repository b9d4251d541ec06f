"""A tiny randomly initialised Llama, built offline in about a second (tests and the README's demo).

``make_tiny_model(dest)`` writes a complete Hugging Face model directory: a byte-level BPE
tokenizer trained here on a few KB of built-in text, a chat template that renders ``tools``, a
2-layer Llama with hidden size 64
(two attention heads of 32, a size vLLM's CPU attention supports) and random weights, saved as safetensors.
Its answers are noise, but everything around them (vetting, serving, the chat template, HTTP, scoring, the
cache) is the real code path.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["CHAT_TEMPLATE", "make_tiny_model"]

SPECIAL_TOKENS = ["<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>", "<|tool|>"]

# Renders the tools as JSON in a system turn, then every message; assistant tool calls as JSON.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% if tools %}<|system|>\nYou can call these functions. Answer with a JSON list of calls, "
    '[{"name": ..., "arguments": {...}}], or with text when no function fits.\n'
    "{{ tools | tojson }}</s>\n{% endif %}"
    "{% for m in messages %}"
    "{% if m.role in ['system', 'user', 'assistant'] %}<|{{ m.role }}|>\n{% else %}<|tool|>\n{% endif %}"
    "{% if m.content is string %}{{ m.content }}{% elif m.content %}{{ m.content | tojson }}{% endif %}"
    "{% if m.tool_calls %}{{ m.tool_calls | tojson }}{% endif %}</s>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

_CORPUS = """
You are a helpful assistant. Call the right function with the right arguments.
[{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}]
[{"name": "calculate_area", "arguments": {"shape": "circle", "radius": 5}}]
[{"name": "search_flights", "arguments": {"origin": "NYC", "destination": "LAX", "date": "2024-05-01"}}]
{"type": "function", "function": {"name": "send_email", "description": "Send an email",
 "parameters": {"type": "object", "properties": {"to": {"type": "string"}, "subject": {"type": "string"}},
 "required": ["to", "subject"]}}}
What is the weather like in Berlin today? Please book a table for two at 7 pm.
Convert 100 US dollars to euros. Find the factorial of 5. How many days until Christmas?
The quick brown fox jumps over the lazy dog. 0123456789 true false null
integer number string boolean array object enum default minimum maximum items
"""


def _build_tokenizer(vocab_size: int = 512):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([_CORPUS] * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        additional_special_tokens=SPECIAL_TOKENS[3:],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def make_tiny_model(dest: Path, *, seed: int = 0, hidden_size: int = 64, layers: int = 2) -> Path:
    """Write a tiny random Llama (safetensors + tokenizer + chat template) to ``dest``; returns ``dest``."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        # Head size 32 (2 heads of hidden 64): vLLM's CPU attention takes 32, 64, 80, ... but not 16.
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden_size // 32),
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=16384,  # its byte-level tokens make long prompts
        tie_word_embeddings=False,  # tied, a random model only repeats its last token
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    model.save_pretrained(dest)  # safetensors is the default (and the only format transformers 5 writes)
    tokenizer.save_pretrained(dest)
    (dest / "README.md").write_text(
        "---\nlicense: mit\n---\n# tiny-model\n\nA randomly initialised 2-layer Llama built by "
        "`bitagent_cli.serving.tiny.make_tiny_model` for tests and demos. Its outputs are noise.\n"
    )
    if not list(dest.glob("*.safetensors")):  # pragma: no cover - older transformers defaulting to .bin
        raise RuntimeError("transformers did not write safetensors weights")
    json.loads((dest / "config.json").read_text())
    return dest
