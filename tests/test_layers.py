"""The package's shape is its architecture: every genlab import (module-level and inside functions) goes to the
same layer or a lower one, and no chain of imports comes back to where it started."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "genlab"

# layer -> the layers it may import (besides itself). Data flows one way: ui -> tasks -> models; evaluation and
# train sit on top of the library and nothing below them imports them (shared/DESIGN.md).
PLUMBING = {"errors", "rng", "zerogpu"}
ALLOWED = {
    "errors": set(), "rng": set(), "zerogpu": set(),
    "models": PLUMBING,
    "images": PLUMBING,
    "hub": PLUMBING | {"models"},
    "datasets": PLUMBING | {"images"},
    "tasks": PLUMBING | {"models", "images", "hub", "datasets"},
    "web": PLUMBING | {"models", "tasks"},
    "ui": PLUMBING | {"models", "images", "hub", "datasets", "tasks", "web", "formats"},
    "evaluation": PLUMBING | {"models", "images", "hub", "datasets", "tasks"},
    "train": PLUMBING | {"models", "images", "hub", "datasets", "tasks", "evaluation"},
    "publish": PLUMBING | {"models", "hub"},
    # readers of other projects' checkpoints (genlab import): they write genlab folders through hub's registry
    "formats": PLUMBING | {"models", "hub"},
    # the top: the package's lazy front door, the one command, and the test helpers
    "__init__": {"*"}, "__main__": {"*"}, "testing": {"*"},
}
# the one command imports the app's layers but only names its subcommands' modules (genlab.cli.SUBCOMMAND_MODULES):
# no library module, the command included, imports train
ALLOWED["cli"] = set(ALLOWED) - {"train"}
TASK_FREE = {"ui", "web"}  # never reached from tasks/, models/, datasets/


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    files = {_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                candidates = [module] + [f"{module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            targets |= {c for c in candidates if c in files and c != name}
        graph[name] = targets
    return graph


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer():
    graph = _graph()
    assert len(graph) > 60, "the walk found the package"
    unknown = sorted(m for m in graph if _layer(m) not in ALLOWED)
    assert not unknown, f"modules outside every layer (add the layer to ALLOWED, with its rule): {unknown}"


def test_imports_go_down_the_layers_only():
    bad = []
    for module, targets in _graph().items():
        allowed = ALLOWED[_layer(module)]
        for t in targets:
            if "*" in allowed or _layer(t) == _layer(module) or _layer(t) in allowed:
                continue
            if _layer(t) == "__init__" and t == "genlab":  # `from genlab import X` inside a docstring's example
                continue
            bad.append(f"{module} -> {t}")
    assert not bad, "imports up the layers:\n" + "\n".join(sorted(bad))


def test_no_import_circles():
    graph = _graph()
    cycles, state, stack = [], {}, []

    def visit(u):
        state[u] = "open"
        stack.append(u)
        for v in sorted(graph[u]):
            if u.startswith(v + "."):  # a module importing its own package's __init__ is not a circle of modules
                continue
            if state.get(v) == "open":
                cycles.append(" -> ".join(stack[stack.index(v):] + [v]))
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import circles:\n" + "\n".join(cycles)


def test_the_layout_names_its_folders():
    """The tree is the architecture: the task operations and the evaluation each have their folder, and the
    package root holds only plumbing and the front door."""
    root = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert root == ["__init__", "__main__", "cli", "errors", "hub", "images", "rng", "testing", "zerogpu"], root
    for folder in ("tasks", "evaluation", "datasets", "models", "train", "ui", "web", "publish"):
        assert (PACKAGE / folder / "__init__.py").is_file(), folder


def test_the_command_names_a_real_entry_point_for_every_subcommand():
    import importlib

    from genlab import cli

    assert set(cli.SUBCOMMAND_MODULES) | {"app"} == set(cli.COMMANDS)
    for module in cli.SUBCOMMAND_MODULES.values():
        assert callable(importlib.import_module(module).main), module
