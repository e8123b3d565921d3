"""Typed telemetry errors; the API maps each class to one HTTP status, the CLI to exit code 2."""


from controller.errors import ControllerError


class TelemetryError(ControllerError):
    """Base class of the telemetry, token and discovery errors."""


class Unauthorized(TelemetryError):
    """Missing, malformed, unknown or revoked device token."""

    http_status = 401


class Forbidden(TelemetryError):
    """A valid token used for a device other than the one it is bound to."""

    http_status = 403


class NotFound(TelemetryError):
    http_status = 404


class Conflict(TelemetryError):
    """The request is valid but current state forbids it (e.g. the device already has a token)."""

    http_status = 409


class PayloadTooLarge(TelemetryError):
    http_status = 413


class InvalidPayload(TelemetryError):
    """Malformed push body or query; nothing was stored."""

    http_status = 422


class Unavailable(TelemetryError):
    """The store failed to take a batch; the agent keeps it and retries."""

    http_status = 503
