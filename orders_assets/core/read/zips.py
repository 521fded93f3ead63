"""What a zip archive in the landing folder holds, and each of its order files as a stream.

Public tick archives come as one zip per symbol and day, so a zip is read where it lies, never
extracted: a zip holding one order file (a member whose name ends in .csv) is that file,
compressed; a zip holding several is one source per member. Python's zipfile streams a member
(`ZipFile.open`), decompressing as it is read, so memory stays flat as for gzip. It reads the
methods stored, deflate, bzip2 and lzma; a member compressed otherwise (Deflate64, PPMd ...) or
encrypted is refused with the fix, as is an archive whose directory cannot be read.

Member names come from the archive's maker: they only name sources (`archive.zip!member`), whose
staging and quarantine files are named by `sources.storage_id`, never by the member's name. A name
that would read as a path out of the archive (absolute, `..`) or holds a control character is not
read, with the reason.
"""
from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from orders_assets.core.errors import InputError, one_line, shown

ZIP_SUFFIX = ".zip"
MEMBER_SUFFIX = ".csv"
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
COMPRESSED_MEMBER_SUFFIXES = (".csv.gz", ".csv.zst", ".csv.zstd", ".csv.xz", ".csv.bz2")
ENCRYPTED_FLAG = 0x1
"""Bit 0 of a member's general purpose flags: the member is encrypted."""
SYSTEM_FOLDERS = ("__MACOSX/",)
"""Folders archivers add beside the files (macOS resource forks): never order files."""


class ZipRefusal(InputError):
    """A zip, or one member of it, that cannot be read; the message says why and the fix."""


@dataclass(frozen=True)
class ZipMember:
    name: str
    compressed_bytes: int
    """Its bytes in the archive: the size a source of one member of several has on disk."""


@dataclass(frozen=True)
class ZipListing:
    """The order files a zip holds, the members it holds that are not read and why, and, when
    it holds no order file it can read, why the zip as a whole is refused."""

    members: tuple[ZipMember, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    problem: str | None = None


def is_zip_name(name: str) -> bool:
    return name.lower().endswith(ZIP_SUFFIX)


def zip_listing(path: Path) -> ZipListing:
    """The members of the zip at `path` by its central directory (read from the archive's end: no
    member is decompressed)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        return ZipListing(problem=f"not a readable zip archive ({one_line(error)}): truncated or not a zip; land a "
                                  "complete copy (`unzip -t` checks one)")
    if not infos:
        return ZipListing(problem="an empty zip archive: it holds no file to read")
    skipped = tuple((info.filename, reason) for info in infos if (reason := member_name_problem(info.filename)))
    members = tuple(ZipMember(info.filename, info.compress_size) for info in infos
                    if member_name_problem(info.filename) is None)
    if not members:
        first_name, first_reason = skipped[0]
        return ZipListing(skipped=skipped, problem=f"holds no order file ({len(skipped)} member(s); "
                                                   f"'{shown(first_name)}': {first_reason})")
    return ZipListing(members=members, skipped=skipped)


def member_name_problem(name: str) -> str | None:
    """Why the member of this name is not an order file to read (None: it is one)."""
    lowered = name.lower()
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or any(not character.isprintable() for character in name):
        return ("a member name that is a path out of the archive or holds a control character: not read; "
                "rebuild the zip with plain relative names")
    if lowered.startswith(SYSTEM_FOLDERS) or PurePosixPath(name).name.startswith("."):
        return "a hidden or system file of the archiver: not read"
    if lowered.endswith(COMPRESSED_MEMBER_SUFFIXES):
        return ("a compressed file inside the zip: not read; zip the .csv itself, or land the compressed file "
                "as it is")
    if not lowered.endswith(MEMBER_SUFFIX):
        return f"not an order file by name: the files read inside a zip end in {MEMBER_SUFFIX}"
    return None


def member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why this member's bytes cannot be read (None: zipfile streams it)."""
    if info.flag_bits & ENCRYPTED_FLAG:
        return "the member is encrypted (password-protected): land it unencrypted"
    if info.compress_type not in READABLE_METHODS:
        method = zipfile.compressor_names.get(info.compress_type, f"method {info.compress_type}")
        return (f"the member is compressed with {method}, which cannot be read (stored, deflate, bzip2 and lzma "
                f"can): recompress it (`zip -Z deflate`) or land the CSV as .csv.gz")
    return None


class MemberStream:
    """A zip member's decompressed bytes, read in order; a corrupt member (bad data, a CRC that
    does not match at its end) raises OSError, as a corrupt gzip stream does."""

    def __init__(self, path: Path, member: str):
        self.file = open(path, "rb")
        try:
            self.archive = zipfile.ZipFile(self.file)
            info = self.archive.getinfo(member)
            problem = member_problem(info)
            if problem:
                raise ZipRefusal(problem)
            self.stream = self.archive.open(info)
        except ZipRefusal:
            self.file.close()
            raise
        except KeyError:
            self.file.close()
            raise ZipRefusal(f"the archive no longer holds '{shown(member)}' (rewritten since it was listed): "
                             "it is read again at the next run") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
            self.file.close()
            raise ZipRefusal(f"not a readable zip archive ({one_line(error)}): land a complete copy") from error
        self.start = info.header_offset
        self.size = info.compress_size

    def read(self, size: int) -> bytes:
        try:
            return self.stream.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
            raise OSError(f"corrupt zip member: {one_line(error)}") from error

    def tell(self) -> int:
        """Bytes of the member's compressed data consumed (for progress in bytes on disk)."""
        return min(max(self.file.tell() - self.start, 0), self.size)

    def close(self) -> None:
        self.stream.close()
        self.archive.close()
        self.file.close()
