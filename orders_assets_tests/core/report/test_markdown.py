"""Markdown for Dagster's UI built from values of the data: rendered as GitHub-flavoured markdown
(tables, autolinks), every value shows as its own text, never as a link, an image, emphasis or HTML."""
from orders_assets.core.report.markdown import markdown_table, markdown_text
from orders_assets_tests.support.markdown_view import list_items, markup, parsed, table_cells

HOSTILE = ['=HYPERLINK("http://x","y")', "A|B", "[x](http://evil)", "![i](http://evil/i.png)", "<script>x</script>",
           "<http://evil>", "**b**", "_e_", "~~s~~", "`code|x`", "# heading", "> quote", "1. item", "- item",
           "two\nlines", "cr\rtab\tnul\x00del\x7f", "www.evil.com", "https://evil.com/a_b", "mail@evil.com",
           "A\\|B", "ends with \\", "&amp; &#60;", " padded ", "1,234.50", "2025-03-03", "-2", "ÄÖ|ü", "```", ""]


def shown(value: str) -> str:
    """What the UI shows for a value: the value, its control characters as their Unicode pictures."""
    return value.translate({code: 0x2400 + code for code in range(32)} | {0x7F: 0x2421})


def test_every_cell_of_a_table_renders_as_its_value_and_nothing_else():
    text = markdown_table(["value", "rows"], [[value, f"{number:,}"] for number, value in enumerate(HOSTILE)],
                          right_aligned=["rows"])
    assert not markup(text)
    assert table_cells(text) == [["value", "rows"], *[[shown(value), f"{number:,}"]
                                                      for number, value in enumerate(HOSTILE)]]


def test_a_value_in_a_list_item_renders_as_its_text():
    values = [value for value in HOSTILE if value]  # an item holds text
    text = "\n".join(f"- {markdown_text(value)}: {markdown_text(value)}" for value in values)
    assert not markup(text)
    assert list_items(text) == [f"{shown(value)}: {shown(value)}" for value in values]
    assert [token.type for token in parsed(text)].count("bullet_list_open") == 1


def test_the_same_values_unescaped_would_have_been_markup():
    """The values are hostile: written as they are, they make links, images, HTML and emphasis."""
    text = "| value |\n|---|\n" + "\n".join(f"| {value} |" for value in HOSTILE if "\n" not in value)
    assert {"link_open", "image", "html_inline", "strong_open", "em_open", "s_open"} <= markup(text)
