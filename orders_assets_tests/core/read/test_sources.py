"""The landing folder: which files are order files, and the reason for every one that is not."""
from orders_assets.core.generate import generate_orders
from orders_assets.core.read.sources import scan_landing, storage_id


def test_every_entry_not_read_has_its_reason_and_order_files_are_found(tmp_path):
    landing = tmp_path / "landing"
    generate_orders(landing / "day" / "orders.csv", rows=50, days=1, securities=2, seed=1)
    (landing / ".git").mkdir()
    (landing / ".git" / "orders.csv").write_text("x")
    (landing / "_staging").mkdir()
    for name in ("notes.txt", ".DS_Store", "~lock.csv", "a.csv.crdownload", "b.zip", "c.tar.gz"):
        (landing / name).write_text("x")
    (landing / "gone.csv").symlink_to(landing / "missing.csv")  # broken, inside
    (landing / "out.csv").symlink_to(landing / "day" / "orders.csv")  # inside: followed
    scan = scan_landing(landing)
    assert [source.key for source in scan.sources] == ["day/orders.csv", "out.csv"]
    reasons = {entry.key: entry.reason for entry in scan.skipped}
    assert sorted(reasons) == [".DS_Store", ".git/", "_staging/", "a.csv.crdownload", "b.zip", "c.tar.gz",
                               "gone.csv", "notes.txt", "~lock.csv"]
    assert reasons[".git/"].startswith("a hidden folder") and reasons["~lock.csv"].startswith("a hidden or temporary")
    assert "an archive" in reasons["b.zip"] and "an archive" in reasons["c.tar.gz"]
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
