"""edgefleet agent: the telemetry daemon on every edge device (stdlib + prometheus_client)."""

__version__ = "0.1.0"
