"""The runs' console logger: Dagster's colored one, without stack traces for a user's mistake.

A step that stops on bad input (a refused file, a missing column) raises `dagster.Failure`
whose description names the file, the line and the fix. Dagster's console logger prints the
framework's stack trace under it, which says nothing to the user and hides the message in
thirty lines of Dagster internals. This logger prints the description alone; any other
error (a bug) keeps its full stack trace. The event log in the instance keeps everything.
"""
import logging

import dagster as dg

USER_FAILURES = frozenset({"Failure", "DagsterExecutionInterruptedError"})
"""Error classes that say what happened without a stack trace: raised on purpose with a message for
the user (dagster.Failure), or a stop the user asked for (SIGINT / SIGTERM, see cli/interrupts.py)."""


class UserFailureWithoutStack(logging.Filter):
    """Rewrites a record whose event carries a user failure: its message, not its stack trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = _event_error(record)
        if error is not None and error.cls_name in USER_FAILURES and isinstance(record.msg, str):
            record.msg = record.msg.replace(error.to_string(), error.message.rstrip())
        return True


def _event_error(record: logging.LogRecord):
    event = getattr(record, "dagster_meta", {}).get("dagster_event")
    data = getattr(event, "event_specific_data", None)
    return getattr(data, "error", None)


@dg.logger(
    {
        "log_level": dg.Field(str, is_required=False, default_value="INFO", description="The logger's threshold."),
        "name": dg.Field(str, is_required=False, default_value="dagster", description="The logger's name."),
    },
    description="Dagster's colored console logger; a user's mistake is printed without Dagster's stack trace.",
)
def console_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = dg.colored_console_logger.logger_fn(init_context)
    logger.addFilter(UserFailureWithoutStack())
    return logger
