"""Click commands: thin wrappers, one module per command group. No torch at import time."""
