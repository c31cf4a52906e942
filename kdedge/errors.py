"""The one exception type for bad input from the user (standard library only)."""


class KdedgeError(ValueError):
    """Bad input from the user: the message names the file/column/argument and the fix."""
