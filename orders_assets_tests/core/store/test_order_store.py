"""Where the store writes, against the landing folder it reads: no output may be read back as orders."""
import pytest

from orders_assets.core.store.folders import folders_problem


@pytest.mark.parametrize("where", ["a folder", "a file:// URL", "the landing folder itself"])
def test_an_output_folder_inside_the_landing_folder_is_refused_with_the_fix(tmp_path, where):
    landing = tmp_path / "landing"
    landing.mkdir()
    output = {"a folder": str(landing / "published"), "a file:// URL": (landing / "published").as_uri(),
              "the landing folder itself": str(landing)}[where]
    problem = folders_problem(landing, tmp_path / "data", output)
    assert problem is not None and "\n" not in problem
    assert f"the output folder {output} (output_url) is inside the landing folder {landing}" in problem
    assert "set output_url to a folder beside the landing folder" in problem


def test_outputs_beside_the_landing_folder_or_remote_are_accepted(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    for output in ("", str(tmp_path / "published"), (tmp_path / "published").as_uri(), "memory://bucket/landing",
                   "s3://bucket" + str(landing)):
        assert folders_problem(landing, tmp_path / "data", output) is None, output
    # a landing folder inside the output root but outside the folders the runs write is no loop
    assert folders_problem(tmp_path / "published" / "incoming", tmp_path / "data", str(tmp_path / "published")) is None


@pytest.mark.parametrize("inside", ["published/reports", "published/orders/trade_date=2025-03-03", "data/quarantine",
                                    "data/staging"])
def test_a_landing_folder_inside_a_folder_the_runs_write_is_refused(tmp_path, inside):
    landing = tmp_path / inside
    problem = folders_problem(landing, tmp_path / "data", str(tmp_path / "published"))
    assert problem is not None and problem.startswith(f"the landing folder {landing} is inside ")
    assert "move the landing folder out" in problem


def test_a_data_folder_inside_the_landing_folder_is_still_refused(tmp_path):
    problem = folders_problem(tmp_path, tmp_path / "data")
    assert problem is not None and f"the data folder {tmp_path / 'data'} is inside the landing folder" in problem
