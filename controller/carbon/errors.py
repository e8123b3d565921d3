"""Why an Electricity Maps answer could not be used (the service then falls back)."""

from controller.errors import ControllerError


class CarbonApiError(ControllerError):
    """The API refused, timed out or answered something we cannot read."""

    http_status = 502

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
