"""UserError: the base of every error whose message alone tells a user what is wrong and what to do.

Scripts print such an error as its message, with no traceback, and exit with status 2 (set
GAN_LIGHTNING_DEBUG=1 or pass --debug to see the traceback). Anything else is a bug and keeps its traceback.
"""

import os
import sys

DEBUG_ENV = "GAN_LIGHTNING_DEBUG"


class UserError(Exception):
    """Bad input from the user (a missing dataset, a corrupt archive, a bad checkpoint or config value).

    The message names the file or setting, says what is wrong and what to do about it.
    """


class ConfigError(UserError, ValueError):
    """A config value the model, data or a callback refused when it was built (the message says which)."""


def user_message_of(exception: BaseException) -> str | None:
    """The message of the error at the root of `exception`'s chain when gan-lightning's own code raised it on
    a bad value (ValueError, TypeError) or it is a UserError; None for anything else (a bug keeps its traceback).

    Libraries that build objects from a config (jsonargparse, LightningCLI) wrap such an error in their own,
    whose message buries it under the parsed namespace."""
    root = exception
    while (root.__cause__ or root.__context__) is not None:
        root = root.__cause__ or root.__context__
    if isinstance(root, UserError):
        return str(root)
    frames = []
    traceback = root.__traceback__
    while traceback is not None:
        frames.append(traceback.tb_frame.f_code.co_filename)
        traceback = traceback.tb_next
    ours = bool(frames) and "gan_lightning" in frames[-1].replace("\\", "/").split("/")
    return str(root) if ours and isinstance(root, (ValueError, TypeError)) else None


def debugging() -> bool:
    """Whether $GAN_LIGHTNING_DEBUG (or a script's --debug) asks for tracebacks of user errors."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def exit_on_user_error(script: str, error: UserError) -> None:
    """Print a UserError as its message alone and exit with status 2; re-raise it (traceback) when debugging."""
    if debugging():
        raise error
    print(f"{script}: {error}", file=sys.stderr)
    sys.exit(2)
