"""Where a run's steps execute: this process (the default), this machine's processes, or a Dask cluster.

In process is the default because every step here already uses all the cores it is given:
its work runs on `workers` threads over Arrow kernels that release the GIL. A step process of
its own buys no speed on the machine the tuning sized, and it costs a Python start with
Dagster, pyarrow and the code location imported again: about 3 s a step on 2 cores. At a year's
scale that was most of `dagster asset materialize` (one key 10.6 s, group:reports 28.8 s with
six step processes; docs/performance.md). The multiprocess executor, sized by the tuning's
max_concurrent, stays one run-config choice away (`execution: {config: {multiprocess: {}}}`),
for steps that must not share a process.

The Dask executor is dagster-dask's, with one change: its tasks are named per run. dagster-dask
0.29 names a step's Dask task `<job>.<step>`, the same for every run of a job, and Dask treats
tasks of one name as one computation, so when two runs of a job are on a cluster at once the
second is never executed and is reported with the first one's events (dagster-io/dagster#21418,
closed without a fix). orders_assets spreads partitions over workers precisely by running several
ranges of one job at once, so every task here is named `<job>.<step>.<run id>`. Everything else
(connecting, dependencies between steps, events, interrupts) is dagster-dask's own code.
"""
from __future__ import annotations

import functools

import dagster as dg
from dagster._core.definitions.executor_definition import (
    IN_PROC_CONFIG,
    MULTI_PROC_CONFIG,
    _core_in_process_executor_creation,
    _core_multiprocess_executor_creation,
    multiple_process_executor_requirements,
)
from dagster._core.errors import raise_execution_interrupts
from dagster._utils import iterate_with_context


def dask_task_key(job_name: str, step_key: str, run_id: str) -> str:
    """A Dask task name unique to one run's step, so concurrent runs of a job never share a task."""
    return f"{job_name}.{step_key}.{run_id}"


def step_on_worker(dependencies, **step):
    """dagster-dask's task body, with Dagster's event batching turned on in the worker's process as
    `orders-assets run` turns it on in its own: a step materializing thousands of partitions would
    otherwise write each event in a transaction of its own (docs/performance.md)."""
    from dagster_dask.executor import query_on_dask_worker

    from orders_assets.platform.instance import use_batched_events

    use_batched_events()
    return query_on_dask_worker(dependencies, **step)


def _run_scoped_dask_executor_class():
    """The executor class, built on first use so that importing this module does not import Dask."""
    import dask.distributed
    from dagster_dask.executor import DaskExecutor, get_dask_resource_requirements

    class RunScopedDaskExecutor(DaskExecutor):
        """dagster-dask's executor on an existing scheduler or a local cluster, one task name per run."""

        def execute(self, plan_context, execution_plan):
            if not plan_context.instance.is_persistent:
                raise dg.DagsterInvariantViolationError("Dask execution requires a persistent DagsterInstance")
            run = plan_context.dagster_run
            with dask.distributed.Client(self._cluster(plan_context.job_name)) as client:
                futures: dict[str, object] = {}
                for level in execution_plan.get_steps_to_execute_by_level():
                    for step in level:
                        dependencies = [futures[key] for step_input in step.step_inputs
                                        for key in step_input.dependency_keys]
                        # Only the dependencies go as arguments: Dask walks arguments that are tuples
                        # looking for futures, and Dagster's records (the run, its known state) refuse it.
                        task = functools.partial(
                            step_on_worker, recon_job=plan_context.reconstructable_job, dagster_run=run,
                            run_config=plan_context.run_config, step_keys=[step.key],
                            instance_ref=plan_context.instance.get_ref(), known_state=execution_plan.known_state)
                        futures[step.key] = client.submit(
                            task, dependencies,
                            key=dask_task_key(plan_context.job_name, step.key, run.run_id),
                            resources=get_dask_resource_requirements(step.tags),
                        )
                completed = dask.distributed.as_completed(list(futures.values()), with_results=True)
                for _future, events in iterate_with_context(raise_execution_interrupts, completed):
                    yield from events

        def _cluster(self, job_name: str):
            if self.cluster_type == "existing":
                return self.cluster_configuration["address"]
            if self.cluster_type == "local":
                return dask.distributed.LocalCluster(**self.build_dict(job_name))
            raise dg.DagsterInvariantViolationError(
                f"cluster type {self.cluster_type!r}: orders_assets connects to an 'existing' scheduler (a Dask "
                "cluster started by dask-kubernetes, dask-jobqueue, SSH or by hand) or starts a 'local' one")

    return RunScopedDaskExecutor


DASK_CLUSTER_CONFIG = dg.Field(
    {
        "cluster": dg.Field(
            dg.Selector({
                "existing": dg.Field({"address": dg.StringSource}, description="Connect to a running scheduler."),
                "local": dg.Field(dg.Permissive(), is_required=False,
                                  description="Start a distributed.LocalCluster (its parameters)."),
            })
        )
    },
    description="Execute each step as a task on a Dask cluster (dagster-dask, one task name per run).",
)


def dask_execution(scheduler: str) -> dict:
    """The `execution` run config that sends a run's steps to the scheduler at this address."""
    return {"config": {"dask": {"cluster": {"existing": {"address": scheduler}}}}}


def executor_for(max_concurrent: int, dask_scheduler: str | None = None) -> dg.ExecutorDefinition:
    """The code location's executor: in process, multiprocess (sized by the tuning) or Dask, chosen per run.

    Its config is a choice between the three, so a launched run (the CLI's `--dask`, the UI's
    Launchpad) can pick any; the default is Dask when a scheduler address is given (the code
    location's ORDERS_ASSETS_DASK_SCHEDULER), else in process (see the module's docstring).
    The multiprocess choice runs at most `max_concurrent` step processes unless its config says otherwise.
    """
    default = dask_execution(dask_scheduler)["config"] if dask_scheduler else {"in_process": {}}
    return dg.ExecutorDefinition(
        name="orders_assets",
        config_schema=dg.Field(
            dg.Selector({"in_process": IN_PROC_CONFIG, "multiprocess": MULTI_PROC_CONFIG, "dask": DASK_CLUSTER_CONFIG}),
            default_value=default),
        executor_creation_fn=functools.partial(_create_executor, max_concurrent),
        requirements=_requirements,
        description="Steps in this process (default), in processes of this machine, or as tasks on a Dask cluster.",
    )


def _requirements(executor_config: dict) -> list:
    """What Dagster must provide: a reconstructable job and a persistent instance, unless in process."""
    return [] if "in_process" in executor_config else list(multiple_process_executor_requirements())


def _create_executor(max_concurrent: int, init_context):
    ((engine, config),) = init_context.executor_config.items()
    if engine == "in_process":
        return _core_in_process_executor_creation(config)
    if engine == "multiprocess":
        tuned = {"max_concurrent": max_concurrent} if config.get("max_concurrent") is None else {}
        return _core_multiprocess_executor_creation({**config, **tuned})
    ((cluster_type, cluster_configuration),) = config["cluster"].items()
    return _run_scoped_dask_executor_class()(cluster_type, cluster_configuration)


def connected_workers(scheduler: str, timeout_seconds: float = 5) -> int | None:
    """Workers connected to the scheduler now, or None when it does not answer in time."""
    from dask.distributed import Client

    try:
        with Client(scheduler, timeout=timeout_seconds) as client:
            return len(client.scheduler_info()["workers"])
    except (OSError, TimeoutError):
        return None
