"""The assets: landing files, their ingest, the filtered order sets (orders.py), a big file's
pieces (pieces.py) and the reports (reports.py)."""
import warnings

import dagster as dg

# Both partitioned assets need BackfillPolicy.single_run() (one run for a year's keys, docs/
# architecture.md); Dagster marks the parameter beta and warns on every load, in every process (the
# webserver's code server, the daemon's, every run): a warning no user of this project can act on.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
