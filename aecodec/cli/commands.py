"""Imports every command module so each registers itself on the `cli` group."""

from aecodec.cli import codec_cmds  # noqa: F401  encode, decode, info, models
