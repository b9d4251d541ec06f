"""The bfcl suite: spot checks of the conversion against known BFCL v4 records."""

from __future__ import annotations

import collections
import json

import pytest
from conftest import SHARED_DATA

from bitagent_cli.tasks import Task
from bitagent_cli.tasks.bfcl import BFCL_CATEGORIES, bfcl_record_to_task, convert_bfcl_dir, split_bfcl_id
from bitagent_cli.tasks.suites import load_suite


@pytest.fixture(scope="module")
def bfcl():
    return {t.id: t for t in load_suite("bfcl")}


def test_counts_and_categories(bfcl):
    cats: dict[str, int] = {}
    for t in bfcl.values():
        cats[t.category] = cats.get(t.category, 0) + 1
    assert cats == {
        "simple": 400,
        "multiple": 200,
        "parallel": 200,
        "parallel_multiple": 200,
        "irrelevance": 240,
        "live_simple": 258,
        "live_multiple": 1053,
        "live_parallel": 16,
        "live_parallel_multiple": 24,
        "live_irrelevance": 884,
        "live_relevance": 16,
        "simple_java": 100,
        "simple_javascript": 50,
    }
    assert len(bfcl) == 3641


def test_simple_python_0(bfcl):
    t = bfcl["bfcl/simple_python/0"]
    assert t.category == "simple"
    assert t.messages == (
        {"role": "user", "content": "Find the area of a triangle with a base of 10 units and height of 5 units."},
    )
    (tool,) = t.tools
    assert tool.name == "calculate_triangle_area"
    assert tool.parameters["type"] == "object"
    assert tool.required == ["base", "height"]
    assert tool.properties["base"]["type"] == "integer"
    (exp,) = t.expected
    assert exp.name == "calculate_triangle_area"
    assert exp.arguments == {"base": [10], "height": [5], "unit": ["units", ""]}  # "" = may be omitted
    assert t.meta == {"source": "bfcl", "bfcl_id": "simple_python_0", "bfcl_category": "simple_python"}


def test_tuple_and_float_types(bfcl):
    tool = bfcl["bfcl/simple_python/83"].tools[0]
    coord = tool.properties["coord1"]
    assert coord["type"] == "array" and coord["x-python-type"] == "tuple"
    assert coord["items"] == {"type": "number", "x-python-type": "float"}
    timeout = bfcl["bfcl/live_irrelevance/7-0-7"].tools[0].properties["timeout"]
    assert timeout["type"] == "number" and timeout["x-python-type"] == "float"


def test_any_type_and_dict_params(bfcl):
    data = bfcl["bfcl/simple_python/109"].tools[0].properties["data"]
    assert "type" not in data and data["x-python-type"] == "any"
    t = bfcl["bfcl/simple_python/89"]
    cond = t.tools[0].properties["conditions"]
    assert cond["type"] == "object" and set(cond["properties"]) == {"department", "school"}
    assert t.expected[0].arguments["conditions"] == [
        {"department": ["Science"], "school": ["Bluebird High School", "Bluebird HS"]}
    ]
    assert t.expected[0].arguments["fetch_limit"] == ["", 0]
    # no "dict" survives anywhere in any tool schema
    blob = json.dumps([tl.to_dict() for task in bfcl.values() for tl in task.tools])
    assert '"type": "dict"' not in blob and '"type": "float"' not in blob and '"type": "tuple"' not in blob


def test_parallel_dotted_names(bfcl):
    t = bfcl["bfcl/parallel/0"]
    assert [e.name for e in t.expected] == ["spotify.play", "spotify.play"]
    assert [e.arguments["artist"] for e in t.expected] == [["Taylor Swift"], ["Maroon 5"]]


def test_irrelevance_relevance_and_live(bfcl):
    assert bfcl["bfcl/irrelevance/0"].expected == () and bfcl["bfcl/irrelevance/0"].category == "irrelevance"
    li = bfcl["bfcl/live_irrelevance/0-0-0"]
    assert li.category == "live_irrelevance" and li.expected == ()
    rel = bfcl["bfcl/live_relevance/0-0-0"]
    assert rel.category == "live_relevance" and rel.expected == () and len(rel.tools) >= 2
    ls = bfcl["bfcl/live_simple/0-0-0"]
    assert ls.category == "live_simple"
    assert ls.expected[0].name == "get_user_info"
    assert ls.expected[0].arguments == {"user_id": [7890], "special": ["black"]}
    # system messages are kept, in order, before the user turn
    with_system = [t for t in bfcl.values() if t.messages[0]["role"] == "system"]
    assert len(with_system) >= 90
    assert all(t.messages[-1]["role"] in ("user", "assistant") for t in with_system)


