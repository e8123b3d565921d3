"""The controller's REST API (FastAPI); the dashboard and scripts use only this."""
