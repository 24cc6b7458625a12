"""The floors of the package, checked on the source: a module imports only from its own floor
or the floors below, and no chain of imports comes back to where it started.

Every import counts, also the ones inside functions (deferred so that importing stays cheap)
and the ones under ``TYPE_CHECKING``: each is a dependency all the same.  ``docs/architecture.md``
explains the floors.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "irpilot"

#: Lowest first.  A top-level module or subpackage of ``irpilot`` on each floor.
FLOORS: tuple[tuple[str, frozenset[str]], ...] = (
    ("ground: words, errors, settings, registries, the tool-call value", frozenset({"errors", "vocab", "config", "registry", "toolcall"})),
    ("pixels", frozenset({"imaging"})),
    ("edges: files, noise estimates, which photos may be learned from", frozenset({"io", "noise", "data"})),
    ("one step: degrade, restore, score", frozenset({"degrade", "tools", "quality"})),
    ("seeing and calling: perception, the model-call pool", frozenset({"perceive", "pool"})),
    ("the records and interface of a restoration", frozenset({"session"})),
    ("deciding", frozenset({"policies"})),
    ("the loop", frozenset({"agent"})),
    ("learning, measuring and telling: training, the benchmark, reports, progress", frozenset({"train", "bench", "report", "progress"})),
    ("people: the command line, the web app and the package's front door", frozenset({"cli", "app", "__main__", "__init__"})),
)


def floor_of(unit: str) -> int:
    for i, (_, units) in enumerate(FLOORS):
        if unit in units:
            return i
    raise LookupError(f"irpilot.{unit} is on no floor: add it to FLOORS in {Path(__file__).name}")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def imports_of(path: Path) -> Iterator[tuple[str, int]]:
    """``(imported irpilot module, line)`` for every import statement of ``path``."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "irpilot":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "irpilot":
                continue
            for alias in node.names:  # "from pkg import submodule" depends on the submodule
                sub = f"{target}.{alias.name}"
                yield (sub if _is_module(sub) else target), node.lineno


def graph() -> dict[str, set[tuple[str, int]]]:
    return {module_name(p): set(imports_of(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_is_on_a_floor():
    units = {unit_of(m) for m in graph()}
    for unit in sorted(units):
        floor_of(unit)


def upward_imports(modules: dict[str, set[tuple[str, int]]]) -> list[str]:
    upward = []
    for module, targets in modules.items():
        here = floor_of(unit_of(module))
        for target, line in sorted(targets):
            there = floor_of(unit_of(target))
            if there > here:
                upward.append(f"{module}:{line} imports {target} ({FLOORS[there][0]!r} is above {FLOORS[here][0]!r})")
    return upward


def test_no_import_reaches_a_higher_floor():
    upward = upward_imports(graph())
    assert not upward, "imports from a lower floor to a higher one:\n" + "\n".join(upward)


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_between_modules():
    edges: dict[str, set[str]] = {}
    for module, targets in graph().items():
        # a module importing its own package's __init__ is how re-exports read; it is not a cycle
        edges[module] = {t for t, _ in targets if t != module and not module.startswith(t + ".")}
    cycle = _cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_between_parts():
    edges: dict[str, set[str]] = {}
    for module, targets in graph().items():
        edges.setdefault(unit_of(module), set()).update(unit_of(t) for t, _ in targets if unit_of(t) != unit_of(module))
    cycle = _cycle(edges)
    assert cycle is None, "import cycle between parts of the package: " + " -> ".join(cycle or [])


def test_the_checks_see_what_they_forbid():
    """The rules themselves, on made-up imports: the learned policy importing training code (the
    upward arrow this check was written against) and a circle through three modules."""
    made_up = {"irpilot.policies.learned.policy": {("irpilot.train.checkpoint", 1), ("irpilot.vocab", 2)}}
    assert upward_imports(made_up) == [
        "irpilot.policies.learned.policy:1 imports irpilot.train.checkpoint "
        f"({FLOORS[floor_of('train')][0]!r} is above {FLOORS[floor_of('policies')][0]!r})"
    ]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "d": {"a"}}) is None
