"""Short stable names for texts: a settings fingerprint, a folder name for a file's key, a cache tag.

Not content digests (those are XXH3-128, see identity.py): these name things, so SHA-1 cut to a
few hex digits is enough, and one function keeps every such name made the same way.
"""
import hashlib

PART_SEPARATOR = "\x1e"
"""The record separator joins the parts, so ("ab", "c") and ("a", "bc") get different names."""


def short_digest(*parts: str, length: int = 16) -> str:
    """The first `length` hex digits of SHA-1 over the parts joined by PART_SEPARATOR."""
    return hashlib.sha1(PART_SEPARATOR.join(parts).encode("utf-8")).hexdigest()[:length]
