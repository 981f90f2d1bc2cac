"""The package's layers stay one-way and its parts stay small.

No import cycle, no Dagster in the pure packages; no module over 400 lines, no asset body over
60 lines and no function over 80.

Imports are read from the source with ``ast`` (nothing is imported), at every level: a
function-level import still ties two modules together. ``from .x import y`` imports module
``x`` (and ``x.y`` when that is a module); importing ``a.b.c`` also runs the ``__init__`` of
``a`` and ``a.b``, so those count too, except the importer's own enclosing packages, which
Python has already started before the importer runs (``from . import NAME`` still counts: it
reads the package's ``__init__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "llmlab_pipelines"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

#: Pure Python: the lab format, engine, statistics, ... They run without Dagster.
PURE = (
    "lab",
    "engine",
    "stats",
    "metrics",
    "judges",
    "adaptive",
    "optimize",
    "report",
    "secrets",
    "vcs",
    "tags",
    "issues",
    "ledger",
    "settings",
    "_atomic",
    "gitwatch",
    "locks",
    "_scaffold",
)

#: The Dagster layer: assets, resources, jobs, sensors and what assembles or launches them.
DAGSTER_LAYER = (
    "assets",
    "resources",
    "jobs",
    "sensors",
    "schedules",
    "definitions",
    "partitions",
    "runner",
    "cli",
    "_cli_tables",
    "asset_metadata",
    "web",
)

#: Neither: test support shipped with the package (an HTTP provider simulator).
SUPPORT = ("testing",)

#: Known violations, to be removed, not added to.
KNOWN_DAGSTER: set[str] = set()


def _modules(root: Path = ROOT) -> dict[str, tuple[Path, bool]]:
    """``dotted name -> (file, is a package)`` for every module of the package at ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imports(name: str, path: Path, is_package: bool, known: set[str]) -> set[str]:
    """Every module ``name`` imports (inside the package or not)."""
    package = name if is_package else name.rpartition(".")[0]
    enclosing = set(_ancestors(name))  # already running when ``name`` runs
    named: set[str] = set()  # what the import statements name
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            submodules = {f"{source}.{a.name}" for a in node.names} & known
            named |= submodules
            # `from . import sub` names a submodule only; `from . import NAME` reads the
            # package's own namespace, and `from .x import y` runs x
            if source not in enclosing or len(submodules) < len(node.names):
                named.add(source)
    # the packages above each named module run first, except those enclosing the importer
    above = {a for target in named for a in _ancestors(target)} - enclosing
    return (named | above) - {name}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """``module -> modules of the package it imports``."""
    modules = _modules(root)
    known = set(modules)
    return {
        name: _imports(name, path, is_package, known) & known
        for name, (path, is_package) in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _top(name: str) -> str:
    """The package's top-level module or package ``name`` belongs to."""
    return name.removeprefix(f"{PACKAGE}.").split(".")[0]


def _is_pure(name: str) -> bool:
    return _top(name) in PURE


def _reach(graph: dict[str, set[str]], name: str) -> set[str]:
    """Every module of the package ``name`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def _imports_dagster(name: str) -> bool:
    path, is_package = _modules()[name]
    return any(
        t.split(".")[0] == "dagster" or t.startswith("dagster_")
        for t in _imports(name, path, is_package, set())
    )


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_reads_relative_function_level_and_package_imports(tmp_path: Path) -> None:
    files = {
        "p/__init__.py": "from .a import run\n",
        "p/a.py": "from . import b\nfrom .sub import thing\n\ndef run():\n    from .c import x\n",
        "p/b.py": "import os\n",
        "p/c.py": "from . import NAME\n",
        "p/sub/__init__.py": "from ._m import thing\n",
        "p/sub/_m.py": "from .._d import y\nfrom ..sub import _n\n",
        "p/sub/_n.py": "",
        "p/_d.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path / "p")
    assert graph == {
        "p": {"p.a"},
        "p.a": {"p.b", "p.sub", "p.c"},  # `from . import b` is not an import of p itself
        "p.b": set(),
        "p.c": {"p"},  # `from . import NAME` reads its package's __init__
        "p.sub": {"p.sub._m"},
        "p.sub._m": {"p._d", "p.sub._n"},
        "p.sub._n": set(),
        "p._d": set(),
    }
    assert find_cycle(graph) == ["p", "p.a", "p.c", "p"]
    (tmp_path / "p/c.py").write_text("")
    assert find_cycle(import_graph(tmp_path / "p")) is None
    (tmp_path / "p/_d.py").write_text("def f():\n    from .sub._n import z\n")
    assert find_cycle(import_graph(tmp_path / "p")) == ["p.sub", "p.sub._m", "p._d", "p.sub"]


def test_no_import_cycle_inside_the_package() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_pure_packages_never_import_dagster() -> None:
    graph = import_graph()
    direct = {name for name in graph if _is_pure(name) and _imports_dagster(name)}
    assert direct - KNOWN_DAGSTER == set(), f"pure modules importing dagster: {sorted(direct)}"
    # nor through another module of the package
    tainted = {name for name in graph if _imports_dagster(name)} - KNOWN_DAGSTER
    for name in sorted(n for n in graph if _is_pure(n)):
        seen = _reach(graph, name)
        assert not seen & tainted, f"{name} reaches dagster through {sorted(seen & tainted)}"


def test_every_top_level_module_has_a_layer() -> None:
    tops = {_top(name) for name in import_graph() if name != PACKAGE}
    layers = [*PURE, *DAGSTER_LAYER, *SUPPORT]
    assert len(layers) == len(set(layers)), "a module in two layers"
    assert tops == set(layers), f"no layer: {sorted(tops - set(layers))}"


def test_the_pure_core_never_imports_the_dagster_layer() -> None:
    graph = import_graph()
    for name in sorted(n for n in graph if _is_pure(n)):
        above = sorted(m for m in _reach(graph, name) if _top(m) in DAGSTER_LAYER)
        assert above == [], f"{name} imports the Dagster layer: {above}"


#: Size limits, in lines (issue #21): a module, an asset's body, any function.
MODULE_LINES, ASSET_BODY_LINES, FUNCTION_LINES = 400, 60, 80
ASSET_DECORATORS = {"asset", "multi_asset", "dg.asset", "dg.multi_asset"}


def _decorator_name(node: ast.expr) -> str:
    return ast.unparse(node.func if isinstance(node, ast.Call) else node)


def size_violations(root: Path = ROOT) -> list[str]:
    """Every module, asset body and function of the package at ``root`` over its limit."""
    out = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(root.parent)
        if (lines := len(text.splitlines())) > MODULE_LINES:
            out.append(f"{where}: {lines} lines (module, max {MODULE_LINES})")
        for node in ast.walk(ast.parse(text, str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            end = node.end_lineno or node.lineno
            if (lines := end - node.lineno + 1) > FUNCTION_LINES:
                out.append(f"{where}:{node.lineno} {node.name}: {lines} lines (function)")
            asset = {_decorator_name(d) for d in node.decorator_list} & ASSET_DECORATORS
            if asset and (lines := end - node.body[0].lineno + 1) > ASSET_BODY_LINES:
                out.append(f"{where}:{node.lineno} {node.name}: body of {lines} lines (asset)")
    return out


def test_the_size_check_finds_long_modules_assets_and_functions(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(61))
    files = {
        "p/__init__.py": "\n" * 401,
        "p/a.py": f"import dagster as dg\n\n@dg.asset(group_name='g')\ndef big():\n{body}",
        "p/b.py": f"from dagster import multi_asset\n\n@multi_asset\ndef big():\n{body}",
        "p/c.py": f"@other\ndef fine():\n{body}\nasync def long():\n{body * 2}",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert size_violations(tmp_path / "p") == [
        "p/__init__.py: 401 lines (module, max 400)",
        "p/a.py:4 big: body of 61 lines (asset)",
        "p/b.py:4 big: body of 61 lines (asset)",
        "p/c.py:65 long: 123 lines (function)",
    ]


def test_modules_assets_and_functions_stay_small() -> None:
    assert size_violations() == []


def _kind_string_compares(root: Path) -> list[str]:
    """Every ``x.kind == "..."`` (or ``!=``, ``in``) against a string literal below ``root``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            kind = any(isinstance(s, ast.Attribute) and s.attr == "kind" for s in sides)
            literal = any(
                isinstance(c, ast.Constant) and isinstance(c.value, str)
                for s in sides
                for c in ast.walk(s)
            )
            if kind and literal:
                out.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    return out


def test_the_lab_and_the_optimizer_ask_the_judge_kind_rules_not_the_kind_name() -> None:
    # a new judge kind is one entry of lab._judges.JUDGE_KINDS (and one of judges.KINDS)
    found = [hit for pkg in ("lab", "optimize") for hit in _kind_string_compares(ROOT / pkg)]
    assert found == []
