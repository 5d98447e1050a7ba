"""The real program, as a user runs it: ``aecodec(*args)`` and the error contract's check."""

from __future__ import annotations

import subprocess
import sys


def aecodec(*args, stdin: bytes | None = None, env: dict | None = None, cwd=None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m aecodec ARGS`` in a child process (bytes out); ``env`` replaces the environment."""
    return subprocess.run([sys.executable, "-m", "aecodec", *map(str, args)], input=stdin, capture_output=True,
                          env=env, cwd=cwd, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str, code: int = 1) -> None:
    """Exit ``code`` (2: a usage error click found) and exactly one stderr line, ``aecodec: error: ...``,
    naming every one of ``words``."""
    err = result.stderr.decode()
    assert result.returncode == code and err.startswith("aecodec: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, err
