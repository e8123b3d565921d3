"""Managing the agent on fleet devices: its bundle and its installation."""
