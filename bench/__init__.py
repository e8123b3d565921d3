"""Model zoo and benchmark harness (torch only; runs on the controller and on devices).

Imports nothing from `controller`: the playbook copies this package (with `agent`, for the
power and thermal readers) to a device that has Python and torch.
"""

__version__ = "0.1.0"
