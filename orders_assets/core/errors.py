"""One family for the errors orders_assets raises on purpose.

Every error the project raises for a reason it can name derives from `OrdersAssetsError`, so the
command line, the runs' console and a user's own code catch one class, and its message (written
for the user: the file, the line and column where there is one, and the fix) is printed without a
stack trace. Each keeps the built-in base it had (ValueError, OSError, ...), so code that caught
those goes on working. Anything else that escapes is a bug and keeps its traceback.
"""


class OrdersAssetsError(Exception):
    """Raised on purpose, with a message that says what is wrong and how to fix it."""


class InputError(OrdersAssetsError, ValueError):
    """A user's file or setting cannot be used as given: a source file, a layout, a config file,
    a setting this machine cannot run. The message names the file, line and column, and the fix."""


class StoreError(OrdersAssetsError):
    """The data folder or the output location cannot be read or written as the run needs."""


class AccountingError(OrdersAssetsError, RuntimeError):
    """A stage's rows do not balance (read != kept + filtered out + rejected) or do not match what
    it was handed. Never the input's fault: a defect of orders_assets, so the stage stops before it
    commits anything, and a rerun starts from the last commit."""


QUOTED_CHARACTERS = 60
"""At most this many characters of a user's data are quoted in a message."""


def shown(text: str, limit: int = QUOTED_CHARACTERS) -> str:
    """A user's data (a column name, a piece of a file name) as a message quotes it: control and
    other unprintable characters as escapes (`\\x00`, `\\n`), never raw, and cut to `limit`
    characters with '...', so that no binary or overlong value garbles the one line of a message."""
    escaped = "".join(character if character.isprintable() else repr(character)[1:-1] for character in text[:limit + 1])
    return escaped if len(escaped) <= limit else escaped[:limit] + "..."


LIBRARY_REASON_CHARACTERS = 300


def one_line(error: BaseException) -> str:
    """A library's error (Arrow's, the OS's) as a message quotes it: one line, bounded, since some end
    in a newline or run over several."""
    return shown(str(error).strip(), LIBRARY_REASON_CHARACTERS)
