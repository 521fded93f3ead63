"""Markdown metadata as Dagster's UI shows it: parsed as GitHub-flavoured markdown (tables,
strikethrough, autolinks) by markdown-it-py, with nothing of the package's code."""
from markdown_it import MarkdownIt
from markdown_it.token import Token

MARKUP = ("link_open", "image", "html_inline", "html_block", "em_open", "strong_open", "s_open", "code_inline",
          "heading_open", "blockquote_open", "ordered_list_open", "fence", "code_block", "hr")
"""Tokens that a value shown as its own text never makes."""


def parsed(markdown: str) -> list[Token]:
    """Every token of the markdown, inline ones included, in document order."""
    def flat(tokens: list[Token]) -> list[Token]:
        return [each for token in tokens for each in [token, *flat(token.children or [])]]
    return flat(MarkdownIt("gfm-like").parse(markdown))


def markup(markdown: str) -> set[str]:
    """The kinds of markup the markdown makes (links, images, HTML, emphasis, headings ...)."""
    return {token.type for token in parsed(markdown) if token.type in MARKUP}


def table_cells(markdown: str) -> list[list[str]]:
    """The text of each cell of the markdown's tables, row by row (header rows included)."""
    rows, row, cell = [], [], None
    for token in parsed(markdown):
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


def list_items(markdown: str) -> list[str]:
    """The text of each item of the markdown's lists."""
    items, item = [], None
    for token in parsed(markdown):
        if token.type == "list_item_open":
            item = ""
        elif token.type in ("text", "text_special") and item is not None:
            item += token.content
        elif token.type == "list_item_close":
            items.append(item)
            item = None
    return items
