"""The one root of the controller's typed errors: the API maps `http_status` to the response
code, the CLI turns any of them into one red line and exit code 2."""


class ControllerError(Exception):
    """Base class: the message is one line an operator (or device owner) can act on."""

    http_status = 400
