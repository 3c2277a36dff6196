"""The package's shape (issue 23): small files, few loose modules, one-way imports, modalities as plug-ins."""

import ast
from pathlib import Path

import pytest

from dirvae.modalities import MODALITIES

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "dirvae"
SOURCES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 400
MAX_TOP_LEVEL_MODULES = 6
MAX_FUNCTION_IMPORTS = 5
READERS = {"image": ["data/images.py"], "audio": ["data/audio.py"], "video": ["data/video.py"], "text": ["text/"]}
"""Reader modules (or packages, ending in /) that belong to one modality, besides its spec: their nouns and fields
(an image reader's ``modality = "image"``, the ``text`` column a text reader reads by default)."""


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def test_no_source_file_is_over_400_lines():
    long = {_relative(p): n for p in SOURCES if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def test_at_most_six_modules_sit_at_the_top_of_the_package():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def _imported_modules(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("package", ["runs", "training", "modalities", "model", "data", "latent", "losses", "nets", "io", "evaluation"])
def test_only_the_cli_imports_the_cli(package):
    offenders = {
        _relative(path): sorted(m for m in _imported_modules(_tree(path)) if m.startswith("dirvae.cli"))
        for path in (PACKAGE / package).rglob("*.py")
    }
    assert not {k: v for k, v in offenders.items() if v}


def _function_level_imports(tree: ast.Module) -> list[int]:
    """Import statements inside functions (not under ``if TYPE_CHECKING:``, which never runs)."""
    lines = []
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    lines.append(node.lineno)
    return lines


def test_at_most_five_function_level_imports():
    found = {_relative(p): lines for p in SOURCES if (lines := _function_level_imports(_tree(p)))}
    assert sum(len(lines) for lines in found.values()) <= MAX_FUNCTION_IMPORTS, found


def _string_constants(tree: ast.Module) -> list[tuple[int, str]]:
    """Every string literal that is not a docstring."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.add(id(first.value))
    strings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            strings.append((node.lineno, node.value))
    return strings


def test_a_modality_is_named_only_in_its_own_spec():
    """Outside ``modalities/<name>.py`` (and that modality's readers) no code names a modality: nothing dispatches on one."""
    names = set(MODALITIES.names())
    offenders = []
    for path in SOURCES:
        relative = _relative(path)
        for line, value in _string_constants(_tree(path)):
            own = relative == f"modalities/{value}.py" or any(relative.startswith(place) for place in READERS.get(value, []))
            if value in names and not own:
                offenders.append(f"{relative}:{line} {value!r}")
    assert not offenders, offenders
