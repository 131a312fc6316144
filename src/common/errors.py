"""One exception type for bad input, so entry points print a one-line `error: ...`, not a traceback."""


class DataError(Exception):
    """Bad or missing data; the message names the file, columns and row counts involved."""
