"""The shape of the project (issue #19): which package may import which, no import
cycle (so no import inside a function exists to break one), and tools/ as a plain
script folder whose scripts all import from the project root.

    common        imports no stage
    synth         common
    localization  common                       (never ppocr_ext)
    ppocr_ext     common, synth                (never localization; synth renders crops)
    copydetect    common                       (frame copy detection, issue #21)
    pipeline      all of them: the only package that knows both stages

Every import counts, at module level or inside a function.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "common": set(),
    "synth": {"common"},
    "localization": {"common"},
    "ppocr_ext": {"common", "synth"},
    "copydetect": {"common"},
    "pipeline": {"common", "synth", "localization", "ppocr_ext", "copydetect"},
}
SYS_PATH_LINE = "sys.path[0] = str(Path(__file__).resolve().parents[1])"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for package in ALLOWED
           for path in sorted((ROOT / package).rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The project module `name` names (itself or its nearest existing package), or
    None for a module outside the project."""
    if name.split(".")[0] not in ALLOWED:
        return None
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports_of(module: str) -> set[str]:
    """Project modules `module` imports, anywhere in its body."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from a import b`: b may be a module of package a
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        else:
            continue
        found.update(target for target in map(resolve, names) if target and target != module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_stage_imports_only_what_lies_below_it():
    wrong = sorted(f"{module} imports {target}" for module, targets in GRAPH.items()
                   for target in targets
                   if target.split(".")[0] != module.split(".")[0]
                   and target.split(".")[0] not in ALLOWED[module.split(".")[0]])
    assert not wrong, "\n".join(wrong)


def test_there_is_no_import_cycle():
    state: dict[str, str] = {}   # visiting / done

    def visit(module: str, trail: list[str]) -> list[str] | None:
        state[module] = "visiting"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "visiting":
                return trail[trail.index(target):] + [module, target] if target in trail \
                    else [module, target]
            if target not in state:
                cycle = visit(target, trail + [module])
                if cycle:
                    return cycle
        state[module] = "done"
        return None

    for module in sorted(GRAPH):
        if module not in state:
            cycle = visit(module, [])
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_graph_sees_the_stages():
    """A guard for the two tests above: the parser finds real edges."""
    assert "common.lmdb_io" in GRAPH["localization.export"]
    assert "synth.crops" in GRAPH["ppocr_ext.synth_dataset"]
    assert {"localization.locator_factory", "ppocr_ext.posteriors"} <= GRAPH["pipeline.assemble"]


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "tools").glob("*.py")))
def test_every_tool_imports_from_the_project_root(script):
    """`python tools/x.py` puts tools/ first on sys.path; each script replaces it with
    the project root before importing the project, the same way."""
    lines = (ROOT / "tools" / script).read_text(encoding="utf-8").splitlines()
    assert SYS_PATH_LINE in lines
    first_project_import = next(i for i, line in enumerate(lines)
                                if line.split(" ")[0] in ("from", "import")
                                and line.split(" ")[1].split(".")[0] in ALLOWED)
    assert lines.index(SYS_PATH_LINE) < first_project_import


def test_tools_is_not_a_package():
    # `import openocr` exposes OpenOCR's own top-level `tools` package
    assert not (ROOT / "tools" / "__init__.py").exists()


def test_the_kernel_and_its_dictionary_are_installed():
    from common.labels import DEFAULT_DICT
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert '"common"' in setup and 'package_data={"common": ["dicts/*.txt"]}' in setup
    assert DEFAULT_DICT == ROOT / "common" / "dicts" / "id62.txt" and DEFAULT_DICT.is_file()
