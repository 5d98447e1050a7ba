"""Media as plain numpy arrays with their metadata; reading and writing files."""
