"""The package map of docs/architecture.md is the import rule: every import between packages is one
the map allows, and every package of the tree is on the map."""
import ast
import re
from pathlib import Path

import orders_assets

PACKAGE_ROOT = Path(orders_assets.__file__).parent
ARCHITECTURE = PACKAGE_ROOT.parent / "docs" / "architecture.md"
GLUE = "glue"


def package_map() -> dict[str, set[str]]:
    """package -> the packages it may import, from the table between the package-map markers."""
    text = ARCHITECTURE.read_text()
    table = text[text.index("<!-- package-map -->"):text.index("<!-- /package-map -->")]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    found = {}
    for row in rows:
        package, _owns, allowed = [cell.strip() for cell in row.strip("|").split("|")]
        found[package.strip("`")] = set(re.findall(r"`([\w.]+)`", allowed))
    every = set(found)
    shared = {package for package in found if "every package may import it" in _row_of(table, package)}
    for package, allowed in found.items():
        row = _row_of(table, package)
        if "every package" in row.split("|")[-2]:
            found[package] = every - {package}
        elif "every `core` package" in row:
            found[package] = allowed | {name for name in every if name.startswith("core.")}
        found[package] |= shared - {package}
    return found


def _row_of(table: str, package: str) -> str:
    """The text of the package's row, after its name."""
    return table.split(f"| `{package}` |", 1)[1].splitlines()[0]


def package_of(module: str) -> str:
    """The map's package of a dotted module of orders_assets."""
    parts = module.split(".")[1:]
    if parts[:1] == ["core"]:
        return "core." + parts[1] if len(parts) > 1 else "core"
    if parts and (PACKAGE_ROOT / parts[0]).is_dir() and parts[0] != "assets":
        return parts[0]
    return GLUE


def module_of(path: Path) -> str:
    return ".".join(("orders_assets", *path.relative_to(PACKAGE_ROOT).with_suffix("").parts)).removesuffix(".__init__")


def imported(path: Path) -> set[str]:
    """The orders_assets modules a file imports (a `from package import module` names the module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("orders_assets"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                as_module = PACKAGE_ROOT.parent.joinpath(*candidate.split("."))
                names.add(candidate if as_module.with_suffix(".py").exists() or as_module.is_dir() else node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("orders_assets"))
    return names


def test_every_import_between_packages_is_one_the_map_allows():
    allowed = package_map()
    wrong = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        source = package_of(module_of(path))
        for target in sorted(package_of(name) for name in imported(path)):
            if target != source and target not in allowed[source] and target != "core":
                wrong.append(f"{module_of(path)} ({source}) imports {target}")
    assert not wrong, "\n".join(wrong)


def test_every_package_of_the_tree_is_on_the_map_and_no_more():
    tree = {package_of(module_of(path)) for path in PACKAGE_ROOT.rglob("*.py")} - {"core"}
    tree |= {f"core.{path.stem}" for path in (PACKAGE_ROOT / "core").glob("*.py") if path.stem != "__init__"}
    assert tree == set(package_map())


def test_the_versions_architecture_md_gives_are_the_codes():
    """The manifest, summary and registry versions and the partials and reports markers the design
    names are the ones the code writes."""
    from orders_assets.core import schema
    from orders_assets.core.report.summary import SUMMARY_VERSION
    from orders_assets.core.store.manifest import MANIFEST_VERSION
    from orders_assets.core.store.signature import REPORTS_RELEASE
    from orders_assets.core.store.registries import REGISTRY_VERSION

    text = " ".join(ARCHITECTURE.read_text().split())
    assert f"`core/store/manifest.Manifest`, a frozen dataclass (JSON on disk, `from_json`/`to_json`, every " \
           f"default in one place, `version` {MANIFEST_VERSION}:" in text
    assert f"`core/report/summary.Summary`, `version` {SUMMARY_VERSION}:" in text
    assert f"`Skipped` with its `Refusal`s, `version` {REGISTRY_VERSION})" in text
    assert f"`REPORTS_RELEASE` (the reports a release builds: {REPORTS_RELEASE} added market_share)" in text
    assert schema.PARTIALS_VERSION == 1 or f"PARTIALS_VERSION` {schema.PARTIALS_VERSION}" in text


def test_every_file_the_where_a_change_goes_table_names_exists():
    """docs/architecture.md's "Where a change goes": each module and test it names is there (a rename
    that leaves the table behind fails here)."""
    text = ARCHITECTURE.read_text()
    table = text[text.index("## Where a change goes"):text.index("## Package map")]
    named = set(re.findall(r"`([\w/]+\.py)", table)) | {f"{name}.py" for name in re.findall(r"`(core/[\w/]+)\.\w+", table)}
    tests = PACKAGE_ROOT.parent / "orders_assets_tests"
    missing = [name for name in sorted(named) if not any(
        (root / name).exists() for root in (PACKAGE_ROOT, tests, tests / "core", PACKAGE_ROOT.parent))]
    assert len(named) >= 10 and not missing, missing


def test_no_module_imports_itself_through_others():
    """No import cycle between the package's modules, function-local imports included (a cycle is
    what a lazy import hides until the order of imports changes)."""
    graph = {module_of(path): imported(path) for path in sorted(PACKAGE_ROOT.rglob("*.py"))}
    cycles, done = [], set()

    def walk(module: str, trail: list[str]) -> None:
        if module in trail:
            cycles.append(trail[trail.index(module):] + [module])
            return
        if module in done or module not in graph:
            return
        for target in sorted(graph[module]):
            walk(target, trail + [module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


ONE_PIECE = {"orders_assets.core.read.row_kernel": (
    "the compiled pass's kernel: Numba caches a function's machine code keyed by its own module's file, so a "
    "kernel whose inlined field rules lived in another module would run stale code after that module changed")}
"""Modules kept whole past 300 lines, with why."""


def test_no_module_is_over_300_lines():
    """One concern a module: a module past 300 lines is split where its concerns part (ONE_PIECE:
    the exceptions, each with its reason)."""
    long = {module_of(path): lines for path in sorted(PACKAGE_ROOT.rglob("*.py"))
            if (lines := len(path.read_text().splitlines())) > 300}
    assert set(long) == set(ONE_PIECE), long


def test_every_module_or_test_the_docs_name_exists():
    """A `path.py` the docs name (a module, a test, a benchmark) is there: a move that leaves the docs
    behind fails here. Named relative to the repository, the package, core, the glue, or the tests."""
    repository = PACKAGE_ROOT.parent
    tests = repository / "orders_assets_tests"
    roots = (repository, PACKAGE_ROOT, PACKAGE_ROOT / "core", PACKAGE_ROOT / "glue", tests, tests / "core",
             tests / "dagster", tests / "glue", repository / "benchmarks")
    missing = []
    for doc in sorted([*(repository / "docs").glob("*.md"), repository / "README.md"]):
        for name in sorted(set(re.findall(r"`([\w/]+\.py)`", doc.read_text()))):
            if not any((root / name).exists() for root in roots):
                missing.append(f"{doc.name}: {name}")
    assert not missing, missing
