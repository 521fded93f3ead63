"""Where rows begin and end: csv_rows against Python's csv module (the oracle) on random quoting."""
import csv
import io
import random

from orders_assets.core.read.csv_rows import has_lone_cr, last_row_end, quoted_sections, row_spans

FIELD_KINDS = [
    lambda rng: rng.choice(["BHP", "45.12", "", "P1"]),
    lambda rng: 'BH"P',                       # a stray quote inside an unquoted field
    lambda rng: '"a,b"',                      # a quoted comma
    lambda rng: '"two\nlines"',               # a quoted newline
    lambda rng: '"CR LF\r\ninside"',          # a quoted CR LF
    lambda rng: '"say ""hi"""',               # doubled quotes
    lambda rng: '"ab"c"d',                    # text and a quote after the closing quote
    lambda rng: ' "spaced"',                  # a quote after a space is literal
    lambda rng: '""',                         # an empty quoted field
]


def random_csv(rng: random.Random, rows: int, kinds=FIELD_KINDS) -> str:
    line_end = rng.choice(["\n", "\r\n"])
    lines = []
    for _ in range(rows):
        if rng.random() < 0.05:
            lines.append("")  # a blank line
            continue
        lines.append(",".join(rng.choice(kinds)(rng) for _ in range(rng.randint(1, 4))))
    return line_end.join(lines) + (line_end if rng.random() < 0.8 else "")


def oracle_rows(text: str) -> list[tuple[int, list[str]]]:
    """(first physical line, fields) of each non-blank row, as Python's csv module reads them."""
    reader = csv.reader(io.StringIO(text, newline=""))
    found, consumed = [], 0
    for fields in reader:
        start, consumed = consumed, reader.line_num
        if fields:
            found.append((start + 1, fields))
    return found


def test_rows_and_lines_match_pythons_csv_on_random_quoting():
    rng = random.Random(18)
    for case in range(400):
        text = random_csv(rng, rng.randint(1, 30))
        data = text.encode()
        spans = row_spans(data, first_line=1)
        expected = oracle_rows(text)
        assert spans.lines.tolist() == [line for line, _ in expected], (case, text)
        fields = [next(csv.reader([spans.raw(data, index).decode()])) for index in range(len(spans))]
        assert fields == [row for _, row in expected], (case, text)


def test_rows_and_lines_match_pythons_csv_without_quotes():
    """Blocks with no quote take the row-a-line path unless a blank line (or a CR-only line) is in them."""
    rng = random.Random(20)
    plain_kinds = [FIELD_KINDS[0]]
    for case in range(400):
        text = random_csv(rng, rng.randint(1, 30), plain_kinds)
        if rng.random() < 0.1:
            text = text.replace("\n", "\n\r\n", 1) if "\r\n" in text else "\n" + text
        data = text.encode()
        spans = row_spans(data, first_line=1)
        expected = oracle_rows(text)
        assert spans.lines.tolist() == [line for line, _ in expected], (case, text)
        fields = [next(csv.reader([spans.raw(data, index).decode()])) for index in range(len(spans))]
        assert fields == [row for _, row in expected], (case, text)


def oracle_row_ends(text: str) -> list[int]:
    """Byte offsets just after each LF that ends a row (blank rows included), as csv reads them."""
    line_starts = [0]
    for line in text.encode().split(b"\n")[:-1]:
        line_starts.append(line_starts[-1] + len(line) + 1)
    reader = csv.reader(io.StringIO(text, newline=""))
    ends = []
    for _ in reader:
        if reader.line_num < len(line_starts):
            ends.append(line_starts[reader.line_num])
    return ends


def test_a_block_is_cut_at_the_last_row_end_in_it():
    rng = random.Random(7)
    for case in range(100):
        text = random_csv(rng, 20)
        data = text.encode()
        ends = oracle_row_ends(text)
        for cut in range(0, len(data) + 1, 3):
            expected = max([end for end in ends if end <= cut], default=0)
            assert last_row_end(data[:cut]) == expected, (case, cut, text)


def test_a_stray_quote_does_not_make_a_quoted_section():
    data = b'1,BH"P,2\n3,4,5\n6,"a\nb",7\n'
    assert quoted_sections(data).opens.tolist() == [data.index(b'"a')]
    assert row_spans(data, 2).lines.tolist() == [2, 3, 4]
    assert last_row_end(data[:-1]) == data.index(b"6")


def test_cutting_is_linear_with_a_stray_quote_in_every_row():
    data = b"".join(b'%d,BH"P,x\n' % number for number in range(200_000))  # 2.6 MB, each quote literal
    assert last_row_end(data) == len(data)
    assert len(row_spans(data, 1)) == 200_000


def test_an_unterminated_quote_holds_the_rest_of_the_data():
    data = b'1,2\n3,"open\n4,5\n'
    sections = quoted_sections(data)
    assert sections.unterminated
    assert last_row_end(data) == 4
    assert row_spans(data, 1).lines.tolist() == [1, 2]


def test_a_lone_cr_is_told_from_a_crlf_line_end():
    assert not has_lone_cr(b"a,b\r\nc,d\r\n")
    assert not has_lone_cr(b"a,b\r\nc,d\r")
    assert has_lone_cr(b"a,b\r\nc\r,d\r\n")
