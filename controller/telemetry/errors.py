"""Typed telemetry errors; the API maps each class to one HTTP status, the CLI to exit code 2.

`outcome` names the class in the controller's ingest counter
(`edgefleet_telemetry_pushes_total{outcome}`, controller/telemetry/metrics.py).
"""


from controller.errors import ControllerError


class TelemetryError(ControllerError):
    """Base class of the telemetry, token and discovery errors."""

    outcome = "error"


class Unauthorized(TelemetryError):
    """Missing, malformed, unknown or revoked device token."""

    http_status = 401
    outcome = "unauthorized"


class Forbidden(TelemetryError):
    """A valid token used for a device other than the one it is bound to."""

    http_status = 403
    outcome = "forbidden"


class NotFound(TelemetryError):
    http_status = 404


class Conflict(TelemetryError):
    """The request is valid but current state forbids it (e.g. the device already has a token)."""

    http_status = 409


class PayloadTooLarge(TelemetryError):
    http_status = 413
    outcome = "too_large"


class BodyTimeout(TelemetryError):
    """The body did not arrive within the deadline (a stalled or far too slow upload)."""

    http_status = 408
    outcome = "timeout"


class InvalidPayload(TelemetryError):
    """Malformed push body or query; nothing was stored."""

    http_status = 422
    outcome = "invalid"


class LabelLimitExceeded(InvalidPayload):
    """A sample with too many labels, or a label name or value too long (agent/protocol.py)."""

    outcome = "label_limit"


class SeriesLimitExceeded(InvalidPayload):
    """The batch would give its device more series than allowed; nothing of it was stored.

    422, not 429: the same batch would be refused again, so the agent drops it (a 429 it
    would keep retrying forever)."""

    outcome = "series_limit"


class Unavailable(TelemetryError):
    """The store failed to take a batch; the agent keeps it and retries."""

    http_status = 503
    outcome = "unavailable"
