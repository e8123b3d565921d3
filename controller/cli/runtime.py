"""Builds the controller objects a CLI command needs, and maps typed errors to exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from controller.config import Settings
from controller.errors import ControllerError
from controller.jobs.manager import JobManager
from controller.store import Store

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
# Off a terminal (logs, pipes, CI) tables are not cut to 80 columns: a digest or a job id
# stays whole and greppable. COLUMNS still wins where it is set.
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 1000)
# soft_wrap: an error stays one line (greppable) whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)


def manager(inventory: Path | None = None) -> JobManager:
    settings = Settings.from_env(inventory=inventory)
    mgr = JobManager(settings, Store(settings.db_url))
    mgr.reconcile_orphans()
    return mgr


@contextmanager
def errors_as_exit() -> Iterator[None]:
    """Typed errors become one red line on stderr and exit code 2; nothing else is swallowed."""
    try:
        yield
    except ControllerError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
