"""The version rule of every file the store keeps: one written by an earlier release opens
(its missing fields take their defaults), one written by a later release is refused with the fix."""
from __future__ import annotations

from collections.abc import Mapping

from orders_assets.core.errors import StoreError


class StoreVersionError(StoreError, ValueError):
    """The data folder was written by a later release; the message names the file and the fix."""


def readable_version(document: Mapping, latest: int, where: str, what: str) -> int:
    """The version `document` was written at (1 when it has none: the releases before versions),
    or StoreVersionError when it is later than `latest`, the newest this release reads."""
    version = document.get("version", 1) if isinstance(document, Mapping) else None
    if not isinstance(version, int) or version > latest:
        raise StoreVersionError(
            f"{where}: written by a later release of orders_assets ({what} version {version}, this release "
            f"reads up to {latest}); upgrade orders_assets, or give this release its own data folder")
    return version
