"""tasks/suites.py: listing, hashing, category selection, stratified deterministic sampling, speed, data."""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import REPO, SHARED_DATA

from bitagent_cli.tasks import Task, read_tasks, write_tasks
from bitagent_cli.tasks.suites import (
    SUITES,
    UnknownCategory,
    UnknownSuite,
    _allocate,
    list_suites,
    load_suite,
    sample_tasks,
    suite_hash,
    suite_info,
)

DATA = REPO / "bitagent_cli" / "tasks" / "data"


def test_list_suites():
    infos = {s.name: s for s in list_suites()}
    assert list(infos) == ["bfcl", "glaive", "bitagent", "bfcl-full"]
    for s in infos.values():
        assert s.count == sum(s.categories.values()) > 0
        assert len(s.hash) == 16 and int(s.hash, 16) >= 0
        assert s.license.startswith("Apache-2.0") and s.description
        assert s.to_dict()["categories"] == s.categories
    assert infos["bfcl"].count == 3641
    assert infos["bfcl-full"].count == 4441  # BFCL's 17 offline categories (the validators' 16 + long context)
    assert set(infos["glaive"].categories) == {"simple", "multiple", "irrelevance"}
    assert set(infos["bitagent"].categories) == {"multiple", "irrelevance"}


def test_hash_is_stable_and_content_sensitive():
    a = load_suite("glaive")
    suite_info.cache_clear()
    assert suite_hash(a) == suite_hash(load_suite("glaive")) == suite_info("glaive").hash
    # the hash of a re-read export equals the hash of the loaded suite
    assert suite_hash(list(a)) == suite_hash([Task.from_json(t.to_json()) for t in a])
    changed = list(a)
    changed[5] = dataclasses.replace(changed[5], messages=({"role": "user", "content": "something else"},))
    assert suite_hash(changed) != suite_hash(a)
    assert suite_hash(list(reversed(a))) != suite_hash(a)  # order is part of the content
    assert suite_hash(a[:-1]) != suite_hash(a)
    # a pinned value: if this changes, the suite's content changed (rebuild or conversion change)
    assert suite_hash(load_suite("bfcl")) == "cf57ad44052ddb04"


def test_unknown_suite_and_category():
    with pytest.raises(UnknownSuite) as e:
        load_suite("bfcl_v9")
    assert str(e.value) == "unknown suite 'bfcl_v9'; choose one of: bfcl, glaive, bitagent, bfcl-full"
    with pytest.raises(UnknownCategory) as e2:
        load_suite("glaive", category="parallel")
    assert "choose from: " in str(e2.value) and "simple" in str(e2.value) and "\n" not in str(e2.value)


def test_category_selection():
    only = load_suite("bfcl", category="live_simple")
    assert len(only) == 258 and {t.category for t in only} == {"live_simple"}
    two = load_suite("bfcl", category=["simple", "live_relevance"])
    assert Counter(t.category for t in two) == {"simple": 400, "live_relevance": 16}
    assert load_suite("bfcl", category="simple,live_relevance") == two


def test_limit_is_deterministic_stratified_and_nested():
    a = load_suite("bfcl", limit=100, seed=1)
    assert a == load_suite("bfcl", limit=100, seed=1)
    assert len(a) == 100
    counts = Counter(t.category for t in a)
    assert set(counts) == set(suite_info("bfcl").categories)  # every category is represented
    assert counts["live_multiple"] > counts["simple"] > counts["live_parallel"]  # proportional
    assert abs(counts["live_multiple"] - 100 * 1053 / 3641) <= 3
    b = load_suite("bfcl", limit=100, seed=2)
    assert [t.id for t in a] != [t.id for t in b]
    bigger = {t.id for t in load_suite("bfcl", limit=300, seed=1)}
    assert {t.id for t in a} <= bigger  # a larger limit keeps what a smaller one chose
    # tasks come back in suite order
    order = {t.id: i for i, t in enumerate(load_suite("bfcl"))}
    assert [order[t.id] for t in a] == sorted(order[t.id] for t in a)
    # a limit smaller than the number of categories still works, and is deterministic
    few = load_suite("bfcl", limit=3, seed=0)
    assert len(few) == 3 and few == load_suite("bfcl", limit=3, seed=0)
    assert load_suite("bfcl", limit=10**6) == load_suite("bfcl")
    assert load_suite("glaive", category="simple", limit=5, seed=9) == load_suite(
        "glaive", category="simple", limit=5, seed=9
    )


