"""Imports every command module so each registers itself on the `cli` group."""

from aecodec.cli import codec_cmds  # noqa: F401  encode, decode, info, models
from aecodec.cli import train_cmds  # noqa: F401  train, export
from aecodec.cli import bench_cmds  # noqa: F401  bench image, bench audio
from aecodec.cli import restore_cmds  # noqa: F401  denoise, inpaint
