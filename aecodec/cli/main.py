"""The CLI edge: builds the ``aecodec`` group from the command modules (which never import this
one), and is the only place that turns errors into exit codes and stderr lines.

Exit codes, one rule as in most Unix tools: 2 for anything wrong with the command line itself,
found by click (unknown option or command, missing argument, a value of the wrong type, out of
its range or not among the choices) or by aecodec (``aecodec.errors.UsageError``: a malformed
``--gap``, options that exclude each other, an option that does not apply to the input's kind);
1 for a problem with files, their content, models or devices (every other ``AecError``), for a
batch in which some files failed, and for SIGTERM / SIGHUP (after cleaning up, as for Ctrl-C);
130 interrupted (Ctrl-C); 0 success.
"""

from __future__ import annotations

import re
import sys

import click

from aecodec import __version__
from aecodec.cli import bench_cmds, codec_cmds, info_cmds, restore_cmds, train_cmds
from aecodec.cli.common import fail, reset_verbosity, show_log_records, verbosity_options
from aecodec.errors import AecError, UsageError
from aecodec.runtime import Terminated


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aecodec")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """aecodec: learned image and audio compression and restoration."""
    ctx.obj = {"debug": debug}


def _with_verbosity(command: click.Command) -> None:
    """--quiet / --verbose on ``command`` and, in a group, on each of its commands."""
    command.params.extend(verbosity_options())
    for sub in getattr(command, "commands", {}).values():
        _with_verbosity(sub)


# The command modules define their commands without the group (importing them is cheap: no torch).
for _module in (codec_cmds, info_cmds, train_cmds, bench_cmds, restore_cmds):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
_with_verbosity(cli)


def run() -> None:
    """The program (console script and ``python -m aecodec``): ``main`` plus the process-wide
    settings of aecodec.runtime, which a library user's or a test's process never gets."""
    from aecodec.runtime import (INFERENCE_COMMANDS, defer_meta_registrations, end_cleanly_on_signals, exit_now,
                                 keep_freed_memory)

    args = sys.argv[1:]
    command = next((a for a in args if not a.startswith("-")), None)  # the group takes flags only
    keep_freed_memory()  # before torch allocates anything
    end_cleanly_on_signals()
    if command not in INFERENCE_COMMANDS:
        main(args)  # ends in SystemExit, and Python's usual exit
        return
    defer_meta_registrations()
    try:
        main(args)
    except SystemExit as e:  # every output is closed and in place by now
        exit_now(e.code)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    reset_verbosity()
    show_log_records()
    try:
        _run(args, debug="--debug" in args)
    finally:  # --quiet / --verbose hold for this command only (a library user or a test calls again)
        reset_verbosity()


def _run(args: list[str], debug: bool) -> None:
    try:
        rv = cli.main(args=args, prog_name="aecodec", standalone_mode=False)
    except click.exceptions.Abort:
        fail("interrupted")
        sys.exit(130)
    except KeyboardInterrupt:
        fail("interrupted")
        sys.exit(130)
    except Terminated as e:  # every partial output was removed on the way here
        fail(f"stopped by {e}; no partial output was left, run the command again to finish")
        sys.exit(1)
    except click.exceptions.NoArgsIsHelpError as e:  # 'aecodec' or 'aecodec bench' alone: the help, then why
        click.echo(e.ctx.get_help())
        fail(f"'{e.ctx.command_path}' needs a command; pick one of those listed above")
        sys.exit(2)
    except click.UsageError as e:
        fail(usage_message(e))
        sys.exit(2)
    except click.ClickException as e:
        fail(e.format_message())
        sys.exit(1)
    except AecError as e:
        if debug:
            raise
        fail(str(e))
        sys.exit(2 if isinstance(e, UsageError) else 1)
    except Exception as e:  # a bug: keep the traceback behind --debug
        if debug:
            raise
        fail(f"internal error: {type(e).__name__}: {e}; rerun with --debug and report it")
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


def usage_message(e: click.UsageError) -> str:
    """click's message in the house form: lower-case start, no full stops before the semicolon,
    and what to do after it (click's "did you mean", else where the help is)."""
    text = " ".join(e.format_message().split())
    text = text[:1].lower() + text[1:] if text[1:2].islower() else text
    text, suggested = re.subn(r"\.? \(?Did you mean (.+?)\)?$", r"; did you mean \1", text)
    if suggested:
        return text
    command = e.ctx.command_path if e.ctx is not None else "aecodec"
    return f"{text.rstrip('.')}; see '{command} --help'"
