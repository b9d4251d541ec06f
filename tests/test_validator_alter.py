"""Task alteration: a rewrite is used only when the expected answer still holds."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI, Request

from bitagent_cli.neurons.alter import TaskAlterer, ground_truth_holds
from bitagent_cli.neurons.miner import ThreadedServer
from bitagent_cli.tasks import Task

ORIGINAL = "What is the discounted price of the jacket, given it was originally $200 and there is a 20% reduction?"


def task(msg=ORIGINAL, expected=None, category="simple"):
    return Task.from_dict(
        {
            "id": "t/1",
            "category": category,
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": msg}],
            "tools": [
                {
                    "name": "calculate_discount",
                    "parameters": {
                        "type": "object",
                        "properties": {"original_price": {"type": "number"}, "discount_percentage": {"type": "number"}},
                    },
                }
            ],
            "expected": expected
            if expected is not None
            else [{"name": "calculate_discount", "arguments": {"original_price": [200], "discount_percentage": [20]}}],
        }
    )


@pytest.mark.parametrize(
    "rewrite,ok",
    [
        ("A jacket cost $200 and is now 20% off. What does it cost after the discount?", True),
        ("A jacket cost $200 and is now 25% off. What does it cost after the discount?", False),  # new number
        ("A jacket cost $200 and is now discounted. What does it cost now?", False),  # 20 lost
        ("", False),
        ("calculate_discount(original_price=200, discount_percentage=20)", False),
        ("x " * 400, False),
    ],
)
def test_numbers_guard(rewrite, ok):
    assert ground_truth_holds(ORIGINAL, rewrite, task())[0] is ok


def test_string_values_must_survive():
    msg = "Book a table at 'Chez Panisse' in Berkeley for tonight."
    t = task(
        msg,
        [
            {
                "name": "book",
                "arguments": {
                    "restaurant": ["Chez Panisse"],
                    "city": ["Berkeley", "berkeley, ca"],
                    "time": ["19:00", ""],
                },
            }
        ],
    )
    assert ground_truth_holds(msg, "Please reserve a table tonight at Chez Panisse, Berkeley.", t)[0]
    ok, reason = ground_truth_holds(msg, "Please reserve a table tonight at a restaurant in Berkeley.", t)
    assert not ok and "restaurant" in reason
    # case does not matter; values the original never stated (19:00) need not appear
    assert ground_truth_holds(msg, "reserve at CHEZ PANISSE in BERKELEY for tonight", t)[0]


def test_nested_and_list_values():
    msg = "Add the numbers 3, 5 and 8 to the list named primes."
    t = task(msg, [{"name": "add", "arguments": {"values": [[3, 5, 8]], "name": ["primes"]}}])
    assert ground_truth_holds(msg, "Append 3, 5 and 8 to the primes list.", t)[0]
    assert not ground_truth_holds(msg, "Append some numbers to the primes list.", t)[0]


def test_irrelevance_task_only_numbers_checked():
    msg = "Tell me a joke about 3 cats."
    assert ground_truth_holds(msg, "Could you share a joke involving 3 cats?", task(msg, [], "irrelevance"))[0]
    assert not ground_truth_holds(msg, "Could you share a joke involving 4 cats?", task(msg, [], "irrelevance"))[0]


def run(coro):
    return asyncio.run(coro)


def test_alterer_uses_a_safe_rewrite_and_keeps_the_rest():
    seen = []

    async def complete(messages):
        seen.append(messages)
        return 'Rewritten: "A $200 jacket is 20% off; what is its price now?"'

    res = run(TaskAlterer(complete).alter(task()))
    assert res.altered and res.task.messages[1]["content"] == "A $200 jacket is 20% off; what is its price now?"
    assert res.task.messages[0] == {"role": "system", "content": "be brief"}
    assert res.task.expected == task().expected and res.task.meta.get("altered") is True
    assert seen[0][-1]["content"] == ORIGINAL  # only the user's message goes to the LLM, no tools or answers
    assert "calculate_discount" not in str(seen[0])


@pytest.mark.parametrize("behaviour", ["raise", "none", "unsafe", "slow"])
def test_alterer_falls_back_to_the_original(behaviour):
    async def complete(messages):
        if behaviour == "raise":
            raise ConnectionError("llm down")
        if behaviour == "slow":
            await asyncio.sleep(5)
        if behaviour == "none":
            return None
        return "A jacket is 30% off its $250 price; what is its price now?"

    t = task()
    res = run(TaskAlterer(complete, timeout=0.2).alter(t))
    assert not res.altered and res.task is t and res.reason


def test_no_user_message():
    t = Task.from_dict(
        {
            "id": "x",
            "category": "simple",
            "messages": [{"role": "system", "content": "hi"}],
            "tools": [],
            "expected": [],
        }
    )
    res = run(TaskAlterer(lambda m: None).alter(t))
    assert not res.altered and res.task is t


def test_from_base_url_talks_to_an_openai_compatible_server():
    app = FastAPI()
    seen = []

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": "rewriter-7b", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def complete(request: Request):
        body = await request.json()
        seen.append(body)
        return {
            "id": "x",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": "The jacket was $200 and is 20% off: what is its new price?",
                    },
                }
            ],
        }

    with ThreadedServer(app) as srv:
        res = run(TaskAlterer.from_base_url(srv.base_url + "/v1", timeout=5).alter(task()))
    assert res.altered, res.reason
    assert res.task.messages[1]["content"].startswith("The jacket was $200")
    (body,) = seen
    assert body["model"] == "rewriter-7b" and body["temperature"] == 0 and not body.get("tools")
