"""A layout's file_name pattern costs time linear in the file name, whoever names the files (issue 41,
item 10): a pattern that backtracks in Python's `re` runs in RE2, and one RE2 cannot run is refused
when the layout loads, naming the construct and the fix."""
import json
import subprocess
import sys
import textwrap

import pytest
import yaml

from orders_assets.core.read.layout.document import layout_from_document
from orders_assets.core.read.layout.model import LayoutError
from orders_assets.core.read.layout.rules import layout_choice_from
from orders_assets_tests.core.read.layout.documents import NAMED_BY_FILE

HOSTILE_PATTERN = r"^(?P<security_code>(a+)+)_"
"""Nested repetition: Python's `re` tries every way of splitting a run of a's before it gives up."""
HOSTILE_NAME = "a" * 250 + "!.csv"
"""A name the pattern does not match, on which the backtracking is exponential in the run of a's."""
MATCH_SECONDS = 0.5
CHILD_TIMEOUT_SECONDS = 60
"""The child process imports pyarrow (a few seconds); a backtracking match would take far longer than this."""

MATCH_IN_A_CHILD = textwrap.dedent("""
    import json, sys, time
    from orders_assets.core.read.layout.document import layout_from_document
    from orders_assets.core.read.layout.model import LayoutChoice, LayoutRule
    document, name = json.loads(sys.argv[1]), sys.argv[2]
    choice = LayoutChoice((LayoutRule(layout_from_document(document), match="*.csv"),))
    started = time.perf_counter()
    fields = choice.name_fields(name)
    print(json.dumps({"seconds": time.perf_counter() - started, "fields": fields}))
""")


def test_a_backtracking_pattern_against_a_long_hostile_name_finishes_at_once():
    """Run in a child process with a timeout: on a backtracking engine the test fails, never hangs."""
    document = {**NAMED_BY_FILE, "file_name": {"pattern": HOSTILE_PATTERN}}
    try:
        child = subprocess.run([sys.executable, "-c", MATCH_IN_A_CHILD, json.dumps(document), HOSTILE_NAME],
                               capture_output=True, text=True, timeout=CHILD_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"matching {HOSTILE_PATTERN!r} against a {len(HOSTILE_NAME)}-character name did not end "
                    f"within {CHILD_TIMEOUT_SECONDS} s")
    assert child.returncode == 0, child.stderr
    outcome = json.loads(child.stdout)
    assert outcome["fields"] == {"source": HOSTILE_NAME}  # no match: the name is its own identity
    assert outcome["seconds"] < MATCH_SECONDS


@pytest.mark.parametrize("pattern, construct", [
    (r"^(?P<security_code>[A-Z]+)_(?P=security_code)", "(?P"),
    (r"^(?P<security_code>([A-Z])\2+)_", r"\2"),
    (r"^(?P<security_code>[A-Z]+)(?=_)", "(?="),
    (r"(?<!x)(?P<security_code>[A-Z]+)_", "(?<!"),
    (r"^(?P<security_code>[A-Z]++)_", "++"),
    (r"^(?P<security_code>(?>[A-Z]+))_", "(?>"),
])
def test_a_pattern_that_needs_backtracking_is_refused_when_the_layout_loads(pattern, construct):
    with pytest.raises(LayoutError) as refused:
        layout_from_document({**NAMED_BY_FILE, "file_name": {"pattern": pattern}})
    message = str(refused.value)
    assert f"file_name.pattern: {pattern!r} cannot be matched in time linear in the file name" in message
    assert construct in message.split("file name (", 1)[1]  # RE2's reason names the construct
    assert "backreferences, lookahead/lookbehind and possessive or atomic repetition need backtracking" in message
    assert "rewrite the pattern without them" in message


@pytest.mark.parametrize("pattern, fix", [
    (r"^(?P<security_code>[A-Z]+)_.*\Z", "write $ (or \\z) for the end of the name"),
    (r"^(?P<security_code>[A-Z]{1,2000})_", "use a count of at most 1000, or + or *"),
])
def test_other_python_only_syntax_is_refused_with_what_to_write(pattern, fix):
    with pytest.raises(LayoutError, match=r"cannot be matched in time linear in the file name") as refused:
        layout_from_document({**NAMED_BY_FILE, "file_name": {"pattern": pattern}})
    assert str(refused.value).endswith(fix)


def test_a_config_rule_naming_a_layout_with_a_backtracking_pattern_is_refused_with_the_rule(tmp_path):
    document = {**NAMED_BY_FILE, "name": "acme", "file_name": {"pattern": r"^(?P<security_code>\w+)(?<!x)_"}}
    (tmp_path / "acme.yaml").write_text(yaml.safe_dump(document))
    with pytest.raises(LayoutError) as refused:
        layout_choice_from([{"layout": "acme.yaml", "match": "acme_*.csv"}], tmp_path)
    first_line = str(refused.value).splitlines()[0]
    assert first_line.startswith(f"layouts[0]: {tmp_path / 'acme.yaml'}: layout acme has 1 problem(s)")
    assert "(?<!" in str(refused.value)


def test_a_refused_pattern_is_not_printed_by_re2_itself(capfd):
    """RE2 logs each pattern it cannot parse to stderr unless told not to: the problem says it once."""
    with pytest.raises(LayoutError):
        layout_from_document({**NAMED_BY_FILE, "file_name": {"pattern": r"(?=x)(?P<security_code>a)"}})
    assert capfd.readouterr().err == ""
