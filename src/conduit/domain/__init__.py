"""Plain data and rules, no I/O: nothing here imports the store or the web framework."""
