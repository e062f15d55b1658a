"""UserError: the base of every error whose message alone tells a user what is wrong and what to do.

Scripts print such an error as its message, with no traceback, and exit with status 2 (set
GAN_LIGHTNING_DEBUG=1 or pass --debug to see the traceback). Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user (a missing dataset, a corrupt archive, a bad checkpoint or config value).

    The message names the file or setting, says what is wrong and what to do about it.
    """
