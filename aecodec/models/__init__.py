"""Model architectures (torch) and the registry of shipped models (no torch at import)."""
