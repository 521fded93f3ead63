"""Markdown for Dagster's UI built from values of the data: rendered as GitHub-flavoured markdown
(tables, autolinks), every value shows as its own text, never as a link, an image, emphasis or HTML."""
from markdown_it import MarkdownIt
from markdown_it.token import Token

from orders_assets.core.report.markdown import markdown_table, markdown_text

HOSTILE = ['=HYPERLINK("http://x","y")', "A|B", "[x](http://evil)", "![i](http://evil/i.png)", "<script>x</script>",
           "<http://evil>", "**b**", "_e_", "~~s~~", "`code|x`", "# heading", "> quote", "1. item", "- item",
           "two\nlines", "cr\rtab\tnul\x00del\x7f", "www.evil.com", "https://evil.com/a_b", "mail@evil.com",
           "A\\|B", "ends with \\", "&amp; &#60;", " padded ", "1,234.50", "2025-03-03", "-2", "ÄÖ|ü", ""]
LINKS_AND_HTML = ("link_open", "image", "html_inline", "html_block", "em_open", "strong_open", "s_open",
                  "code_inline", "heading_open", "blockquote_open", "bullet_list_open", "ordered_list_open")


def gfm() -> MarkdownIt:
    return MarkdownIt("gfm-like")  # tables, strikethrough and autolinks (linkify), as the UI's remark-gfm


def shown(value: str) -> str:
    """What the UI shows for a value: the value, its control characters as their Unicode pictures."""
    return value.translate({code: 0x2400 + code for code in range(32)} | {0x7F: 0x2421})


def flat(tokens: list[Token]) -> list[Token]:
    return [child for token in tokens for child in [token, *flat(token.children or [])]]


def cell_texts(tokens: list[Token]) -> list[list[str]]:
    """The text of every cell of the rendered table, row by row (header first)."""
    rows, row, cell = [], None, None
    for token in flat(tokens):
        if token.type == "tr_open":
            row = []
        elif token.type in ("td_open", "th_open"):
            cell = ""
        elif token.type in ("text", "text_special") and cell is not None:
            cell += token.content
        elif token.type in ("td_close", "th_close"):
            row.append(cell)
            cell = None
        elif token.type == "tr_close":
            rows.append(row)
    return rows


def test_every_cell_of_a_table_renders_as_its_value_and_nothing_else():
    text = markdown_table(["value", "rows"], [[value, f"{number:,}"] for number, value in enumerate(HOSTILE)],
                          right_aligned=["rows"])
    tokens = gfm().parse(text)
    assert not [token.type for token in flat(tokens) if token.type in LINKS_AND_HTML]
    assert cell_texts(tokens) == [["value", "rows"], *[[shown(value), f"{number:,}"]
                                                       for number, value in enumerate(HOSTILE)]]
    html = gfm().render(text)
    assert "<a" not in html and "<img" not in html and "<script" not in html


def test_a_value_in_a_list_item_renders_as_its_text():
    values = [value for value in HOSTILE if value]
    text = "\n".join(f"- {markdown_text(value)}: {markdown_text(value)}" for value in values)
    tokens = gfm().parse(text)
    items = [token for token in flat(tokens) if token.type == "inline"]
    assert ["".join(child.content for child in item.children) for item in items] == [
        f"{shown(value)}: {shown(value)}" for value in values]
    kinds = {token.type for token in flat(tokens)}
    assert not kinds & (set(LINKS_AND_HTML) - {"bullet_list_open"})


def test_the_same_values_unescaped_would_have_been_markup():
    """The values are hostile: written as they are, they make links, HTML and extra cells."""
    tokens = gfm().parse("| value |\n|---|\n" + "\n".join(f"| {value} |" for value in HOSTILE if "\n" not in value))
    kinds = {token.type for token in flat(tokens)}
    assert {"link_open", "image", "html_inline", "strong_open", "s_open"} <= kinds
