"""One exception type whose message is the single line a user sees, and how to tell a full disk."""

import errno


class ScaffoldError(Exception):
    """A user-facing failure: printed as one line, exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def disk_full(exc: OSError) -> bool:
    """A write failed for lack of space (or of quota): the user must free some, not fix an input."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)
