"""The package's import graph, read from the source (every import, also inside functions and
`if TYPE_CHECKING:` blocks): no cycles, `http/` imports nothing above it, and no module takes
another package's underscore names.

Data flows one way (provider -> chunks -> view; the magic wires), so a cycle, even one deferred
into a function, means two modules that each know the other. The package's shared helpers
(`runtime`, `version`, `asyncgen`) are public modules at its root, so no exemption is needed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import llmstream_nb

PACKAGE = Path(llmstream_nb.__file__).parent
ROOT = PACKAGE.name


def module_name(path: Path) -> str:
    parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def imports(name: str) -> list[tuple[str, str | None]]:
    """(module imported, name taken from it or None) for every import statement in the module."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    here = name if is_package(name) else name.rpartition(".")[0]
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names if alias.name.startswith(ROOT)]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == ROOT or target.startswith(ROOT + "."):
                found += [(target, alias.name) for alias in node.names]
    return found


def edges() -> dict[str, set[str]]:
    """Module -> the package modules it imports (a name that is a submodule counts as that module)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for target, taken in imports(name):
            submodule = f"{target}.{taken}"
            if taken is not None and submodule in MODULES:
                graph[name].add(submodule)
            elif target in MODULES:
                graph[name].add(target)
        graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_of(name: str) -> str:
    return name if is_package(name) else name.rpartition(".")[0]


def test_the_checker_sees_a_cycle() -> None:
    """The checker itself: a cycle through three modules, and one through a deferred import, are found."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": set(), "b": {"a"}}) == []


def test_no_import_cycles() -> None:
    assert cycles(edges()) == []


def test_http_is_transport_only() -> None:
    """http/ may use the error types (it maps failures onto them), the runtime helpers (keeping a closing
    task alive) and redaction (http/ scrubs its own log lines and learns the keys it must never show): modules
    that import nothing of the package but each other, and nothing else."""
    allowed = {f"{ROOT}.errors", f"{ROOT}.runtime", f"{ROOT}.redact"}
    assert all(edges()[leaf] <= allowed for leaf in allowed)
    for name, targets in edges().items():
        if name.startswith(f"{ROOT}.http"):
            above = {t for t in targets if not t.startswith(f"{ROOT}.http") and t not in allowed}
            assert not above, f"{name} imports {sorted(above)}"


def test_no_underscore_names_across_packages() -> None:
    offenders = []
    for name in MODULES:
        for target, taken in imports(name):
            if taken is not None and f"{target}.{taken}" in MODULES:  # `from pkg import module`
                target, taken = f"{target}.{taken}", None
            home = target if target in MODULES and is_package(target) else target.rpartition(".")[0]
            if home == package_of(name) or home.startswith(package_of(name) + "."):
                continue  # inside its own package
            private_module = any(part.startswith("_") and not part.startswith("__") for part in target.split("."))
            private_name = taken is not None and taken.startswith("_") and not taken.startswith("__")
            if private_module or private_name:
                offenders.append(f"{name}: from {target} import {taken}")
    assert offenders == []
