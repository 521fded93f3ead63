"""YAML for config and layout files: safe values, aliases refused before they can expand."""
import pytest
import yaml

from orders_assets.core.read.layout.yaml_text import load_yaml

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi"))


def test_plain_yaml_reads_as_safe_load_reads_it():
    text = "filter:\n  order_types: [CENTRE_POINT]\ntimezone: Australia/Sydney\nsize_edges: [10000, 50000]\n"
    assert load_yaml(text) == yaml.safe_load(text)


def test_an_alias_bomb_is_refused_at_its_first_alias():
    with pytest.raises(yaml.YAMLError, match="aliases .* are not allowed") as refused:
        load_yaml(BOMB)  # the scanner stops at the first *a, before anything is built
    assert "line 2, column 8" in str(refused.value)  # the first `*a`
