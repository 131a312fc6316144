"""One exception type for bad input, so entry points can print a one-line `error: ...` instead of a traceback."""


class DataError(Exception):
    """Bad or missing data; the message names the file, columns and row counts involved."""
