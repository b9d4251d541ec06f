"""Typed settings (config/sections.py): frozen dataclasses per section built from config.SETTINGS, and the
task-sampling seed kept apart from the model server's seed."""

from __future__ import annotations

import dataclasses

import pytest

from bitagent_cli.config import SETTINGS, load_settings
from bitagent_cli.config.sections import SECTIONS, TypedSettings, section, section_class


def test_every_setting_is_a_field_with_its_default():
    for key, spec in SETTINGS.items():
        sec, _, name = key.partition(".")
        fields = {f.name: f for f in dataclasses.fields(section_class(sec))}
        assert name in fields, key
        want = tuple(spec.default) if isinstance(spec.default, list) else spec.default
        assert fields[name].default == want, key
    assert sum(len(dataclasses.fields(section_class(s))) for s in SECTIONS) == len(SETTINGS)


def test_sections_are_frozen_and_read_the_resolved_values(monkeypatch, tmp_path):
    monkeypatch.setenv("BITAGENT_CONFIG_DIR", str(tmp_path))
    s = load_settings("local", {"eval.seed": 11, "miner.port": 9001, "eval.suites": "bfcl"})
    t = s.typed
    assert isinstance(t, TypedSettings) and t.profile == "local"
    assert t.eval.seed == 11 and t.miner.port == 9001 and t.eval.suites == ("bfcl",)
    assert t.chain.netuid == s["chain.netuid"]  # the mapping access still works, same values
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.eval.seed = 3  # type: ignore[misc]


def test_section_of_a_plain_dict_takes_defaults_for_what_is_missing():
    ev = section({"eval.limit": 5, "eval.seed": None}, "eval")
    assert ev.limit == 5 and ev.seed == SETTINGS["eval.seed"].default
    with pytest.raises(KeyError, match="no settings section"):
        section({}, "nope")


def test_sampling_seed_and_generation_seed_are_separate_settings():
    assert "eval.seed" in SETTINGS and "eval.generation_seed" in SETTINGS
    ev = section({"eval.seed": 5, "eval.generation_seed": 9}, "eval")
    assert (ev.seed, ev.generation_seed) == (5, 9)


def test_the_task_sampling_seed_never_reaches_the_model_server():
    from bitagent_cli.serving.backends import vllm_argv

    def seed_flag(settings):
        argv = vllm_argv(
            "someone/plain-model", port=1, served_name="m", executable=["vllm"], device="gpu", settings=settings
        )
        return argv[argv.index("--seed") + 1]

    assert seed_flag({"eval.seed": 1234}) == "0"  # --seed 1234 picks tasks; vLLM keeps its own seed
    assert seed_flag({"eval.seed": 1234, "eval.generation_seed": 7}) == "7"
