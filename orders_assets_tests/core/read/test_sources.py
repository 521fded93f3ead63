"""The landing folder: which files are order files, and the reason for every one that is not."""
from orders_assets.core.generate import generate_orders
from orders_assets.core.read.sources import scan_landing


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
