"""Process-wide start-up settings of the CLI (aecodec.runtime), each in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).parents[2] / "requirements.txt"


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_deferred_meta_registrations_load_on_first_use():
    """On the locked torch (requirements.txt) the deferral skips torch._decomp at import; on other
    versions in pyproject's range torch may import it by another path, and deferring must then
    be harmless: eager and meta kernels work either way."""
    r = run_python(
        "import sys\n"
        "from aecodec.runtime import defer_meta_registrations\n"
        "defer_meta_registrations()\n"
        "import torch\n"
        "skipped = 'torch._decomp' not in sys.modules  # the deferred imports did not run\n"
        "x = torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3), padding=1)\n"
        "assert x[0, 0, 1, 1] == 9 and skipped == ('torch._decomp' not in sys.modules)  # eager needs none\n"
        "torch._meta_registrations.activate_meta  # the first read loads the real module\n"
        "assert 'torch._decomp' in sys.modules\n"
        "assert torch.empty(2, 3, device='meta').matmul(torch.empty(3, 4, device='meta')).shape == (2, 4)\n"
        "print(torch.__version__.split('+')[0], skipped)\n"
    )
    assert r.returncode == 0, r.stderr
    version, skipped = r.stdout.split()
    locked = [line.split("==")[1].strip() for line in REQUIREMENTS.read_text().splitlines()
              if line.startswith("torch==")][0]
    if version == locked:
        assert skipped == "True"


def test_deferring_is_a_no_op_once_torch_is_imported():
    r = run_python(
        "import sys, torch\n"
        "real = sys.modules['torch._meta_registrations']\n"
        "from aecodec.runtime import defer_meta_registrations\n"
        "defer_meta_registrations()\n"
        "assert sys.modules['torch._meta_registrations'] is real\n"
    )
    assert r.returncode == 0, r.stderr


def test_exit_now_flushes_and_keeps_the_exit_code():
    lines = "import sys; sys.stdout.write('out'); sys.stderr.write('err ')\nfrom aecodec.runtime import exit_now\n"
    for code, rc in (("None", 0), ("0", 0), ("3", 3), ("'no such file'", 1)):
        r = run_python(lines + f"exit_now({code})\nraise AssertionError('exit_now returned')\n")
        assert (r.returncode, r.stdout) == (rc, "out"), (code, r)
        assert r.stderr.startswith("err "), r.stderr
    assert "no such file" in r.stderr
