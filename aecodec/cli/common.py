"""What the command modules share: the common options, how much to say (--quiet / --verbose),
and the one form of each stderr line (``aecodec: error: ...``, ``aecodec: warning: ...``).

The command modules import this, never ``aecodec.cli.main`` (which imports them to build the
group). click, the standard library and aecodec.errors only, so that ``--help`` stays instant.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import sys
import time

import click

from aecodec.errors import InputError, UsageError

FORCE = click.option("--force", is_flag=True, help="Overwrite existing outputs.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print per-file statistics as JSON lines.")

# -1 quiet (errors only), 0 normal, 1 verbose. Process-wide: the CLI runs one command per process.
_verbosity = {"level": 0, "given": set()}
# The input a worker thread is on, named in the warnings raised while it works (codecs know no paths).
_current_file: contextvars.ContextVar[str | None] = contextvars.ContextVar("aecodec_file", default=None)


def device_option(help: str, default: str = "auto"):
    """``--device auto|cpu|cuda`` (default auto); ``help`` says what runs there."""
    return click.option("--device", default=default, show_default=True, type=click.Choice(["auto", "cpu", "cuda"]),
                        help=help)


class FiniteRange(click.FloatRange):
    """click.FloatRange that refuses NaN and infinity too (NaN compares false with both bounds,
    so FloatRange lets it through)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value} is not a finite number", param, ctx)
        return number


@contextlib.contextmanager
def option_value():
    """A library check of an option's value (``parse_gaps``, ``check_model_name``) inside this
    block: its InputError is the command line's fault, so it becomes a UsageError (exit 2)."""
    try:
        yield
    except UsageError:
        raise
    except InputError as e:
        raise UsageError(str(e)) from None


def verbosity_options() -> list[click.Option]:
    """``--quiet`` and ``-v/--verbose``, for the group and for every command (either place works)."""
    return [click.Option(["--quiet"], is_flag=True, expose_value=False, callback=_set_verbosity,
                         help="Print only errors (and what was asked for: --json lines, info, models)."),
            click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, callback=_set_verbosity,
                         help="Print more: the model and device used, per-file timings, every header key.")]


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value:
        return
    _verbosity["given"].add(param.name)
    if len(_verbosity["given"]) > 1:
        raise click.UsageError("--quiet and --verbose exclude each other", ctx)
    _verbosity["level"] = -1 if param.name == "quiet" else 1


def reset_verbosity() -> None:
    _verbosity.update(level=0, given=set())


def quiet() -> bool:
    return _verbosity["level"] < 0


def verbose() -> bool:
    return _verbosity["level"] > 0


def fail(message: str) -> None:
    """The one stderr line of a reported error (printed even with --quiet)."""
    _stderr(f"aecodec: error: {printable(message)}")


def warn(message: str) -> None:
    """One stderr line saying what aecodec did instead of what was asked; not with --quiet."""
    if not quiet():
        _stderr(f"aecodec: warning: {printable(message)}")


def detail(message: str) -> None:
    """One stderr line of --verbose detail."""
    if verbose():
        _stderr(f"aecodec: {printable(message)}")


def notice(message: str, prefixed: bool = True) -> None:
    """An informational stderr line, ``aecodec: ...`` (what a batch left out), through the
    progress bar; not with --quiet. ``prefixed=False`` for lines that are data (a training run's
    JSON log rows), which stay parseable."""
    if not quiet():
        _stderr(f"aecodec: {printable(message)}" if prefixed else printable(message))


def say(line: str) -> None:
    """An informational stdout line (a summary, a result); not with --quiet."""
    if not quiet():
        _echo(printable(line), sys.stdout)


def _stderr(line: str) -> None:
    _echo(line, sys.stderr)


def _echo(line: str, stream) -> None:
    """Through tqdm when it is loaded, so that a progress bar on the terminal is redrawn below the line."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        tqdm.tqdm.write(line, file=stream)
    else:
        click.echo(line, file=stream)


@contextlib.contextmanager
def naming(src: str):
    """Warnings logged inside this block (in this thread) name ``src``."""
    token = _current_file.set(src)
    try:
        yield
    finally:
        _current_file.reset(token)


def model_words(card: dict) -> str:
    """A model card as --verbose and ``info`` name it: name, version and weights hash."""
    return f"{card['name']} v{card.get('version', '?')} ({card['weights']['sha256'][:16]})"


class Timings:
    """Where one file's time went, for --verbose: ``with times("read"): ...``, then ``str(times)``."""

    def __init__(self):
        self.parts: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.parts.append((stage, time.perf_counter() - start))

    def __str__(self) -> str:
        return ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in self.parts)


def file_error(src: str, error: Exception) -> str:
    """A batch's line for one failed file: the file named once (most messages already name it)."""
    text = str(error)
    return text if src in text else f"{src}: {text}"


class _WarningLines(logging.Handler):
    """aecodec's log records as CLI lines: warnings (and errors) as ``aecodec: warning: FILE: ...``
    unless --quiet, informational records only with --verbose."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string in a log call must not end the command
            text = str(record.msg)
        src = _current_file.get()
        text = f"{src}: {text}" if src is not None and src not in text else text
        if record.levelno >= logging.WARNING:
            warn(text)
        else:
            detail(text)


def show_log_records() -> None:
    """Send the ``aecodec`` loggers' records through ``_WarningLines`` (once per process)."""
    logger = logging.getLogger("aecodec")
    if not any(isinstance(h, _WarningLines) for h in logger.handlers):
        logger.addHandler(_WarningLines())
    logger.setLevel(logging.INFO)


def printable(text: str) -> str:
    """``text`` on one line, with control characters (escape sequences in a file name or a header
    string would drive the terminal) and lone surrogates (undecodable bytes in a path) escaped."""
    return escaped(text.replace("\n", " "))


def escaped(text: str) -> str:
    """``text`` with every unprintable character (newlines too) escaped as repr does (\\x1b,
    \\ud800), so that it can neither drive the terminal nor fail to print."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
