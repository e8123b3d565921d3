"""edgefleet controller: runs Ansible jobs against the fleet and serves the REST API."""

__version__ = "0.1.0"
