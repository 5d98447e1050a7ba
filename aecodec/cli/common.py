"""What the command modules share: the common options and the one form of an error line.

The command modules import this, never ``aecodec.cli.main`` (which imports them to build the
group). click and the standard library only, so that ``--help`` stays instant.
"""

from __future__ import annotations

import click

FORCE = click.option("--force", is_flag=True, help="Overwrite existing outputs.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print per-file statistics as JSON lines.")


def device_option(help: str, default: str = "auto"):
    """``--device auto|cpu|cuda`` (default auto); ``help`` says what runs there."""
    return click.option("--device", default=default, show_default=True, type=click.Choice(["auto", "cpu", "cuda"]),
                        help=help)


def fail(message: str) -> None:
    """The one stderr line of a reported error."""
    click.echo(f"aecodec: error: {printable(message)}", err=True)


def printable(text: str) -> str:
    """``text`` on one line, with control characters (escape sequences in a file name or a header
    string would drive the terminal) and lone surrogates (undecodable bytes in a path) escaped."""
    return escaped(text.replace("\n", " "))


def escaped(text: str) -> str:
    """``text`` with every unprintable character (newlines too) escaped as repr does (\\x1b,
    \\ud800), so that it can neither drive the terminal nor fail to print."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
