"""Typed job errors; the API maps each class to one HTTP status, the CLI to one exit code."""


from controller.errors import ControllerError


class JobError(ControllerError):
    """Base class of the job layer's errors."""


class InvalidRequest(JobError):
    """Bad input: unknown playbook, malformed extra vars, a limit that matches nothing."""

    http_status = 422


class JobNotFound(JobError):
    http_status = 404


class JobConflict(JobError):
    """The request is valid but current state forbids it (hosts busy, nothing to relaunch)."""

    http_status = 409
