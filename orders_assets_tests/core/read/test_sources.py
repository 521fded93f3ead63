"""The landing folder: which files are order files, and the reason for every one that is not."""
import os
import re

import pytest

from orders_assets.core.errors import InputError
from orders_assets.core.generate import generate_orders
from orders_assets.core.read.sources import scan_landing, storage_id


def test_every_entry_not_read_has_its_reason_and_order_files_are_found(tmp_path):
    landing = tmp_path / "landing"
    generate_orders(landing / "day" / "orders.csv", rows=50, days=1, securities=2, seed=1)
    (landing / ".git").mkdir()
    (landing / ".git" / "orders.csv").write_text("x")
    (landing / "_staging").mkdir()
    for name in ("notes.txt", ".DS_Store", "~lock.csv", "a.csv.crdownload", "b.7z", "c.tar.gz"):
        (landing / name).write_text("x")
    (landing / "gone.csv").symlink_to(landing / "missing.csv")  # broken, inside
    (landing / "out.csv").symlink_to(landing / "day" / "orders.csv")  # inside: followed
    scan = scan_landing(landing)
    assert [source.key for source in scan.sources] == ["day/orders.csv", "out.csv"]
    reasons = {entry.key: entry.reason for entry in scan.skipped}
    assert sorted(reasons) == [".DS_Store", ".git/", "_staging/", "a.csv.crdownload", "b.7z", "c.tar.gz",
                               "gone.csv", "notes.txt", "~lock.csv"]
    assert reasons[".git/"].startswith("a hidden folder") and reasons["~lock.csv"].startswith("a hidden or temporary")
    assert "an archive" in reasons["b.7z"] and "an archive" in reasons["c.tar.gz"]
    assert "not a regular file" in reasons["gone.csv"] and "not an order file by name" in reasons["notes.txt"]


def names_before_the_bound(key: str) -> str:
    """storage_id as data folders made before the byte bound named staging folders (their names stay)."""
    import hashlib

    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)[-80:]
    return f"{stem}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def test_a_storage_name_that_fit_a_file_system_before_is_unchanged():
    """Existing data folders hold staging folders under these names: a new name would list the source twice."""
    keys = ["orders.csv", "2025/03/ASX orders (final).csv.gz", "x" * 300 + ".csv", "Übersicht/Aufträge_März.csv",
            "ордера-" * 30 + ".parquet", "注文" * 39 + ".csv"]
    for key in keys:
        assert len((names_before_the_bound(key) + ".lock").encode()) <= 255, key  # each one could have worked
        assert storage_id(key) == names_before_the_bound(key), key


def test_every_name_made_from_a_source_key_fits_a_file_name_and_the_keys_stay_apart(tmp_path):
    """Keys of 4-byte letters (62 and ".csv" are a legal 252-byte file name), deep folders of them, and
    3-byte ones past the old stem: the staging folder, the lock and the quarantine file are made on disk."""
    wide = "\U00010400"
    keys = [wide * 62 + ".csv", wide * 61 + "\U00010401.csv", f"{wide * 60}/{wide * 62}.csv", "注文" * 40 + ".csv",
            ("\u00e9" * 120 + "/") * 3 + "o.csv"]
    ids = [storage_id(key) for key in keys]
    assert len(set(ids)) == len(keys)
    for key, name in zip(keys, ids):
        stem = name[:-len("-0123456789")]
        assert stem and key.replace("/", "_").endswith(stem), name  # the key's own ending, readable
        (tmp_path / name).mkdir()
        (tmp_path / f"{name}.lock").write_text("")
        (tmp_path / f"{name}.csv").write_text("")


def test_symlinked_folders_are_named_and_their_files_are_read_once_at_most(tmp_path):
    landing, elsewhere = tmp_path / "landing", tmp_path / "elsewhere"
    generate_orders(landing / "day" / "orders.csv", rows=50, days=1, securities=2, seed=1)
    generate_orders(landing / "_held" / "orders.csv", rows=50, days=1, securities=2, seed=2)
    generate_orders(elsewhere / "orders.csv", rows=50, days=1, securities=2, seed=3)
    (landing / "outside").symlink_to(elsewhere, target_is_directory=True)
    (landing / "again").symlink_to(landing / "day", target_is_directory=True)
    (landing / "held").symlink_to(landing / "_held", target_is_directory=True)
    (landing / "loop.csv").symlink_to(landing / "loop.csv")
    scan = scan_landing(landing)
    assert [source.key for source in scan.sources] == ["day/orders.csv"]
    reasons = {entry.key: entry.reason for entry in scan.skipped}
    assert sorted(reasons) == ["_held/", "again/", "held/", "loop.csv", "outside/"]
    assert reasons["outside/"] == (f"a symlink to a folder outside the landing folder ({elsewhere}): not followed; "
                                   "copy its files in, or make that folder the landing folder")
    assert reasons["again/"] == ("a symlink to day/ of the landing folder: not walked, its files are read at their "
                                 "own path (reading both would count them twice)")
    assert "not read either (a hidden folder)" in reasons["held/"] and "symlink loop" in reasons["loop.csv"]


def folder_listing(landing):
    """scan_landing's sources and skipped entries as plain values (what a child process sends back)."""
    scan = scan_landing(landing)
    return [source.key for source in scan.sources], {entry.key: entry.reason for entry in scan.skipped}


def test_a_folder_the_process_cannot_read_is_named_with_the_permission_to_grant(tmp_path):
    """As root the scan runs without the capabilities that override file modes (support/unprivileged.py)."""
    import pwd

    from orders_assets_tests.support.unprivileged import call_denied

    user = pwd.getpwuid(os.geteuid()).pw_name
    landing = tmp_path / "landing"
    generate_orders(landing / "open" / "orders.csv", rows=50, days=1, securities=2, seed=1)
    generate_orders(landing / "locked" / "orders.csv", rows=50, days=1, securities=2, seed=2)
    (landing / "locked").chmod(0)
    try:
        keys, reasons = call_denied(folder_listing, landing)
        assert keys == ["open/orders.csv"]
        assert reasons == {"locked/": f"a folder this process cannot read (Permission denied): its files are not "
                                      f"read; grant {user} read and execute permission on it (e.g. chmod a+rx "
                                      f"'{landing / 'locked'}')"}
        landing.chmod(0)
        with pytest.raises(InputError, match=f"^landing folder {re.escape(str(landing))} cannot be read "
                                             rf"\(Permission denied\): grant {user} read and execute permission"):
            call_denied(folder_listing, landing)
    finally:
        landing.chmod(0o755)
        (landing / "locked").chmod(0o755)
