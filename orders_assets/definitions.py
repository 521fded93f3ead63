"""The code location's entry point, the module Dagster is pointed at (pyproject's [tool.dagster],
workspace.yaml, `dagster ... -m orders_assets.definitions`, the workers of a pool or a cluster): the
Definitions themselves are the glue's (glue/definitions.py), built when Dagster loads them."""
from orders_assets.glue.definitions import defs

__all__ = ["defs"]
