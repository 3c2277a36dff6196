"""The package's import graph: no cycles, every module importable on its own, a Lightning-free core."""

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted((SOURCE / "dirvae").rglob("*.py")):
        name = ".".join(path.relative_to(SOURCE).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _module_level_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Internal modules imported at module level (what runs at import time)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dirvae"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
    return found


def test_the_module_level_import_graph_has_no_cycles():
    modules = _modules()
    graph = {name: _module_level_imports(path, modules) for name, path in modules.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(name, trail):
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles


def _import_alone(name: str) -> tuple[str, int, str]:
    code = f"import sys, {name}; print('lightning' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    return name, done.returncode, (done.stdout.strip() if done.returncode == 0 else done.stderr.strip().splitlines()[-1])


def test_every_module_imports_alone_in_a_fresh_interpreter_and_the_core_needs_no_lightning():
    names = [name for name in _modules() if name != "dirvae.__main__"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_import_alone, names))
    failures = [f"{name}: {detail}" for name, code, detail in results if code != 0]
    assert not failures, failures
    core = ("dirvae.latent", "dirvae.model", "dirvae.model_config", "dirvae.losses", "dirvae.nets", "dirvae.optim")
    with_lightning = [name for name, _, detail in results if name.startswith(core) and detail == "True"]
    assert not with_lightning, with_lightning
