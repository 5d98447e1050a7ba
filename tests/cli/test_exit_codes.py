"""Issue 18, point 8: one rule for exit codes. Anything wrong with the command line itself (an
option's value, a combination of options, an option that does not apply to the input's kind)
exits 2, whether click or aecodec finds it; a problem with files, their content, models or
devices exits 1. Either way one stderr line and no output."""

from __future__ import annotations

from pathlib import Path

import pytest

from aecodec.cli.main import main
from aecodec.errors import InputError, UsageError

DATA = Path(__file__).parents[1] / "data"
IMAGE = DATA / "images" / "canyon_wren.png"
GRAY = DATA / "images" / "lake_gray.png"
SPEECH = DATA / "audio" / "librivox_speech.flac"

USAGE_ERRORS = {  # the args, with OUT for the test's folder; what the line says
    "quality out of range": (["encode", IMAGE, "-o", "OUT/x.aec", "-q", "0"], "--quality"),
    "quality before the input is read": (["encode", "OUT/nope.png", "-o", "OUT/x.aec", "-q", "0"], "--quality"),
    "quality not finite": (["encode", IMAGE, "-o", "OUT/x.aec", "-q", "nan"], "--quality"),
    "bpp not positive": (["encode", IMAGE, "-o", "OUT/x.aec", "--bpp", "0"], "--bpp"),
    "two rate targets": (["encode", IMAGE, "-o", "OUT/x.aec", "-q", "5", "--bpp", "1"], "not several"),
    "bpp for audio": (["encode", SPEECH, "-o", "OUT/x.aec", "--bpp", "1"], "--bpp is for images"),
    "force and skip": (["encode", IMAGE, "-o", "OUT/x.aec", "--force", "--skip-existing"], "not both"),
    "empty output name": (["encode", IMAGE, "-o", ""], "the output name is empty"),
    "several inputs to stdout": (["encode", IMAGE, GRAY, "-o", "-"], "cannot go to standard output"),
    "malformed gap": (["inpaint", SPEECH, "--gap", "12.30:12.45", "-o", "OUT/x.wav"], "is START:END"),
    "bench qualities": (["bench", "image", "--data", DATA, "--out", "OUT/b", "--qualities", "ten"], "--qualities"),
    "bench crop": (["bench", "denoise-image", "--data", DATA, "--out", "OUT/b", "--crop", "big"], "--crop"),
    "noise data of another task": (["train", "image-denoise", "--data", DATA, "--out", "OUT/run", "--noise-data",
                                    DATA], "--noise-data is only for audio-denoise"),
    "export name": (["export", "image-codec", "--checkpoint", "OUT/c.pt", "--name", "../x", "--version", "1"],
                    "is not allowed"),
    "unknown option (click)": (["encode", IMAGE, "-o", "OUT/x.aec", "--qualty", "5"], "did you mean"),
}

FILE_ERRORS = {
    "missing input": (["encode", "OUT/nope.png", "-o", "OUT/x.aec"], "nope.png"),
    "not an .aec file": (["decode", IMAGE, "-o", "OUT/x.png"], "not an .aec file"),
    "existing output": (["encode", IMAGE, "-o", "OUT/exists.aec"], "--force"),
    "missing output folder": (["encode", IMAGE, GRAY, "-o", "OUT/nowhere"], "does not exist"),
    "glob matching nothing": (["encode", "OUT/*.png", "-o", "OUT/out/"], "no file matches"),
    "missing recipe": (["train", "image-codec", "--data", DATA, "--out", "OUT/run", "--config", "OUT/r.json"],
                       "does not exist"),
}


def run_main(capsys, tmp_path: Path, args: list) -> tuple[int, str]:
    (tmp_path / "exists.aec").write_bytes(b"keep me")
    with pytest.raises(SystemExit) as exit_:
        main([str(a).replace("OUT", str(tmp_path)) for a in args])
    return exit_.value.code, capsys.readouterr().err


CASES = {**{f"usage: {case}": (2, *spec) for case, spec in USAGE_ERRORS.items()},
         **{f"file: {case}": (1, *spec) for case, spec in FILE_ERRORS.items()}}


@pytest.mark.parametrize("case", CASES)
def test_command_line_mistakes_exit_2_and_file_problems_1(capsys, tmp_path, case):
    expected, args, words = CASES[case]
    code, err = run_main(capsys, tmp_path, args)
    assert code == expected and err.startswith("aecodec: error: ") and err.count("\n") == 1, (code, err)
    assert words in err and "Traceback" not in err, err
    assert [p.name for p in tmp_path.iterdir()] == ["exists.aec"]
    assert (tmp_path / "exists.aec").read_bytes() == b"keep me"


def test_usage_errors_are_input_errors_for_library_callers():
    assert issubclass(UsageError, InputError)
