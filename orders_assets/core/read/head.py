"""What the first bytes of a CSV file's content say it is, when they say it is not UTF-8 text.

A file that is UTF-16 or UTF-32 text, or compressed once more inside its own compression (or
compressed under a plain .csv name), would otherwise reach the header check as bytes: the
refusal then listed NUL bytes or binary as the columns "found", and said nothing of the cause.
These are recognised by their first bytes, which say what the file is beyond doubt (a byte
order mark, a NUL after every ASCII letter, a compression's magic number), and refused with
the fix. Anything else goes on to the header and rows, whose own checks apply.
"""
from __future__ import annotations

BYTE_ORDER_MARKS = (
    (b"\x00\x00\xfe\xff", "UTF-32 big-endian", "UTF-32BE"),
    (b"\xff\xfe\x00\x00", "UTF-32 little-endian", "UTF-32LE"),
    (b"\xfe\xff", "UTF-16 big-endian", "UTF-16BE"),
    (b"\xff\xfe", "UTF-16 little-endian", "UTF-16LE"),
)
"""(mark, encoding, its iconv name); UTF-32 LE first, since its mark starts with UTF-16 LE's."""
COMPRESSIONS = (
    (b"\x1f\x8b", "gzip", ".gz", "gzip -dc"),
    (b"\x28\xb5\x2f\xfd", "zstd", ".zst", "zstd -dc"),
    (b"\xfd7zXZ\x00", "xz", ".xz", "xz -dc"),
    (b"BZh", "bz2", ".bz2", "bzip2 -dc"),
)
"""(magic number, compression, its suffix, the command that removes one layer of it)."""
BZ2_BLOCK_MAGIC = b"1AY&SY"
"""A bzip2 stream's first block starts at byte 4 with this: 'BZh' alone could begin a CSV line."""
ZIP_MAGIC = b"PK\x03\x04"
PATTERN_UNITS = 8
"""Code units of the first line that must show a wide encoding's NUL pattern (8 ASCII letters)."""


def head_problem(head: bytes, name: str, compression: str | None) -> str | None:
    """Why a file whose content starts with `head` (after its `compression`, if any, is undone) is
    not UTF-8 CSV text, with the fix; None if nothing in its first bytes says so."""
    return _wide_text_problem(head) or _compressed_problem(head, name, compression)


def _wide_text_problem(head: bytes) -> str | None:
    encoding = _wide_encoding(head)
    if encoding is None:
        return None
    text, iconv_name = encoding
    return (f"the file is {text} text, not UTF-8: save it as UTF-8 (in a spreadsheet: CSV UTF-8; or "
            f"`iconv -f {iconv_name} -t UTF-8`) and land it again")


def _wide_encoding(head: bytes) -> tuple[str, str] | None:
    """(encoding, iconv name) of UTF-16/32 text, by its byte order mark or, without one, by the NUL
    bytes beside each ASCII character of the first line."""
    for mark, text, iconv_name in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return text, iconv_name
    for width, big_endian, text, iconv_name in ((4, False, "UTF-32 little-endian", "UTF-32LE"),
                                                (4, True, "UTF-32 big-endian", "UTF-32BE"),
                                                (2, False, "UTF-16 little-endian", "UTF-16LE"),
                                                (2, True, "UTF-16 big-endian", "UTF-16BE")):
        if _ascii_in_units(head, width, big_endian):
            return text, iconv_name
    return None


def _ascii_in_units(head: bytes, width: int, big_endian: bool) -> bool:
    """True when the first PATTERN_UNITS code units of `width` bytes each hold one ASCII character
    (a non-NUL byte at the low end, NULs in the rest): a header line or first row in that encoding."""
    units = [head[index:index + width] for index in range(0, width * PATTERN_UNITS, width)]
    if len(units[-1]) < width:
        return False
    for unit in units:
        character, padding = (unit[-1], unit[:-1]) if big_endian else (unit[0], unit[1:])
        if not 0 < character < 0x80 or padding.strip(b"\x00"):
            return False
    return True


def _compressed_problem(head: bytes, name: str, compression: str | None) -> str | None:
    if head.startswith(ZIP_MAGIC):
        return (f"the file is a zip archive, not CSV text: rename it to {name}.zip to have the CSV it holds read "
                "(or land that CSV itself)")
    found = next((entry for entry in COMPRESSIONS if _starts_with_stream(head, entry[0])), None)
    if found is None:
        return None
    _magic, inner, suffix, _undo = found
    if compression is not None:
        undo = next(entry[3] for entry in COMPRESSIONS if entry[1] == compression)
        return (f"compressed twice: the content inside its {compression} compression is {inner}-compressed again; "
                f"remove the outer layer (`{undo} {name} > {_once_compressed_name(name, suffix)}`) and land that "
                "file instead")
    return (f"the content is {inner}-compressed but the name does not end in {suffix}: rename it to {name}{suffix} "
            "(or land it decompressed)")


def _once_compressed_name(name: str, inner_suffix: str) -> str:
    """A name for the file with its outer compression removed: its inner compression's suffix in
    place of the outer one's, and a name of its own when both are the same (a.csv.gz -> a-once.csv.gz)."""
    base = name[:name.rfind(".")]
    if base + inner_suffix != name:
        return base + inner_suffix
    stem, dot, rest = base.rpartition(".csv")
    return f"{stem}-once{dot}{rest}{inner_suffix}" if dot else f"{base}-once{inner_suffix}"


def _starts_with_stream(head: bytes, magic: bytes) -> bool:
    if not head.startswith(magic):
        return False
    return magic != b"BZh" or head[4:4 + len(BZ2_BLOCK_MAGIC)] == BZ2_BLOCK_MAGIC
