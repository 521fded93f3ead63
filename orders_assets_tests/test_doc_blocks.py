"""Every fenced block of README.md and docs/*.md runs as printed, or says right above it why not.

A block is judged by its info string:
- `bash`, `sh`: run with bash (`-e -o pipefail`), `console`: each `$ ` line run (the rest is a sample
  of the output, from the writer's machine, not compared), both in one folder shared by every
  block: a clone-like folder holding the repository's docs/ and the sample the README's first
  command makes. Blocks run in order, README first, so a block may use what an earlier one made.
- `yaml`: a config file (its keys are the config file's) is loaded with `load_settings_overrides`
  and checked by `OrdersSettings.validate()`; a layout (`name`, `extends` or `columns`) is loaded
  with `load_layout`; a fragment of a layout (`rounding:`, `time:` only) is loaded on top of
  `generic_trades`; `workspace.yaml` must equal the repository's, and an instance's `storage:` the
  dagster.yaml `postgres_instance_yaml` writes for the URL the document gives. A block whose first
  line is `# NAME.yaml` is saved as NAME in the shared folder (a layout without it as `<name>.yaml`),
  so that the blocks after it can name it, as a reader would save it.
- `python`: executed in the shared folder.
- `text`, `csv`: output, diagrams and data samples, shown only; they may hold no command line.
- A block that cannot run here carries `<!-- not run: REASON -->` on the line right above it.
  Anything else fails, so a new unmarked block fails until it runs or says why not.

What the test changes, and only this: the install steps are stubs (`python3.11 -m venv` does
nothing, `.venv/bin/pip` does nothing, the other `.venv/bin/` commands are the suite's own
environment), since the suite already runs inside what they install; and `--rows N` above
MAX_ROWS is MAX_ROWS, so that the blocks' sample sizes, chosen for a reader, take seconds here.
"""
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from orders_assets.glue.config_file import SECTIONS, TOP_LEVEL, load_settings_overrides
from orders_assets.core.read.layout.document import TOP_LEVEL_KEYS as LAYOUT_KEYS
from orders_assets.core.read.layout.load import load_layout
from orders_assets.platform.instance import postgres_instance_yaml
from orders_assets.glue.resources import OrdersSettings

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
BIN = Path(sys.executable).parent
MAX_ROWS = 20_000
SHELL = ("bash", "sh")
SHOWN = ("text", "csv")
NOT_RUN = re.compile(r"<!-- not run: (.*?) -->")
COMMAND_LINE = re.compile(r"^(\$ |\.venv/bin/|orders-assets |dagster )", re.M)
CONFIG_KEYS = set(SECTIONS) | set(TOP_LEVEL)


@dataclass(frozen=True)
class Block:
    document: Path
    line: int  # of the opening fence, 1-based
    info: str
    text: str
    not_run: str | None  # the reason, when marked

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"

    def first_line_file(self) -> str | None:
        """NAME when the block's first line is `# NAME.yaml...` (a plain file name)."""
        match = re.match(r"# ([\w.-]+\.ya?ml)\b", self.text)
        return match.group(1) if match else None


def blocks_of(document: Path) -> list[Block]:
    lines = document.read_text().split("\n")
    found, index = [], 0
    while index < len(lines):
        if lines[index].startswith("```"):
            end = next(at for at in range(index + 1, len(lines)) if lines[at].startswith("```"))
            marker = NOT_RUN.fullmatch(lines[index - 1].strip()) if index else None
            found.append(Block(document, index + 1, lines[index][3:].strip(), "\n".join(lines[index + 1:end]) + "\n",
                               marker.group(1).strip() if marker else None))
            index = end
        index += 1
    return found


BLOCKS = [block for document in DOCUMENTS for block in blocks_of(document)]


def as_run_here(text: str) -> str:
    """The block's text with the one change the module docstring names: sample sizes capped."""
    return re.sub(r"--rows (\d+)", lambda match: f"--rows {min(int(match.group(1)), MAX_ROWS)}", text)


def _write_script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> tuple[Path, dict]:
    """A folder as a reader's clone is after the README's first command: docs/, a .venv/bin whose
    commands are the suite's (pip a stub), and the sample the README's main block makes."""
    folder = tmp_path_factory.mktemp("clone")
    shutil.copytree(ROOT / "docs", folder / "docs", ignore=shutil.ignore_patterns("images"))
    venv_bin, stubs = folder / ".venv" / "bin", folder / ".stubs"
    venv_bin.mkdir(parents=True)
    stubs.mkdir()
    for command in ("orders-assets", "dagster", "python", "dask"):
        _write_script(venv_bin / command, f'exec "{BIN / command}" "$@"')
    _write_script(venv_bin / "pip", 'echo "pip: stubbed by test_doc_blocks (the suite runs in what it installs)"')
    _write_script(stubs / "python3.11", f'[ "$1 $2" = "-m venv" ] && exit 0\nexec "{sys.executable}" "$@"')
    environment = {key: value for key, value in os.environ.items()
                   if key != "DAGSTER_HOME" and not key.startswith("ORDERS_ASSETS_")}
    environment["PATH"] = f"{stubs}:{venv_bin}:{environment.get('PATH', '')}"
    main = next(block for block in BLOCKS if block.document.name == "README.md" and block.info == "bash")
    _run_shell(as_run_here(main.text), folder, environment, main.name)
    return folder, environment


