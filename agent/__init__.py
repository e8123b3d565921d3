"""edgefleet agent: the telemetry daemon that runs on every edge device (grown in the agent issue)."""
