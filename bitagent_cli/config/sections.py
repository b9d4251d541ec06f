"""Typed settings: one frozen dataclass per section (``chain``, ``wallet``, ``eval``, ``miner``, ``validator``,
``paths``), built from :data:`bitagent_cli.config.SETTINGS`, the one place where settings, their types and
defaults are declared. A setting added there is a field here with no other edit.

    s = load_settings("testnet").typed
    s.eval.seed            # int: the task-sampling seed (``--seed``)
    s.eval.generation_seed # int: the model server's seed (vLLM ``--seed``), a separate setting
    s.miner.port

The mapping access (``settings["eval.seed"]``) keeps working; these are a read-only view of the same values.
List settings become tuples (the dataclasses are frozen and hashable).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from . import SETTINGS

__all__ = ["SECTIONS", "TypedSettings", "section", "section_class"]


def _sections() -> tuple[str, ...]:
    return tuple(dict.fromkeys(k.partition(".")[0] for k in SETTINGS))


SECTIONS: tuple[str, ...] = _sections()


def _field_type(typ: type) -> Any:
    return tuple[str, ...] if typ is list else typ


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _make(section_name: str) -> type:
    fields = []
    for key, spec in SETTINGS.items():
        sec, _, name = key.partition(".")
        if sec == section_name:
            fields.append((name, _field_type(spec.type), dataclasses.field(default=_frozen(spec.default))))
    cls_name = section_name.capitalize() + "Settings"
    cls = dataclasses.make_dataclass(
        cls_name, fields, frozen=True, slots=True, namespace={"__doc__": f"The ``[{section_name}]`` settings (frozen)."}
    )
    cls.__module__ = __name__
    return cls


_CLASSES: dict[str, type] = {name: _make(name) for name in SECTIONS}


def section_class(name: str) -> type:
    """The frozen dataclass of section ``name`` (``"eval"`` -> ``EvalSettings``)."""
    try:
        return _CLASSES[name]
    except KeyError:
        raise KeyError(f"no settings section {name!r}; sections: {', '.join(SECTIONS)}") from None


def section(settings: Mapping[str, Any] | None, name: str) -> Any:
    """Section ``name`` of ``settings`` (a resolved Settings or a plain dotted-key dict) as its frozen
    dataclass; keys that are missing or empty-None take the declared default."""
    cls = section_class(name)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = f"{name}.{f.name}"
        if settings is not None and key in settings and settings[key] is not None:
            values[f.name] = _frozen(settings[key])
    return cls(**values)


@dataclasses.dataclass(frozen=True)
class TypedSettings:
    """Every section of a resolved Settings as frozen dataclasses (``typed.eval.seed``)."""

    profile: str
    chain: Any
    wallet: Any
    eval: Any
    miner: Any
    validator: Any
    paths: Any

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any], profile: str | None = None) -> TypedSettings:
        prof = profile if profile is not None else str(getattr(settings, "profile", ""))
        return cls(
            profile=prof,
            **{name: section(settings, name) for name in ("chain", "wallet", "eval", "miner", "validator", "paths")},
        )
