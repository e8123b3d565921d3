"""edgefleet agent: the telemetry daemon on every edge device (grown in the agent issue)."""
