"""edgefleet registry: OCI model-image verification, build and push (grown in the registry issue)."""
