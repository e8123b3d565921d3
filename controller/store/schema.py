"""Every table module, imported in one place so `Base.metadata` is the whole schema.

Migrations compare against this metadata: a module that defines tables must be listed here,
or its tables look "removed" to autogenerate and the migration check fails.
"""

from __future__ import annotations

from sqlalchemy import MetaData

import controller.discovery.models
import controller.store.benchmarks
import controller.store.models
import controller.store.telemetry  # noqa: F401 - registers its tables on Base.metadata

metadata: MetaData = controller.store.models.Base.metadata
