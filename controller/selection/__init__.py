"""Per-device model selection under a latency budget and an accuracy tolerance."""

from controller.selection.algorithm import Candidate, Policy, select_device
from controller.selection.fleet import select_fleet

__all__ = ["Candidate", "Policy", "select_device", "select_fleet"]
