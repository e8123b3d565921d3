"""The web dashboard: server-rendered page shells whose scripts use only the public REST API."""

from controller.dashboard.routes import install

__all__ = ["install"]
