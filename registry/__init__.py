"""edgefleet registry: OCI model-image verify, build and push (grown in the registry issue)."""
