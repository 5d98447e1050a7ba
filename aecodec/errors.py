"""The one family of errors library code raises; the CLI turns them into one stderr line.

Each message says what is wrong and, after a semicolon, what to do about it.
"""


class AecError(Exception):
    """Base of every error aecodec reports to users."""


class InputError(AecError):
    """A missing, unreadable or unsupported input file, or a bad option value."""


class UsageError(InputError):
    """Something wrong with the command line itself: an option's value, a combination of options,
    an option that does not apply to an input's kind. The CLI exits 2 for it (1 for the others)."""


class FormatError(AecError):
    """A damaged, truncated or incompatible .aec file."""


class ModelError(AecError):
    """Missing or mismatching model weights or model card."""


class DeviceError(AecError):
    """A device was asked for that this machine does not have."""
