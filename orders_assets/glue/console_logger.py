"""The runs' console logger: Dagster's colored one, without stack traces for a user's mistake, and
under `orders-assets run` without the failures the command says itself.

A step that stops on bad input (a refused file, a missing column) raises `dagster.Failure`
whose description names the file, the line and the fix. Dagster's console logger prints the
framework's stack trace under it, which says nothing to the user and hides the message in
thirty lines of Dagster internals. This logger prints the description alone; any other
error (a bug) keeps its full stack trace. The event log in the instance keeps everything.

`orders-assets run` prints one line per problem after its runs: each failed run with its reason,
each refused file with its reason and the fix. There (`said_by_the_command: true`) this logger
leaves out what would repeat them: the ingest's line per refused file, and the step and run
failures a user's mistake raised (dagster.Failure). A bug's failure is still printed whole.
"""
import logging

import dagster as dg

from orders_assets.core.store.disk import full_disk_in_report

REFUSED_LOG = "file refused, the others go on"
"""The ingest step's log line for each file it refuses (in the UI's run log as the file is reached)."""
REFUSED_METADATA = "refused"
"""The metadata key of the ingest step's failure that lists its refused files."""

USER_FAILURES = frozenset({"Failure", "DagsterExecutionInterruptedError"})
"""Error classes that say what happened without a stack trace: raised on purpose with a message for
the user (dagster.Failure), or a stop the user asked for (SIGINT / SIGTERM, see cli/interrupts.py)."""


class UserFailureWithoutStack(logging.Filter):
    """Rewrites a record whose event carries a user failure, or a write the disk refused (the command
    then says what to do in one line, core/store/disk.py): its message, not its stack trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        data = _event_data(record)
        error = getattr(data, "error", None)
        if error is None or not isinstance(record.msg, str):
            return True
        if error.cls_name in USER_FAILURES:
            record.msg = record.msg.replace(error.to_string(), error.message.rstrip())
            return True
        full_disk = full_disk_in_report(error)
        if full_disk:  # shown as Dagster shows it: the user code's error alone when it arose there
            record.msg = record.msg.replace(getattr(data, "error_display_string", error.to_string()), full_disk[1])
        return True


class SaidByTheCommand(logging.Filter):
    """Leaves out the records `orders-assets run` says itself, once, after its runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and REFUSED_LOG in record.msg:
            return False
        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None or not (event.is_step_failure or event.is_run_failure):
            return True
        error = getattr(event.event_specific_data, "error", None)
        return error is None or error.cls_name != "Failure"


def _event_data(record: logging.LogRecord):
    event = getattr(record, "dagster_meta", {}).get("dagster_event")
    return getattr(event, "event_specific_data", None)


@dg.logger(
    {
        "log_level": dg.Field(str, is_required=False, default_value="INFO", description="The logger's threshold."),
        "name": dg.Field(str, is_required=False, default_value="dagster", description="The logger's name."),
        "said_by_the_command": dg.Field(bool, is_required=False, default_value=False, description=(
            "Leave out the refused files' lines and a user's failures: `orders-assets run` prints them itself.")),
    },
    description="Dagster's colored console logger; a user's mistake is printed without Dagster's stack trace.",
)
def console_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = dg.colored_console_logger.logger_fn(init_context)
    logger.addFilter(UserFailureWithoutStack())
    if init_context.logger_config["said_by_the_command"]:
        logger.addFilter(SaidByTheCommand())
    return logger
