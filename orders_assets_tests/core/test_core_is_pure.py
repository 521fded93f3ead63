"""The engine in orders_assets/core must run without Dagster (house style: pure core, thin glue)."""
import ast
import subprocess
import sys
from pathlib import Path

import orders_assets.core

CORE = Path(orders_assets.core.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def module_name(path: Path) -> str:
    return ".".join(("orders_assets", "core", *path.relative_to(CORE).with_suffix("").parts))


def test_no_core_module_imports_dagster():
    offenders = {
        str(path.relative_to(CORE)): sorted(name for name in imported_modules(path)
                                            if name.split(".")[0].startswith("dagster"))
        for path in CORE.rglob("*.py")
    }
    assert len(offenders) >= 10
    assert {name: found for name, found in offenders.items() if found} == {}


def test_importing_the_whole_core_does_not_load_dagster():
    modules = [module_name(path) for path in CORE.rglob("*.py") if path.stem != "__init__"]
    code = "import sys\n" + "".join(f"import {module}\n" for module in modules) + (
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
