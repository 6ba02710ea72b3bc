"""The layering rules of docs/conventions: walk every module's imports and fail on a broken arrow."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "xinedai"
DOMAINS = {
    "org",
    "households",
    "credit",
    "products",
    "campaigns",
    "lending",
    "ledger",
    "servicing",
    "portal",
    "monitoring",
    "demo",
    "channel",
}
UPPER_LAYERS = {"views", "api", "tasks", "forms", "urls"}


def modules():
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(SRC.parent).with_suffix("")
        yield path, ".".join(rel.parts)


def imports_of(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:
                    out.update(f"{mod}.{a.name}" for a in node.names)
                else:
                    out.add(mod)
            elif node.module:
                out.add(node.module)
    return out


ALL = [(m, imports_of(p, m)) for p, m in modules()]


@pytest.mark.parametrize(("module", "imported"), [(m, i) for m, i in ALL if m.endswith(".rules")])
def test_rules_are_pure(module, imported):
    bad = {i for i in imported if i.split(".")[0] in {"django", "ninja"} or i.startswith("xinedai")}
    assert not bad, f"{module} must not import {bad}"


@pytest.mark.parametrize(("module", "imported"), [(m, i) for m, i in ALL if m.startswith("xinedai.core")])
def test_core_imports_no_domain(module, imported):
    bad = {i for i in imported if i.startswith("xinedai.") and i.split(".")[1] in DOMAINS}
    assert not bad, f"{module} must not import {bad}"


@pytest.mark.parametrize(("module", "imported"), ALL)
def test_no_module_imports_another_domains_pages(module, imported):
    parts = module.split(".")
    own = parts[1] if len(parts) > 2 else None
    for i in imported:
        ip = i.split(".")
        if len(ip) >= 3 and ip[0] == "xinedai" and ip[1] in DOMAINS and ip[2] in {"views", "forms", "urls"}:
            assert ip[1] == own, f"{module} imports {i}: another domain's pages"


@pytest.mark.parametrize(
    ("module", "imported"),
    [(m, i) for m, i in ALL if m.rsplit(".", 1)[-1] in {"services", "models", "access", "queries", "rules", "roster"}],
)
def test_lower_layers_never_import_upper_ones(module, imported):
    bad = {i for i in imported if i.startswith("xinedai.") and i.rsplit(".", 1)[-1] in UPPER_LAYERS}
    assert not bad, f"{module} must not import {bad}"


def test_every_domain_module_says_what_it_owns():
    missing = [
        m
        for p, m in modules()
        if p.stat().st_size
        and ast.get_docstring(ast.parse(p.read_text())) is None
        and p.name not in {"__init__.py", "urls.py"}
    ]
    assert not missing, f"modules without a docstring: {missing}"


def test_no_float_in_money_fields():
    from django.apps import apps
    from django.db import models

    for model in apps.get_models():
        if not model.__module__.startswith("xinedai"):
            continue
        for field in model._meta.get_fields():
            if field.name.endswith("_fen"):
                assert isinstance(field, models.BigIntegerField), f"{model.__name__}.{field.name}"
            assert not isinstance(field, models.FloatField), f"{model.__name__}.{field.name} is a float"
