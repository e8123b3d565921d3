"""The `edgefleet` command line."""
