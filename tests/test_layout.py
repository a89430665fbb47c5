"""The house rules, checked on the source: one ``gradproof`` namespace, no import cycles, no imports
inside functions (but of optional packages), ``numeric`` above ``derive``, the command line above both,
and the model free of sympy."""

from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: repository folder → installed package
PACKAGES = {"gradproof": "gradproof", "derive": "gradproof.derive", "numeric": "gradproof.numeric"}
#: packages a function may import on demand: optional extras, never needed to run gradproof
OPTIONAL = {"matplotlib", "symengine", "torch"}


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


@functools.lru_cache(maxsize=None)  # every test reads the same sources: parse each once
def _imports(path: Path, module: str) -> tuple[tuple[str, bool], ...]:
    """(imported module, at module level?) for every import statement in ``path``."""
    tree = ast.parse(path.read_text())
    in_function = {id(sub) for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for sub in ast.walk(node) if isinstance(sub, (ast.Import, ast.ImportFrom))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) not in in_function) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
                package = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{package}.{base}" if base else package
            names = [f"{base}.{alias.name}" for alias in node.names]
            found += [(name if name in MODULES else base, id(node) not in in_function) for name in names]
    return tuple(found)


def _graph() -> dict[str, set[str]]:
    return {module: {name for name, top in _imports(path, module) if name in MODULES and top}
            for module, path in MODULES.items()}


def test_every_module_imports_through_the_gradproof_namespace():
    for module, path in MODULES.items():
        for name, _ in _imports(path, module):
            top = name.split(".")[0]
            assert top not in ("derive", "numeric"), f"{path.relative_to(ROOT)} imports {name}: use gradproof.{name}"


def test_no_import_inside_a_function_but_optional_packages():
    for module, path in MODULES.items():
        for name, top in _imports(path, module):
            assert top or name.split(".")[0] in OPTIONAL, (
                f"{path.relative_to(ROOT)} imports {name} inside a function")


def test_no_import_cycles():
    graph, state, path = _graph(), {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


@pytest.mark.parametrize("lower, upper", [("gradproof.derive", "gradproof.numeric"),
                                          ("gradproof.derive", "gradproof.cli"),
                                          ("gradproof.numeric", "gradproof.cli")])
def test_the_layers_only_look_down(lower, upper):
    for module, targets in _graph().items():
        if module.startswith(lower + ".") or module == lower:
            wrong = sorted(t for t in targets if t.startswith(upper))
            assert not wrong, f"{module} imports {wrong}: {lower} must not depend on {upper}"


def test_the_model_and_numeric_checks_load_without_sympy():
    probe = ("import sys, gradproof.derive.model.network, gradproof.numeric.differences.finite_difference, "
             "gradproof.numeric.compiled.matrix, gradproof.cli.parser; print('sympy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_every_folder_is_an_installed_package():
    text = (ROOT / "pyproject.toml").read_text()
    for module, path in MODULES.items():
        if path.name == "__init__.py":
            assert f'"{module}"' in text, f"{module} is missing from pyproject.toml's packages"


def test_the_facade_names_resolve():
    import gradproof

    for name in gradproof.__all__:
        assert getattr(gradproof, name) is not None, name


#: a function a reader takes in at once: the house's "under about 40 lines", counted without its docstring
FUNCTION_LINES = 45


def _code_lines(function: ast.FunctionDef) -> int:
    first = function.body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
        and isinstance(first.value.value, str)
    body = function.body[1:] if docstring and len(function.body) > 1 else function.body
    return body[-1].end_lineno - function.lineno + 1 - (first.end_lineno - first.lineno + 1 if docstring else 0)


def test_functions_are_short():
    long = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > FUNCTION_LINES:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({_code_lines(node)} lines)")
    assert not long, "functions longer than the house allows:\n" + "\n".join(long)


def test_the_length_rule_can_fail():  # the negative control: a 50-line function is caught
    source = "def f():\n    '''doc'''\n" + "    x = 1\n" * 50
    assert _code_lines(ast.parse(source).body[0]) == 51


def test_the_readme_map_names_every_folder():
    """The README's Layout section is the map: every package folder has its line there."""
    section = (ROOT / "README.md").read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\s*([a-z_]+)/\s", section, re.M))
    folders = {path.parent.name for folder in PACKAGES for path in (ROOT / folder).rglob("__init__.py")}
    assert folders <= named, f"folders missing from the README's Layout map: {sorted(folders - named)}"
