"""The Dagster glue: assets, checks, resources, IO managers, partitions, the sensor and the one
Definitions, each a thin layer over the core (orders_assets/core), which knows nothing of Dagster.
Names Dagster shows (groups, jobs, IO manager keys, the sensor) are in names.py."""
