"""The seed experiment on the fleet: per device, live status from telemetry, greedy vs
advanced selection with the live constraints, both deployed and measured on the device,
the saving-rate table; then again under an injected background load on one device.

One job per module: status (telemetry -> live state), plan (selection with it), images
(the fixed request set), run (deploy + measure), report (the table), service (the
experiment's lifecycle and records)."""
