"""One interface for every codec: aecodec's learned ones and the classic baselines."""
