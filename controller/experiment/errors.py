"""The experiment's typed errors (one line each; the API maps http_status)."""

from controller.errors import ControllerError


class ExperimentNotFound(ControllerError):
    http_status = 404


class InvalidExperiment(ControllerError):
    http_status = 422


class ExperimentBusy(ControllerError):
    """One experiment at a time: two would deploy over each other and share the CPU."""

    http_status = 409


class NoTelemetry(ControllerError):
    """A device without fresh telemetry has no live status to select with."""

    http_status = 409


class DeviceUnknown(ControllerError):
    """A device the inventory does not name (the experiment could not reach it)."""

    http_status = 422


class DeployFailed(ControllerError):
    """The deploy job failed, or the device serves something other than what was deployed."""

    http_status = 502


class MeasureFailed(ControllerError):
    """The device's model service did not answer a prediction."""

    http_status = 502


class LoadFailed(ControllerError):
    """playbooks/load.yml could not start (or stop) the background load."""

    http_status = 502
