"""Prometheus integration: file-based service discovery targets and the scrape config."""