def test_allocate():
    assert _allocate({"a": 10, "b": 10}, 4) == {"a": 2, "b": 2}
    assert _allocate({"a": 1000, "b": 1, "c": 5}, 10) == {"a": 8, "b": 1, "c": 1}
    assert sum(_allocate({"a": 3, "b": 2}, 2).values()) == 2
    assert _allocate({"a": 2, "b": 100}, 50) == {"a": 1, "b": 49}
    assert _allocate({"a": 2, "b": 100}, 101) == {"a": 2, "b": 99}
    assert sum(_allocate({"a": 7, "b": 3, "c": 1}, 10).values()) == 10


def test_sample_tasks_on_arbitrary_lists():
    tasks = load_suite("glaive")
    s = sample_tasks(tasks, 30, seed=4)
    assert len(s) == 30 and s == sample_tasks(tasks, 30, seed=4)
    assert sample_tasks(tasks, 0) == [] and sample_tasks(tasks, None) == list(tasks)


def test_ids_unique_and_valid_everywhere():
    for name in SUITES:
        tasks = load_suite(name)
        assert len({t.id for t in tasks}) == len(tasks)
        for t in tasks[::7]:  # the fast loader agrees with the validating parser
            assert Task.from_dict(t.to_dict()) == t


def test_export_read_roundtrip(tmp_path):
    tasks = load_suite("bitagent", limit=50, seed=3)
    path = tmp_path / "bitagent.jsonl"
    write_tasks(path, tasks)
    back, errors = read_tasks(path)
    assert errors == [] and back == tasks and suite_hash(back) == suite_hash(tasks)


def test_loading_is_fast():
    code = (
        "import time; t=time.process_time(); from bitagent_cli.tasks.suites import load_suite;"
        "n=sum(len(load_suite(s)) for s in ('bfcl','glaive','bitagent')); print(n, time.process_time()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    n, secs = out.stdout.split()
    assert int(n) > 4000
    assert float(secs) < 2.5, f"loading all suites took {secs}s of CPU"  # ~0.4 s on the dev machine
    t = time.thread_time()  # CPU time: a busy machine's preemption is not the code's
    load_suite("bfcl", limit=10)
    assert time.thread_time() - t < 0.5  # cached


def test_package_data_is_small_and_licensed():
    files = {p.name: p.stat().st_size for p in DATA.iterdir()}
    assert {"bfcl.jsonl.gz", "glaive.jsonl.gz", "bitagent.jsonl.gz", "NOTICE.md"} <= set(files)
    assert sum(files.values()) < 3_000_000
    notice = (DATA / "NOTICE.md").read_text()
    assert "Apache" in notice and "bfcl-eval" in notice and "glaive" in notice.lower()
    for spec in SUITES.values():  # one JSON object a line
        first = gzip.decompress((DATA / spec.file).read_bytes()).split(b"\n", 1)[0]
        assert first.startswith(b'{"id":')


@pytest.mark.slow
def test_package_data_is_up_to_date():
    if not (SHARED_DATA / "bfcl").exists() or not (SHARED_DATA / "glaive").exists():
        pytest.skip("shared data not present")
    spec = importlib.util.spec_from_file_location("build_suites", REPO / "scripts" / "build_suites.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    built = mod.build(SHARED_DATA, {"bfcl", "glaive", "bitagent"})
    assert {spec.file for spec in SUITES.values()} <= set(built)  # every shipped suite was rebuilt and compared
    for name, blob in built.items():
        assert (DATA / name).read_bytes() == blob, f"{name} is stale: run python scripts/build_suites.py"


def test_package_data_is_not_git_ignored():
    """hatchling leaves out what .gitignore ignores: the suites must never match an ignore pattern."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    files = [str(p.relative_to(REPO)) for p in DATA.iterdir()]
    out = subprocess.run(
        ["git", "check-ignore", "--no-index", *files], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert out.returncode == 1 and out.stdout == "", f"ignored by .gitignore: {out.stdout}"


def test_wheel_includes_package_data(tmp_path):
    """The wheel built from the tree contains the suites (hatchling packs files inside the package dir)."""
    pytest.importorskip("hatchling")
    from hatchling.builders.wheel import WheelBuilder

    builder = WheelBuilder(str(REPO))
    names = set()
    for included in builder.recurse_included_files():
        names.add(Path(included.distribution_path).as_posix())
    for spec in SUITES.values():
        assert f"bitagent_cli/tasks/data/{spec.file}" in names
    assert "bitagent_cli/tasks/data/NOTICE.md" in names
    for profile in ("local", "testnet", "mainnet"):  # profiles/ is force-included as package data
        assert any(n.endswith(f"bitagent_cli/_profiles/{profile}.toml") for n in names), profile
    assert "bitagent_cli/py.typed" in names  # PEP 561: the package's annotations are for its users too
    import bitagent_cli

    assert builder.metadata.version == bitagent_cli.__version__  # one version source (hatch reads __init__.py)
