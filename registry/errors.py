"""Typed registry errors: every failure an operator can hit maps to one class and one line.

They subclass ControllerError so the API answers with a fitting status and the CLI exits 2."""

from __future__ import annotations

from controller.errors import ControllerError


class RegistryError(ControllerError):
    """Anything that went wrong talking to a registry or with what it returned."""

    http_status = 502


class InvalidReference(RegistryError):
    """A repository, tag, digest or platform the user gave is malformed (checked locally)."""

    http_status = 400


class Unauthorized(RegistryError):
    """The registry refused our credentials (or asked for some we do not have).

    502, not 401: the API caller's own token is fine, the upstream registry said no."""


class Denied(RegistryError):
    """Authenticated, but not allowed to do this (token scope or ACL)."""


class NotFound(RegistryError):
    http_status = 404


class NameUnknown(NotFound):
    """The repository does not exist."""


class ManifestUnknown(NotFound):
    """The tag or manifest digest does not exist in the repository."""


class BlobUnknown(NotFound):
    """A blob (layer or config) is missing from the repository."""


class NotConfigured(RegistryError):
    """No registry endpoint is set: a setting of whoever runs the client, not bad input.

    503 from the API (the server is missing configuration); the message says where to set it."""

    http_status = 503


class Unavailable(RegistryError):
    """Registry unreachable, overloaded or rate-limited past our patience."""

    http_status = 503


class DigestMismatch(RegistryError):
    """Content does not hash to the digest it was served or requested under: corruption."""


class InvalidResponse(RegistryError):
    """The registry answered something we cannot trust or parse (bad JSON, missing header)."""


class Conflict(RegistryError):
    """A tag already holds an image whose labels contradict what we were asked to build."""

    http_status = 409