def _run_shell(script: str, folder: Path, environment: dict, name: str) -> None:
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{script}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def _check_yaml(block: Block, folder: Path) -> None:
    document = yaml.safe_load(block.text)
    assert isinstance(document, dict), f"{block.name}: a YAML example is a mapping"
    keys = set(document)
    saved_as = block.first_line_file()
    if keys <= CONFIG_KEYS:
        path = folder / (saved_as or f"config-{block.line}.yaml")
        path.write_text(block.text)
        overrides = load_settings_overrides(path)
        OrdersSettings(landing_dir=str(folder / "sample" / "landing"), data_dir=str(folder / "sample" / "data"),
                       **overrides).validate()
    elif keys & {"name", "extends", "columns"} and keys <= set(LAYOUT_KEYS):
        path = folder / (saved_as or f"{document.get('name', f'layout-{block.line}')}.yaml")
        path.write_text(block.text)
        load_layout(str(path))
    elif keys <= set(LAYOUT_KEYS):  # a fragment: what it says, on a whole layout
        path = folder / f"fragment-{block.line}.yaml"
        path.write_text(yaml.safe_dump({"extends": "generic_trades", "name": "fragment", **document}))
        load_layout(str(path))
    elif keys == {"load_from"}:
        assert document == yaml.safe_load((ROOT / "workspace.yaml").read_text()), \
            f"{block.name}: not the repository's workspace.yaml"
    elif "storage" in keys:
        urls = re.findall(r"ORDERS_ASSETS_POSTGRES_URL='([^']+)'", block.document.read_text())
        assert urls, f"{block.name}: no ORDERS_ASSETS_POSTGRES_URL='...' in the document to check it against"
        assert document == yaml.safe_load(postgres_instance_yaml(urls[0])), \
            f"{block.name}: not the dagster.yaml that postgres_instance_yaml writes for {urls[0]}"
    else:
        pytest.fail(f"{block.name}: a YAML block that is neither a config file, a layout, workspace.yaml nor "
                    f"a dagster.yaml (keys {sorted(keys)}): make it one, or mark it <!-- not run: REASON -->")


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_the_block_runs_as_printed_or_says_why_not(block, clone):
    folder, environment = clone
    if block.not_run is not None:
        assert len(block.not_run) >= 10, f"{block.name}: say why the block cannot run here"
        return
    if block.info in SHELL:
        _run_shell(as_run_here(block.text), folder, environment, block.name)
    elif block.info == "console":
        commands = [line[2:] for line in block.text.splitlines() if line.startswith("$ ")]
        assert commands, f"{block.name}: a console block shows its commands as `$ command` lines"
        for command in commands:
            _run_shell(as_run_here(command), folder, environment, block.name)
    elif block.info == "yaml":
        _check_yaml(block, folder)
    elif block.info == "python":
        here = Path.cwd()
        os.chdir(folder)
        try:
            exec(compile(block.text, block.name, "exec"), {"__name__": "doc_block"})
        finally:
            os.chdir(here)
    elif block.info in SHOWN:
        assert not COMMAND_LINE.search(block.text), \
            f"{block.name}: a command in a `{block.info}` block: make it a bash or console block"
    else:
        pytest.fail(f"{block.name}: a block of kind {block.info or '(none)'!r} is neither run nor marked: give it "
                    f"an info string this test runs ({', '.join(SHELL + ('console', 'yaml', 'python') + SHOWN)}) "
                    "or <!-- not run: REASON --> on the line above")


def test_every_not_run_marker_stands_right_above_a_block():
    for document in DOCUMENTS:
        lines = document.read_text().split("\n")
        for number, line in enumerate(lines):
            if NOT_RUN.fullmatch(line.strip()):
                assert number + 1 < len(lines) and lines[number + 1].startswith("```"), \
                    f"{document.name}:{number + 1}: a not-run marker with no block right below it"


def test_ci_runs_exactly_the_readme_test_command():
    [block] = [block for block in BLOCKS if block.document.name == "README.md" and "pytest" in block.text]
    assert block.text in (ROOT / ".ci" / "run").read_text()


def test_the_readme_is_one_a_newcomer_reads_to_the_end():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150
