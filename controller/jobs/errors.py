"""Typed job errors; the API maps each class to one HTTP status, the CLI to one exit code."""


class JobError(Exception):
    """Base class: the message is one line an operator can act on."""

    http_status = 400


class InvalidRequest(JobError):
    """Bad input: unknown playbook, malformed extra vars, a limit that matches nothing."""

    http_status = 422


class JobNotFound(JobError):
    http_status = 404


class JobConflict(JobError):
    """The request is valid but current state forbids it (hosts busy, nothing to relaunch)."""

    http_status = 409
