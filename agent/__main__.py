"""`python -m agent`: the entry point the device bundle and its service unit use."""

import sys

from agent.cli import main

sys.exit(main())
