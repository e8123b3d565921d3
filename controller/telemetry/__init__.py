"""Controller side of telemetry: device tokens, ingest, time-series store, device registry."""
