"""The one exception type the lab raises for every expected failure."""


class LabError(Exception):
    """An expected lab failure; its message is a single line meant for the operator."""
