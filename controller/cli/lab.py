"""`edgefleet lab ...` (placeholder until the lab module lands)."""

import typer

app = typer.Typer(help="Build and tear down a lab fleet of real SSH hosts on this machine.")
