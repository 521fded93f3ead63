"""The names Dagster shows and the glue, the sensor and the command line share: asset groups and
keys, jobs, IO manager keys, the sensor, partition definitions, run tags and metadata keys. One
place, so a rename is one edit and the definitions snapshot test (glue/test_definitions.py) sees it."""

LANDING_GROUP, INGEST_GROUP, ORDERS_GROUP, REPORTS_GROUP = "landing", "ingest", "orders", "reports"
"""The asset groups, in the pipeline's order."""
LANDING_ORDERS, ORDER_FILES, FILTERED_ORDERS, SUMMARY = "landing_orders", "order_files", "filtered_orders", "summary"
"""The assets besides the reports (whose names are the contract's, core/schema.REPORT_NAMES)."""

INGEST_JOB = "ingest_order_files"
PARTITIONS_JOB = "assemble_order_partitions"
REPORTS_JOB = "build_reports"
"""The three jobs, one a stage: what the sensor and `orders-assets run` launch."""

CHUNKED_SOURCE_IO_MANAGER = "chunked_source_io_manager"
"""Loads a landing file as a chunked source (read once, in blocks, by the ingest)."""
FILTERED_ORDERS_IO_MANAGER = "filtered_orders_io_manager"
"""Loads a (date, security) order set for assets users add downstream of filtered_orders."""

SENSOR_NAME = "landing_folder_sensor"

SOURCE_FILES = "source_files"
"""The dynamic partitions of landing files (one per file key)."""
TRADE_DATES, SECURITIES = "trade_dates", "securities"
"""The dynamic partitions the (date, security) keys are made of."""
DATE_DIMENSION, SECURITY_DIMENSION = "date", "security"
"""The dimensions of filtered_orders' multi-partition key ('2025-03-03|BHP')."""

ENGINE_SECONDS = "engine_seconds"
"""Metadata: seconds the step spent in the core engine; the rest of a run is Dagster's."""
PIECE_TAG = "orders_assets/piece"
"""Run tag '<cut id>:<piece index>': the run's order_files step ingests that piece of its one file."""
PIECE_WORKERS_TAG = "orders_assets/piece_workers"
"""Run tag: threads of a piece's step when the pieces share one machine's cores."""
CUT_TAG = "orders_assets/cut"
"""Run tag '<pieces>': the run's order_files step cuts its one file into that many pieces."""
MACHINE_TAG = "orders_assets/machine"
"""Run tag: the machine the run's tuning was made for."""
