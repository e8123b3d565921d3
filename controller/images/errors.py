"""The typed error of image building, so the CLI prints one line and the API a fitting code."""

from __future__ import annotations

from controller.errors import ControllerError


class ImageBuildError(ControllerError):
    """A runtime image could not be built here (debootstrap, pip, qemu or bad input)."""