def test_split_id():
    assert split_bfcl_id("live_parallel_multiple_3-2-0") == ("live_parallel_multiple", "3-2-0")
    assert split_bfcl_id("parallel_multiple_12") == ("parallel_multiple", "12")
    assert split_bfcl_id("simple_python_0") == ("simple_python", "0")


def test_package_data_matches_a_fresh_conversion_and_the_validating_reader():
    src = SHARED_DATA / "bfcl"
    if not src.exists():
        pytest.skip("shared BFCL data not present")
    fresh = convert_bfcl_dir(src)
    shipped = load_suite("bfcl")
    assert [t.to_dict() for t in fresh] == [t.to_dict() for t in shipped]
    # the fast loader gives what the validating parser gives
    for t in shipped[::50]:
        assert Task.from_dict(json.loads(t.to_json())) == t


def test_record_errors():
    from bitagent_cli.tasks import TaskFormatError

    rec = {"id": "simple_python_9", "question": [[{"role": "user", "content": "q"}]], "function": []}
    with pytest.raises(TaskFormatError, match="no possible answer"):
        bfcl_record_to_task(rec)
    t = bfcl_record_to_task(rec, {"id": "simple_python_9", "ground_truth": [{"f": {"a": [1]}}]})
    assert t.id == "bfcl/simple_python/9" and t.expected[0].arguments == {"a": [1]}
    assert set(BFCL_CATEGORIES.values()) >= {"simple", "live_irrelevance", "live_relevance"}


# ---------------------------------------------------------------- Java, JavaScript, multi-turn
def test_java_and_javascript_tasks_as_bfcl_shows_them(bfcl):
    t = bfcl["bfcl/simple_java/1"]
    assert t.category == "simple_java" and t.language == "java" and t.meta["language"] == "java"
    (tool,) = t.tools
    assert tool.name == "SQLCompletionAnalyzer.makeProposalsFromObject"
    assert tool.description.endswith(" Note that the provided function is in Java 8 SDK syntax.")
    params = tool.properties["params"]
    assert params["type"] == "string" and params["x-bfcl-type"] == "HashMap"
    assert params["description"].endswith("This is Java HashMap type parameter in string representation.")
    assert tool.properties["object"]["description"].endswith(
        "This parameter can be of any type of Java object in string representation."
    )
    assert t.expected[0].arguments["params"] == [{"limit": [50], "schemaFilter": ["public"]}]
    arr = bfcl["bfcl/simple_java/83"].tools[0].properties["argv"]
    assert arr["x-bfcl-type"] == "Array" and arr["x-bfcl-items-type"] == "String" and "items" not in arr
    assert "The list elements are of type String; they are not in string representation." in arr["description"]
    # what the model is sent: plain JSON schema, our x- keys stripped
    sent = tool.to_openai()["function"]["parameters"]["properties"]["params"]
    assert sent == {"type": "string", "description": params["description"]}
    js = bfcl["bfcl/simple_javascript/5"].tools[0]
    assert js.description.endswith("Note that the provided function is in JavaScript syntax.")
    store = js.properties["store"]
    assert (
        store["x-bfcl-type"] == "dict"
        and "properties" not in store
        and "The dictionary entries have the following schema" in store["description"]
    )
    assert bfcl["bfcl/simple_python/0"].language == "python"


@pytest.fixture(scope="module")
def full():
    return load_suite("bfcl-full")


