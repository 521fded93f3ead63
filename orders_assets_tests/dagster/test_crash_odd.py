"""Crash safety at the odd kill points of test_crash.py (its docstring says what is checked); a file
of its own so that the suite's two workers share the twelve kills."""
from orders_assets_tests.dagster.test_crash import KILLS, kills_then_reruns


def test_six_kills_at_odd_points_then_a_rerun_give_the_clean_outputs(tmp_path):
    kills_then_reruns(tmp_path, range(1, KILLS, 2))
