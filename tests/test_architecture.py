"""The dependency direction of the design and a clean lint, checked on every run."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_import_contracts_hold() -> None:
    """app -> cases -> case_types | rules -> forms, the domain packages import no Flask or WeasyPrint, and
    every other contract of pyproject.toml is kept."""
    done = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert ", 0 broken." in done.stdout and f"Contracts: {len(contracts)} kept" in done.stdout
    for contract in contracts:
        assert f"{contract['name']} KEPT" in done.stdout
    assert "The offline verifier stands alone: standard library and cryptography only KEPT" in done.stdout


def test_offline_verifier_imports_only_the_standard_library_and_cryptography() -> None:
    """verifier/casework_verify.py (with pdf_signature.py beside it) is copied alone to an auditor's machine:
    nothing else may be imported."""
    import ast

    for name in ("casework_verify.py", "pdf_signature.py"):
        tree = ast.parse((ROOT / "verifier" / name).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module and not node.level}
        assert imported - set(sys.stdlib_module_names) == {"cryptography"}, name
        relative = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level
                    for alias in node.names}
        assert relative <= {"pdf_signature"}, name


def test_ruff_is_clean() -> None:
    done = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_form_and_rule_languages_read_no_posted_forms() -> None:
    """Posted HTML forms (multi-dicts, input names such as ``option_label`` or ``days-0``) are read in app/;
    forms/ and rules/ take plain values."""
    import ast

    offenders = []
    for path in sorted([*(ROOT / "forms").rglob("*.py"), *(ROOT / "rules").rglob("*.py")]):
        name = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            reads = isinstance(node, ast.Attribute) and node.attr == "getlist"
            reads |= isinstance(node, ast.Constant) and node.value == "getlist"
            reads |= isinstance(node, ast.Name) and node.id in ("MultiDict", "ImmutableMultiDict", "Post")
            if reads:
                offenders.append(f"{name}:{node.lineno}")  # type: ignore[attr-defined]
    assert offenders == [], offenders


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_test_module_imports_another() -> None:
    """Shared helpers live in tests/support (fixtures in the conftest files), so a test module stays free to
    move or go without breaking the others."""
    offenders = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "tests").rglob("*.py")) if "node_modules" not in path.parts
        for module in _imported_modules(path)
        if module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith("test_")
    }
    assert not offenders, sorted(offenders)


def test_the_readme_maps_every_package() -> None:
    """The README's Development section names every package and sub-package, one line each."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Development", 1)[1].split("```", 2)[1]
    mapped = {line.split()[0].rstrip("/") for line in section.splitlines() if line.strip()}
    tops = ("app", "cases", "case_types", "forms", "rules", "verifier")
    packages = {str(init.parent.relative_to(ROOT)) for top in tops for init in (ROOT / top).rglob("__init__.py")}
    assert packages - mapped == set(), "add a line for each to the README's Development section"
