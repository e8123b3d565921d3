"""The controller's store: jobs, their events, per-host results and the host view."""

from controller.store.db import Store
from controller.store.models import Host, Job, JobEvent, JobHost

__all__ = ["Host", "Job", "JobEvent", "JobHost", "Store"]
