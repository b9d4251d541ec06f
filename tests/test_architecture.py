"""The layering in docs/architecture.md, checked on the source: nothing imports cli/ or neurons/ (except cli),
only chain/ imports bittensor, config/ imports nothing of ours, and heavy optional deps are imported lazily."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "bitagent_cli"


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    pkg_parts = path.relative_to(PKG.parent).with_suffix("").parts
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg_parts[: len(pkg_parts) - node.level])
                if path.name == "__init__.py":
                    base = list(pkg_parts[: len(pkg_parts) - node.level + 1])[:-1] or base
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
    return out


def _modules():
    return [p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts]


def _area(p: Path) -> str:
    rel = p.relative_to(PKG).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


def test_only_chain_imports_bittensor():
    offenders = [
        str(p.relative_to(PKG))
        for p in _modules()
        if _area(p) != "chain" and any(m == "bittensor" or m.startswith("bittensor.") for m in _imports(p))
    ]
    assert offenders == []


#: Compatibility shims left where a module used to be: they only re-export the moved module.
_SHIMS = ("report",)  # report.py -> cli/report.py


def test_shims_only_re_export():
    import ast

    for name in _SHIMS:
        tree = ast.parse((PKG / f"{name}.py").read_text())
        assert all(isinstance(n, (ast.ImportFrom, ast.Expr)) for n in tree.body), name


def test_nothing_imports_cli_or_neurons_except_cli():
    offenders = []
    for p in _modules():
        area = _area(p)
        for m in _imports(p):
            if m.startswith("bitagent_cli.cli") and area not in ("cli", "__main__", *_SHIMS):
                offenders.append(f"{p.relative_to(PKG)} -> {m}")
            if m.startswith("bitagent_cli.neurons") and area not in ("cli", "neurons"):
                offenders.append(f"{p.relative_to(PKG)} -> {m}")
    assert offenders == []


def test_config_imports_nothing_of_ours():
    for p in (PKG / "config").rglob("*.py"):
        assert not [
            m
            for m in _imports(p)
            if m.startswith("bitagent_cli") and not m.startswith(("bitagent_cli.config", "bitagent_cli.errors"))
        ]


def test_errors_module_imports_nothing_of_ours():
    assert not [m for m in _imports(PKG / "errors.py") if m.startswith("bitagent_cli")]


def test_heavy_optional_deps_are_lazy():
    heavy = ("vllm", "torch", "transformers", "datasets", "wandb")
    offenders = []
    for p in _modules():
        if p.name == "hf_server.py":  # runs in its own process, only with the [cpu] extra
            continue
        for m in _imports(p, top_level_only=True):
            if m.split(".")[0] in heavy:
                offenders.append(f"{p.relative_to(PKG)} -> {m}")
    assert offenders == []