def test_bfcl_full_carries_the_multi_turn_tasks(full, bfcl):
    from bitagent_cli.tasks.bfcl import MULTI_TURN_DOC_FILES

    multi = [t for t in full if t.multi_turn is not None]
    assert len(full) == len(bfcl) + 800 and [t.id for t in full[: len(bfcl)]] == list(bfcl)
    assert collections.Counter(t.category for t in multi) == {
        "multi_turn_base": 200,
        "multi_turn_miss_func": 200,
        "multi_turn_miss_param": 200,
        "multi_turn_long_context": 200,
    }
    t = next(t for t in multi if t.id == "bfcl/multi_turn_miss_func/0")
    mt = t.multi_turn
    assert mt["missed_function"] == {"3": ["sort"]} and mt["turns"][3] == []
    assert mt["involved_classes"] == ["TwitterAPI", "GorillaFileSystem"]
    assert mt["ground_truth"][0] == [
        "cd(folder='document')",
        "mkdir(dir_name='temp')",
        "mv(source='final_report.pdf', destination='temp')",
    ]
    assert len(mt["turns"]) == len(mt["ground_truth"]) == 5 and mt["excluded_function"] == ["cp"]
    assert "GorillaFileSystem" in mt["initial_config"] and mt["path"]
    assert t.messages == tuple(mt["turns"][0]) and t.expected == ()
    names = [x.name for x in t.tools]
    assert "sort" in names and "post_tweet" in names and names.index("post_tweet") < names.index("cd")
    assert (
        t.meta["tool_classes"]["sort"] == "GorillaFileSystem" and t.meta["tool_classes"]["post_tweet"] == "TwitterAPI"
    )
    assert set(t.meta["tool_classes"].values()) == set(mt["involved_classes"])
    assert all("missed_function" not in x.multi_turn for x in multi if x.category != "multi_turn_miss_func")
    assert set(MULTI_TURN_DOC_FILES) >= {c for x in multi for c in x.multi_turn["involved_classes"]}
    # the JSONL form round-trips through the validating reader
    for x in multi[::97]:
        assert Task.from_dict(json.loads(x.to_json())) == x


def test_bfcl_full_long_context_tasks_play_with_bfcls_long_context_setup(full):
    # multi_turn_long_context: its own questions (the same conversations as multi_turn_base, some with more
    # files), played over APIs loaded with BFCL's long-context filler, for the model and for the checker
    from bitagent_cli.multiturn import MultiTurnCase, Session, parse_call

    lc = [t for t in full if t.category == "multi_turn_long_context"]
    assert len(lc) == 200 and lc[0].id == "bfcl/multi_turn_long_context/0"
    case = MultiTurnCase.from_task(lc[0])
    assert case.long_context
    assert not MultiTurnCase.from_task(next(t for t in full if t.category == "multi_turn_base")).long_context
    # BFCL's long-context filler is in the state the model works on (and the checker compares): more files
    find = [parse_call("find(path='.')")]
    (plain,) = Session(case.involved_classes, case.initial_config).execute(find)
    (padded,) = case.session().execute(find)
    assert len(json.loads(padded)["matches"]) > len(json.loads(plain)["matches"]) + 5


def test_multi_turn_task_format_errors():
    from bitagent_cli.tasks import TaskFormatError

    base = {"id": "m", "category": "multi_turn_base", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(TaskFormatError, match="needs a 'multi_turn'"):
        Task.from_dict(base)
    with pytest.raises(TaskFormatError, match="'turns' is a list"):
        Task.from_dict({**base, "multi_turn": {"turns": "nope"}})
    ok = Task.from_dict({**base, "multi_turn": {"turns": [[{"role": "user", "content": "hi"}], []]}})
    assert ok.multi_turn["turns"][1] == [] and "multi_turn" in ok.to_dict()
    assert "multi_turn" not in Task.from_dict({"id": "s", "messages": []}).to_dict()
    with pytest.raises(TaskFormatError, match="unknown category"):
        Task.from_dict({**base, "category": "multi_turn_other"})


def test_multi_turn_package_data_matches_a_fresh_conversion():
    from bitagent_cli.tasks.bfcl import convert_bfcl_multi_turn

    src = SHARED_DATA / "bfcl"
    if not src.exists():
        pytest.skip("shared BFCL data not present")
    fresh = convert_bfcl_multi_turn(src)
    shipped = [t for t in load_suite("bfcl-full") if t.multi_turn is not None]
    assert [t.to_dict() for t in fresh] == [t.to_dict() for t in shipped]
