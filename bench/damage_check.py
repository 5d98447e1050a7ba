"""Robustness check (issues 2 and 20): damaged and hostile inputs through the real CLI.

Every case runs `python -m aecodec ...` in its own process, in a fresh folder (its working
directory), and must end with exit 1 and exactly one stderr line starting "aecodec: error:"
(not an internal error, no traceback, nothing on stdout) or, where the input is legal, with
exit 0 and a result this script checks (a decoded image of the size the header states, audio of
its length, ...; such classes are counted apart under "accepted", each with the reason it is
legal). Either way the case must end within 30 s and 1.5 GiB peak RSS (the child's own, from
wait4), leave no file behind and change none (the case folder, where every output goes, and the
child's TMPDIR are compared before and after, so stray temporaries count), print no control
characters on stderr or stdout, and run no code: crafted pickles try to create a marker file.

Seven kinds of cases, all generated here from a seeded RNG (nothing stored, no bomb on disk):
container damage, image headers, audio headers (of both audio codecs: conv-LSTM, and the default MDCT
as "mdct ..."), input media, options, training inputs and output paths. Runs one case at a time.

    OMP_NUM_THREADS=1 .venv/bin/python bench/damage_check.py --out bench/results/damage_check.json
    .venv/bin/python bench/damage_check.py --limit 70             # ten of each kind
    .venv/bin/python bench/damage_check.py --only training,options
    .venv/bin/python bench/damage_check.py --case image-header-0012 --keep /tmp/case   # reproduce one
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import pickle
import shlex
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SAMPLE = DATA / "images" / "canyon_wren.png"  # 384x216 RGB
GRAY = DATA / "images" / "lake_gray.png"  # 320x180 L
ALPHA = DATA / "images" / "osprey_alpha.png"  # 200x113 RGBA
SPEECH = DATA / "audio" / "librivox_speech.flac"  # 4 s, 24 kHz mono
PRETRAINED = ROOT / "aecodec" / "pretrained"

LIMIT_S, LIMIT_MB = 30, 1536  # every case
KILL_S, KILL_MB = 60, 3072  # the watchdog's hard stop, so that a regression cannot take the machine
KINDS = ("container", "image-header", "audio-header", "input-media", "options", "training", "output-paths")
ERROR = "aecodec: error: "
MARKER = "PWNED"  # what a crafted pickle tries to create (in the case folder, its working directory)
MAGIC = b"AEC\x1a"


# --- cases -------------------------------------------------------------------------------------


class _Special:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


FIFO, DIR, READ_ONLY_DIR = _Special("FIFO"), _Special("DIR"), _Special("READ_ONLY_DIR")
ZERO_DEVICE = _Special("/dev/zero")  # stdin: the device itself


@dataclass(frozen=True)
class Link:
    """A symlink to ``target`` (absolute, or relative to the link's folder; may dangle)."""
    target: str


@dataclass(frozen=True)
class Hard:
    """A hard link to another file of the case (set up after the plain files)."""
    source: str


@dataclass(frozen=True)
class ZeroPipe:
    """stdin: a pipe fed with ``prefix`` and then zeros without end (``cat /dev/zero``)."""
    prefix: bytes = b""


Check = Callable[[Path, "Outcome"], "str | None"]


@dataclass
class Case:
    kind: str
    label: str
    args: list  # str, or bytes for arguments that are not UTF-8
    files: dict = field(default_factory=dict)  # relative path -> bytes | Path (copied) | FIFO | DIR | Link | Hard
    stdin: object = None  # None (empty), bytes, ZERO_DEVICE or ZeroPipe
    expect: str = "refuse"  # "refuse", "legal" (exit 0 required) or "either"
    why: str = ""  # for exit 0: the class of legal input, counted apart
    check: Check | None = None  # for exit 0: what the result must be
    outputs: tuple = ()  # paths an accepted run may create or replace
    binary_stdout: bool = False  # stdout carries a file ("-o -"), not text
    then: list = field(default_factory=list)  # after exit 0: (args, check, outputs) follow-ups, which must succeed
    id: str = ""


@dataclass
class Outcome:
    exit: int
    stdout: bytes
    stderr: bytes
    seconds: float
    peak_mb: float
    killed: str | None


# --- the .aec format, written and read here independently of aecodec.container ----------------


def other_prefix(sha: str) -> str:
    """A hash prefix that names no installed weights: ``sha`` with its last digit changed (appending
    a digit can still be a prefix of the real hash, which then decodes legally)."""
    return sha[:-1] + f"{(int(sha[-1], 16) + 1) % 16:x}"


def header_dictionary() -> bytes:
    from aecodec.container import HEADER_DICTIONARY  # a constant of format 2 (pure stdlib module)

    return HEADER_DICTIONARY


def deflate(text: bytes, dictionary: bool = True) -> bytes:
    args = (9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY) + ((header_dictionary(),) if dictionary else ())
    d = zlib.compressobj(*args)
    return d.compress(text) + d.flush()


def header_text(header: dict) -> bytes:
    return json.dumps(header, ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode()


def aec(header: dict | None, streams, *, major: int = 2, minor: int = 0, raw: bytes | None = None,
        count: int | None = None, lengths: list | None = None, set_streams: bool = True) -> bytes:
    """An .aec file with a correct CRC around whatever is given (``raw``: the stored header)."""
    streams = list(streams)
    if raw is None:
        if set_streams:
            header = {**header, "streams": len(streams)}
        text = header_text(header)
        raw = deflate(text) if major >= 2 else text
    body = struct.pack("<4sBBI", MAGIC, major, minor, len(raw)) + raw
    body += struct.pack("<I", len(streams) if count is None else count)
    for i, s in enumerate(streams):
        body += struct.pack("<Q", len(s) if lengths is None else lengths[i]) + s
    return body + struct.pack("<I", zlib.crc32(body))


def parse_aec(data: bytes) -> tuple[dict, list[bytes]]:
    """(header, streams) of a well-formed .aec file; ValueError otherwise."""
    if data[:4] != MAGIC or zlib.crc32(data[:-4]) != struct.unpack("<I", data[-4:])[0]:
        raise ValueError("not an .aec file or bad CRC")
    major, size = data[4], struct.unpack_from("<I", data, 6)[0]
    raw = data[10 : 10 + size]
    text = zlib.decompressobj(-15, zdict=header_dictionary()).decompress(raw) if major >= 2 else raw
    header = json.loads(text)
    at = 10 + size
    (n,) = struct.unpack_from("<I", data, at)
    at += 4
    streams = []
    for _ in range(n):
        (length,) = struct.unpack_from("<Q", data, at)
        streams.append(data[at + 8 : at + 8 + length])
        at += 8 + length
    if at != len(data) - 4 or header.get("streams") != n:
        raise ValueError("bad layout")
    return header, streams


# --- media generators --------------------------------------------------------------------------


def png(pixels: np.ndarray, **options) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", **options)
    return buf.getvalue()


def pil_bytes(image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """An 8x8 PNG whose IHDR is patched (with its CRC) to claim another size."""
    data = bytearray(png(np.zeros((8, 8, 3), np.uint8)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def one_bit_png(width: int, height: int, level: int = 9) -> bytes:
    """A blank 1-bit PNG: 588 bytes for 1 x 4M pixels, 32 KB for 16384^2."""
    row = bytes(1 + -(-width // 8))
    deflater = zlib.compressobj(level)
    idat = b"".join(deflater.compress(row) for _ in range(height)) + deflater.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int, side: int = 16) -> bytes:
    """A small JPEG whose SOF0 is patched to claim another size (the scan stays as it was)."""
    from PIL import Image

    data = bytearray(pil_bytes(Image.fromarray(np.full((side, side, 3), 128, np.uint8)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def wav(samples: np.ndarray, rate: int, *, kind: str = "int16", channels: int | None = None,
        data_size: int | None = None, block_align: int | None = None, fmt_tag: int | None = None) -> bytes:
    """A RIFF WAV written here, so that any header field can lie: ``kind`` int16 or float32."""
    samples = np.asarray(samples)
    if samples.ndim == 1:
        samples = samples[:, None]
    ch = samples.shape[1] if channels is None else channels
    if kind == "float32":
        payload, bits, tag = samples.astype("<f4").tobytes(), 32, 3
    else:
        payload, bits, tag = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes(), 16, 1
    align = ch * bits // 8 if block_align is None else block_align
    fmt = struct.pack("<HHIIHH", tag if fmt_tag is None else fmt_tag, ch, rate & 0xFFFFFFFF,
                      (rate * align) & 0xFFFFFFFF, align & 0xFFFF, bits)
    size = len(payload) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + payload
    return b"RIFF" + struct.pack("<I", min(len(body), 0xFFFFFFFF)) + body


def sound_bytes(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def safetensors_bytes(tensors: dict[str, np.ndarray] | None = None, header: bytes | None = None,
                      length: int | None = None) -> bytes:
    """A .safetensors file written here (8-byte header length, JSON header, data)."""
    tensors = tensors if tensors is not None else {"w": np.zeros(4, np.float32)}
    meta, blobs, at = {}, [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, np.float32).tobytes()
        meta[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [at, at + len(blob)]}
        blobs.append(blob)
        at += len(blob)
    head = json.dumps(meta).encode() if header is None else header
    return struct.pack("<Q", len(head) if length is None else length) + head + b"".join(blobs)


class _Payload:
    """Unpickling this calls ``fn(*args)``: what a crafted .pt does to run code."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def evil_checkpoints() -> dict[str, bytes]:
    """Crafted checkpoints; each would create MARKER in the working directory if unpickled."""
    import builtins
    import torch

    touch = f"open({MARKER!r}, 'w').close()"
    payloads = {
        "os.system": _Payload(os.system, f"touch {MARKER}"),
        "builtins.exec": _Payload(builtins.exec, touch),
        "builtins.eval": _Payload(builtins.eval, touch),
        "subprocess.call": _Payload(subprocess.call, ["touch", MARKER]),
    }
    out = {}
    for name, payload in payloads.items():
        buf = io.BytesIO()
        torch.save({"model": {"w": torch.zeros(2)}, "step": 1, "config": {"task": "image-denoise"}, "x": payload}, buf)
        out[f"zip {name}"] = buf.getvalue()
    out["legacy pickle os.system"] = pickle.dumps({"model": {}, "step": 0, "x": payloads["os.system"]}, protocol=2)
    buf = io.BytesIO()
    torch.save(payloads["builtins.exec"], buf)  # the payload is the whole object
    out["zip bare payload"] = buf.getvalue()
    return out


def checkpoint_bytes(state) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


# --- checks of accepted results ----------------------------------------------------------------


def check_png(path: str, width: int, height: int, channels: int | None = None) -> Check:
    def check(folder: Path, r: Outcome) -> str | None:
        from PIL import Image

        try:
            with Image.open(folder / path) as im:
                im.load()
                size, bands = im.size, len(im.getbands())
        except Exception as e:  # noqa: BLE001 - anything unreadable is the finding
            return f"{path} is not a readable image ({type(e).__name__})"
        if size != (width, height) or (channels is not None and bands != channels):
            return f"{path} is {size} with {bands} channels, expected {(width, height)}" + \
                   (f" with {channels}" if channels else "")
        return None
    return check


def check_stdout_png(width: int, height: int) -> Check:
    def check(folder: Path, r: Outcome) -> str | None:
        from PIL import Image

        try:
            with Image.open(io.BytesIO(r.stdout)) as im:
                im.load()
                return None if im.size == (width, height) else f"stdout image is {im.size}"
        except Exception as e:  # noqa: BLE001
            return f"stdout is not an image ({type(e).__name__})"
    return check


def check_wav(path: str, rate: int, channels: int, frames: int) -> Check:
    def check(folder: Path, r: Outcome) -> str | None:
        import soundfile

        try:
            info = soundfile.info(str(folder / path))
        except Exception as e:  # noqa: BLE001
            return f"{path} is not readable audio ({type(e).__name__})"
        got = (info.samplerate, info.channels, info.frames)
        return None if got == (rate, channels, frames) else f"{path} is {got}, expected {(rate, channels, frames)}"
    return check


def check_wav_rate(path: str, rate: int) -> Check:
    def check(folder: Path, r: Outcome) -> str | None:
        import soundfile

        try:
            info = soundfile.info(str(folder / path))
        except Exception as e:  # noqa: BLE001
            return f"{path} is not readable audio ({type(e).__name__})"
        return None if info.samplerate == rate and info.frames > 0 else f"{path} is {info.samplerate} Hz, {info.frames} frames"
    return check


def check_aec(path: str, media: str, **expect) -> Check:
    """An .aec file of ``media`` whose header has ``expect`` (geometry keys, or audio keys)."""
    def check(folder: Path, r: Outcome) -> str | None:
        try:
            header, _ = parse_aec((folder / path).read_bytes())
        except Exception as e:  # noqa: BLE001
            return f"{path} is not a well-formed .aec file ({type(e).__name__}: {e})"
        flat = {**header, **header.get("geometry", {})}
        wrong = {k: flat.get(k) for k, v in expect.items() if flat.get(k) != v}
        if header.get("media") != media or wrong:
            return f"{path} holds {header.get('media')} with {wrong}, expected {media} with {expect}"
        return None
    return check


INFO_FACTS = ("file_bytes", "model_version", "bpp", "duration_s", "kbps")  # what info adds (cli/info_cmds.py)


def check_info(header: dict, streams: list, as_json: bool) -> Check:
    """`aecodec info` of a well-formed container (in.aec): --json, every key and what follows from
    them (the file's size and no other fact); the table, one "key  value" row each from file and media."""
    stored = json.loads(header_text({**header, "streams": len(streams)}))

    def check(folder: Path, r: Outcome) -> str | None:
        text = r.stdout.decode("utf-8")
        size = (folder / "in.aec").stat().st_size
        if as_json:
            shown = json.loads(text)
            facts = {k: shown[k] for k in INFO_FACTS if k in shown}
            if shown != {**stored, "bytes": sum(map(len, streams)), **facts}:
                return "info --json differs from the header"
            return None if facts.get("file_bytes") == size else f"info --json says {facts.get('file_bytes')} bytes of {size}"
        keys = [line.split("  ")[0] for line in text.splitlines()]
        if keys[:3] != ["file", "media", "size"] or not all(line.count("  ") for line in text.splitlines()):
            return f"info printed rows {keys}"
        return None
    return check


def check_all(*checks: Check) -> Check:
    def check(folder: Path, r: Outcome) -> str | None:
        return next((p for p in (c(folder, r) for c in checks) if p), None)
    return check


def check_absent(path: str) -> Check:
    def check(folder: Path, r: Outcome) -> str | None:
        return f"{path} was created" if os.path.lexists(folder / path) else None
    return check


def check_regular(path: str) -> Check:
    def check(folder: Path, r: Outcome) -> str | None:
        return None if (folder / path).is_file() and not (folder / path).is_symlink() else f"{path} is not a regular file"
    return check


# --- fixtures ----------------------------------------------------------------------------------


class Fixtures:
    """Good inputs for the generators: the test images and speech, and .aec files made from
    them by the real CLI (one image of each mode; audio of both codecs, mono at two qualities
    (conv-LSTM: with and without the envelope layer), mid-side stereo, three independent
    channels; "mdct-*" are the default codec's, "music-*" its music model's)."""

    def __init__(self, folder: Path):
        import soundfile
        from PIL import Image

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.bytes: dict[str, bytes] = {}
        canyon = np.asarray(Image.open(SAMPLE).convert("RGB"))
        self.put("rgb.png", SAMPLE.read_bytes())
        self.put("gray.png", GRAY.read_bytes())
        self.put("alpha.png", ALPHA.read_bytes())
        self.small = canyon[:64, :96]  # 96x64: restoration cases stay quick
        self.put("small.png", png(self.small))
        mask = np.zeros((64, 96), np.uint8)
        mask[20:40, 30:60] = 255
        self.put("mask.png", png(mask))
        self.put("photo.jpg", pil_bytes(Image.fromarray(canyon), "JPEG", quality=90))
        speech, rate = soundfile.read(str(SPEECH), dtype="float32")
        self.speech, self.rate = speech, rate
        self.put("speech.flac", SPEECH.read_bytes())
        self.put("speech.wav", wav(speech[: 2 * rate], rate))
        stereo = np.stack([speech[: 2 * rate], 0.5 * speech[160 : 2 * rate + 160]], axis=1)
        self.put("stereo.wav", wav(stereo, rate))
        tri = np.stack([speech[:rate], speech[800 : rate + 800], 0.3 * speech[1600 : rate + 1600]], axis=1)
        self.put("tri.wav", wav(tri, rate))
        self.train_images = {f"data/{i}.png": png(canyon[i * 40 : i * 40 + 160, i * 60 : i * 60 + 160])
                             for i in range(3)}
        self.train_audio = {f"speech/{i}.wav": wav(speech[i * rate : (i + 2) * rate], rate) for i in range(2)}
        self.train_noise = {"noise/0.wav": wav(0.05 * np.random.default_rng(0).standard_normal(2 * rate), rate)}
        self.aec: dict[str, tuple[dict, list[bytes]]] = {}
        audio = (("speech", "speech.flac", 50), ("speech-q1", "speech.flac", 1), ("stereo", "stereo.wav", 50),
                 ("tri", "tri.wav", 30))
        for name, source, quality, model in (
                *((name, source, quality, None) for name, source, quality in (
                    ("rgb", "rgb.png", 50), ("gray", "gray.png", 50), ("alpha", "alpha.png", 50),
                    ("small", "small.png", 30), ("top", "small.png", 100))),
                *((name, source, quality, "audio-conv-lstm") for name, source, quality in audio),
                *(("mdct-" + name, source, quality, None) for name, source, quality in audio),  # the default model
                *(("music-" + name, source, quality, "audio-mdct-music") for name, source, quality in audio[::2])):
            out = folder / f"{name}.aec"
            if not out.exists():
                subprocess.run([sys.executable, "-m", "aecodec", "encode", str(folder / source), "-o", str(out),
                                "-q", str(quality)] + (["--model", model] if model else []), check=True,
                               capture_output=True, env=child_env(folder))
            self.bytes[f"{name}.aec"] = out.read_bytes()
            self.aec[name] = parse_aec(self.bytes[f"{name}.aec"])
        card = json.loads(max(PRETRAINED.glob("image-hyperprior.v*.json"), key=lambda p: int(p.stem.split(".v")[1]))
                          .read_text())
        self.M = card["config"]["M"]
        self.image_sha = self.aec["rgb"][0]["model"]["sha256"]
        self.audio_sha = self.aec["speech"][0]["model"]["sha256"]  # audio-conv-lstm's
        self.mdct_sha = self.aec["mdct-speech"][0]["model"]["sha256"]
        assert self.aec["speech"][0]["model"]["name"] == "audio-conv-lstm" and "mdct" not in self.aec["speech"][0]
        assert self.aec["mdct-speech"][0]["model"]["name"] == "audio-mdct" and "mdct" in self.aec["mdct-speech"][0]
        old = PRETRAINED / "image-hyperprior.v1.json"
        self.old_image_sha = json.loads(old.read_text())["weights"]["sha256"][:16] if old.exists() else None
        self._evil = None

    def put(self, name: str, data: bytes) -> None:
        self.bytes[name] = data
        (self.folder / name).write_bytes(data)

    def evil(self) -> dict[str, bytes]:
        if self._evil is None:
            self._evil = evil_checkpoints()
        return self._evil


def child_env(tmpdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("AECODEC_MODELS", "PYTHONPATH")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TMPDIR=str(tmpdir), PYTHONDONTWRITEBYTECODE="1")
    return env


# --- generators: container ---------------------------------------------------------------------


def container_cases(fx: Fixtures, rng: np.random.Generator) -> list[Case]:
    goods = ["rgb", "gray", "alpha", "small", "speech", "speech-q1", "stereo", "tri", "mdct-speech", "mdct-stereo",
             "mdct-tri", "music-speech", "music-stereo"]  # music-*: the music model's adaptive tables
    cases: list[Case] = []

    def add(label: str, data: bytes, good: str, command: str | None = None, **kw) -> None:
        command = command or ("info" if rng.random() < 0.25 else "decode")
        ext = ".wav" if fx.aec[good][0]["media"] == "audio" else ".png"
        args = ["info", "in.aec"] if command == "info" else ["decode", "in.aec", "-o", "out" + ext]
        cases.append(Case("container", label, args, {"in.aec": data}, **kw))

    def pick() -> tuple[str, bytes]:
        good = goods[int(rng.integers(len(goods)))]
        return good, fx.bytes[f"{good}.aec"]

    for n in range(0, 16):  # every cut inside the prefix, the empty file included
        add("truncated", fx.bytes["rgb.aec"][:n], "rgb")
    for _ in range(100):
        good, data = pick()
        add("truncated", data[: int(rng.integers(len(data)))], good)
    for _ in range(130):
        good, data = pick()
        b = bytearray(data)
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        add("bit flip", bytes(b), good)
    for _ in range(20):
        good, data = pick()
        b = bytearray(data)
        for i in rng.integers(len(b), size=int(rng.integers(2, 9))):
            b[int(i)] ^= 1 << int(rng.integers(8))
        add("bit flips", bytes(b), good)
    for _ in range(15):
        good, data = pick()
        b = bytearray(data)
        at = int(rng.integers(len(b)))
        b[at] = (b[at] + int(rng.integers(1, 256))) % 256
        add("byte changed", bytes(b), good)
    for n in np.exp(rng.uniform(0, math.log(50000), 25)).astype(int):
        add("random bytes", rng.bytes(int(n)), "rgb")
    for n in rng.integers(0, 3000, 15):
        add("random bytes after magic", MAGIC + rng.bytes(int(n)), "rgb")
    for n in rng.integers(0, 3000, 10):
        add("random bytes after magic and version", MAGIC + b"\x02\x00" + rng.bytes(int(n)), "rgb")
    for n in rng.integers(1, 200, 20):
        good, data = pick()
        add("appended", data + rng.bytes(int(n)), good)
    add("appended copy", fx.bytes["rgb.aec"] * 2, "rgb")

    # Stored headers that are not what format 2 stores (the CRC recomputed: only the header is wrong).
    h, s = fx.aec["rgb"]
    text = header_text({**h, "streams": len(s)})
    raw_h = deflate(text)
    for n in rng.integers(1, 300, 6):
        add("header: random bytes", aec(None, s, raw=rng.bytes(int(n))), "rgb")
    add("header: zlib-wrapped", aec(None, s, raw=zlib.compress(text)), "rgb")
    add("header: gzip", aec(None, s, raw=__import__("gzip").compress(text)), "rgb")
    for n in sorted(set(int(v) for v in rng.integers(1, len(raw_h), 6))):
        add("header: deflate cut short", aec(None, s, raw=raw_h[:n]), "rgb")
    for n in (1, 7, 100):
        add("header: deflate followed by junk", aec(None, s, raw=raw_h + rng.bytes(n)), "rgb")
    add("header: empty", aec(None, s, raw=b""), "rgb")
    add("header: deflate of nothing", aec(None, s, raw=deflate(b"")), "rgb")
    for size in ((1 << 20) + 1, 16 << 20):
        bomb = b'{"media":"image","x":"' + b"A" * size + b'"}'
        add("header: deflate bomb", aec(None, s, raw=deflate(bomb)), "rgb")
    for bad in (b"[]", b'"image"', b"1", b"null", b"true", b"{", b"{}", b'{"a":1}x',
                b'{"media":"image","media":"image"}', b"\xff\xfe{}", b"\xef\xbb\xbf{}"):
        add("header: not a JSON object", aec(None, s, raw=deflate(bad)), "rgb")
    dup = text[:-1] + b',"quality":50.0}'
    add("header: duplicate key", aec(None, s, raw=deflate(dup)), "rgb")
    for const in (b"NaN", b"Infinity", b"-Infinity"):
        add("header: non-JSON constant", aec(None, s, raw=deflate(text.replace(b'"quality":50.0', b'"quality":' + const))),
            "rgb")
    add("header: 5000-digit integer", aec(None, s, raw=deflate(text[:-1] + b',"x":' + b"9" * 5000 + b"}")), "rgb")
    add("header: nested 100000 deep", aec(None, s, raw=deflate(text[:-1] + b',"x":' + b"[" * 100000 + b"]" * 100000 + b"}")),
        "rgb")
    add("header: nested 100000 deep, unclosed", aec(None, s, raw=deflate(b"[" * 100000)), "rgb")
    add("header: invalid UTF-8", aec(None, s, raw=deflate(text.replace(b'"RGB"', b'"\xff\xfe"'))), "rgb")
    add("header: raw surrogate bytes", aec(None, s, raw=deflate(text.replace(b'"RGB"', b'"\xed\xa0\x80"'))), "rgb")
    add("format 1: raw surrogate bytes", aec(None, s, major=1, raw=text.replace(b'"RGB"', b'"\xed\xa0\x80"')), "rgb")
    add("format 1: deflated header", aec(None, s, major=1, raw=raw_h), "rgb")
    # Common keys: what every reader checks.
    for label, change in (
        ("media missing", {"media": None}), ("media 'video'", {"media": "video"}), ("media 'IMAGE'", {"media": "IMAGE"}),
        ("media 1", {"media": 1}), ("media list", {"media": ["image"]}), ("model missing", {"model": None}),
        ("model a string", {"model": "image-hyperprior"}), ("model.name missing", {"model": {"sha256": fx.image_sha}}),
        ("model.name empty", {"model": {"name": "", "sha256": fx.image_sha}}),
        ("model.name 5", {"model": {"name": 5, "sha256": fx.image_sha}}),
        ("sha256 upper case", {"model": {"name": "image-hyperprior", "sha256": fx.image_sha.upper()}}),
        ("sha256 15 digits", {"model": {"name": "image-hyperprior", "sha256": fx.image_sha[:15]}}),
        ("sha256 65 digits", {"model": {"name": "image-hyperprior", "sha256": "a" * 65}}),
        ("sha256 not hex", {"model": {"name": "image-hyperprior", "sha256": "g" * 16}}),
        ("sha256 a number", {"model": {"name": "image-hyperprior", "sha256": 1234567890123456}}),
        ("sha256 missing", {"model": {"name": "image-hyperprior"}}),
    ):
        header = edited(h, change)
        add(f"common key: {label}", aec(header, s), "rgb")
    for label, value in (("one more", len(s) + 1), ("one fewer", len(s) - 1), ("'2'", "2"), ("-1", -1), ("2.0", 2.0),
                         ("true", True), ("65537", 65537), ("missing", None)):
        header = edited(h, {"streams": value})
        add(f"common key: streams {label}", aec(header, s, set_streams=False), "rgb")
    # Length fields (CRC recomputed).
    for label, raw_len in (("4 GiB", 0xFFFFFFFF), ("1 MiB + 1", (1 << 20) + 1), ("one more", len(raw_h) + 1),
                           ("50 more", len(raw_h) + 50), ("zero", 0), ("one less", len(raw_h) - 1)):
        data = bytearray(aec(h, s))
        data[6:10] = struct.pack("<I", raw_len)
        data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))
        add(f"header length {label}", bytes(data), "rgb")
    for label, count in (("4G", 0xFFFFFFFF), ("65537", 65537), ("one more", len(s) + 1), ("1000 more", len(s) + 1000),
                         ("zero", 0)):
        add(f"stream count {label}", aec(h, s, count=count), "rgb")
    for label, first in (("2^64-1", (1 << 64) - 1), ("2^63", 1 << 63), ("one more", len(s[0]) + 1),
                         ("one less", len(s[0]) - 1), ("zero", 0)):
        add(f"stream length {label}", aec(h, s, lengths=[first] + [len(x) for x in s[1:]]), "rgb")
    add("65536 empty streams", aec(h, [b""] * 65536), "rgb")
    for major, minor in ((0, 0), (3, 0), (255, 255), (0, 255)):
        add(f"format {major}.{minor}", aec(h, s, major=major, minor=minor), "rgb")
    # Standard input.
    for _ in range(6):
        good, data = pick()
        cut = data[: int(rng.integers(len(data)))]
        ext = ".wav" if fx.aec[good][0]["media"] == "audio" else ".png"
        cases.append(Case("container", "stdin: truncated", ["decode", "-", "-o", "out" + ext], stdin=cut))
    for n in rng.integers(1, 5000, 4):
        cases.append(Case("container", "stdin: random bytes", ["decode", "-", "-o", "out.png"], stdin=rng.bytes(int(n))))
    cases.append(Case("container", "stdin: empty", ["decode", "-", "-o", "out.png"], stdin=b""))
    cases.append(Case("container", "stdin: info of garbage", ["info", "-"], stdin=rng.bytes(100)))
    cases.append(Case("container", "stdin: magic then random", ["decode", "-", "-o", "out.png"], stdin=MAGIC + rng.bytes(999)))
    cases.append(Case("container", "stdin: bit flip", ["decode", "-", "-o", "out.png"],
                      stdin=bytes(b ^ (i == 40) for i, b in enumerate(fx.bytes["rgb.aec"]))))

    # Legal containers: format rules a reader must keep (decoded and checked, counted apart).
    sh, ss = fx.aec["small"]
    stext = header_text({**sh, "streams": len(ss)})

    def legal(label: str, data: bytes, why: str, command: str = "decode", header: dict | None = None) -> None:
        if command == "info":
            cases.append(Case("container", label, ["info", "--json", "in.aec"], {"in.aec": data}, expect="legal", why=why,
                              check=check_info(header, ss, True)))
        else:
            cases.append(Case("container", label, ["decode", "in.aec", "-o", "out.png"], {"in.aec": data}, expect="legal",
                              why=why, check=check_png("out.png", 96, 64), outputs=("out.png",)))

    legal("header deflated without the dictionary", aec(None, ss, raw=deflate(stext, dictionary=False)),
          "any raw DEFLATE of the header is format 2 (the dictionary is only a preset window)")
    legal("format 1 (plain JSON header)", aec(sh, ss, major=1), "format 1 files stay readable")
    legal("format 2.255", aec(sh, ss, minor=255), "readers accept any minor version of their major")
    legal("unknown keys", aec({**sh, "zz": {"a": [1, 2, {"b": None}]}, "comment": "x" * 1000}, ss),
          "readers ignore header keys they do not know")
    legal("900 kB header", aec({**sh, "comment": "y" * 900_000}, ss), "headers up to 1 MiB are legal")
    big = {**sh, "comment": "y" * 900_000}
    legal("900 kB header, info", aec(big, ss), "headers up to 1 MiB are legal", "info", big)
    legal("4000-digit integer in an unknown key", aec(None, ss, raw=deflate(stext[:-1] + b',"x":' + b"7" * 4000 + b"}")),
          "readers ignore header keys they do not know")
    legal("nested 50 deep in an unknown key", aec(None, ss, raw=deflate(stext[:-1] + b',"x":' + b"[" * 50 + b"]" * 50 + b"}")),
          "readers ignore header keys they do not know")
    cases.append(Case("container", "stdin: a good file", ["decode", "-", "-o", "out.png"], stdin=fx.bytes["small.aec"],
                      expect="legal", why="a good file on standard input", check=check_png("out.png", 96, 64),
                      outputs=("out.png",)))
    return cases


# --- generators: image headers -----------------------------------------------------------------


def header_pair(kind: str, label: str, header: dict, streams: list, decode_expect: str, decode_check: Check | None,
                info_ok: bool, rng: np.random.Generator, why: str = "", out: str = "out.png", data: bytes | None = None,
                info_json: bool | None = None) -> list[Case]:
    """The same file through `info` (legal whenever the container's common keys are) and `decode`."""
    data = aec(header, streams) if data is None else data
    as_json = bool(rng.random() < 0.5) if info_json is None else info_json
    info_args = ["info", "--json", "in.aec"] if as_json else ["info", "in.aec"]
    if info_ok:
        info = Case(kind, label + " [info]", info_args, {"in.aec": data}, expect="legal",
                    why="info shows any well-formed header, escaped", check=check_info(header, streams, as_json))
    else:
        info = Case(kind, label + " [info]", info_args, {"in.aec": data})
    decode = Case(kind, label, ["decode", "in.aec", "-o", out], {"in.aec": data}, expect=decode_expect, why=why,
                  check=decode_check, outputs=(out,) if decode_expect != "refuse" else ())
    return [info, decode]


def padded(n: int) -> int:
    return n + -n % 64


def image_header_cases(fx: Fixtures, rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []
    kind = "image-header"
    M = fx.M

    def forged_image(h: dict) -> tuple[str, Check | None, str]:
        g = h["geometry"]
        if padded(g["height"]) * padded(g["width"]) > 1 << 26:
            return "refuse", None, ""
        return ("either", check_png("out.png", g["width"], g["height"], g["channels"]),
                "a forged but well-formed small image may decode (to noise)")

    # Huge dimensions with a tiny payload.
    dims = [(16384, 16384), (8192, 8192), (8193, 8192), (8192, 8193), (1, 4_194_304), (4_194_304, 1), (64, 1_048_576),
            (1, 1_048_577), (4096, 4096), (1, 100_000), (2**31 - 1, 1), (2**31, 2**31), (65535, 65535), (3000, 7)]
    for _ in range(34):
        r = rng.random()
        if r < 0.4:
            dims.append((int(math.exp(rng.uniform(0, math.log(2**17)))), int(math.exp(rng.uniform(0, math.log(2**17))))))
        elif r < 0.7:
            n = int(math.exp(rng.uniform(math.log(1024), math.log(2**23))))
            dims.append((1, n) if rng.random() < 0.5 else (n, 1))
        else:
            side = int(rng.integers(2048, 12000))
            dims.append((side, int(rng.integers(2048, 12000))))
    for height, width in dims:
        tile = int(rng.choice([0, 1024, 2048, 512, 64]))
        group = int(rng.choice([1, 2, 8, 32, 128, 1 << 20]))
        n = 1 + math.ceil(M / group)
        streams = [rng.bytes(int(rng.integers(8, 100))) if rng.random() < 0.5 else bytes(int(rng.integers(8, 100)))
                   for _ in range(min(n, 5000))]
        header = {"media": "image", "model": {"name": "image-hyperprior", "sha256": fx.image_sha}, "quality": 50.0,
                  "geometry": {"height": height, "width": width, "channels": 3, "mode": "RGB"}, "tiles": {"size": tile},
                  "y_group_channels": group}
        expect, check, why = forged_image(header)
        cases += header_pair(kind, f"huge dims {width}x{height}, tiny payload", header, streams, expect, check, True, rng, why)

    # Values of the wrong kind or out of range.
    bases = {"rgb": fx.aec["rgb"], "gray": fx.aec["gray"], "alpha": fx.aec["alpha"]}
    edits = []
    for q in (True, False, "50", None, [], {}, 0, 0.5, 100.5, 101, -1, 1e308, -0.0, 1e-300):
        edits.append((f"quality {q!r}", lambda h, q=q: {**h, "quality": q}))
    for mode, channels in (("CMYK", 3), (5, 3), ("L", 3), ("RGBA", 3), ("", 3), (None, 3), ("rgb", 3), ("RGB\x00", 3),
                           ("\x1b[2J", 3), ("RGB", 1), ("RGB", 4), ("L", 4), ("LA", 2)):
        edits.append((f"mode {mode!r} with {channels} channels",
                      lambda h, m=mode, c=channels: {**h, "geometry": {**h["geometry"], "mode": m, "channels": c}}))
    for c in (0, 2, 5, True, 3.0, "3", -3, 2**64):
        edits.append((f"channels {c!r}", lambda h, c=c: {**h, "geometry": {**h["geometry"], "channels": c}}))
    for key in ("height", "width"):
        for v in (0, -1, 1.5, True, "64", None, 2**63, 10**30, -2**63, 216.0):
            edits.append((f"{key} {v!r}", lambda h, k=key, v=v: {**h, "geometry": {**h["geometry"], k: v}}))
    for g in ([], "384x216", None, 7):
        edits.append((f"geometry {g!r}", lambda h, g=g: {**h, "geometry": g}))
    for key in ("height", "width", "channels", "mode"):
        edits.append((f"geometry without {key}",
                      lambda h, k=key: {**h, "geometry": {a: b for a, b in h["geometry"].items() if a != k}}))
    for key in ("quality", "geometry", "tiles", "y_group_channels"):
        edits.append((f"no {key}", lambda h, k=key: {a: b for a, b in h.items() if a != k}))
    for t in (None, [], {}, {"size": -64}, {"size": 7}, {"size": 64.0}, {"size": True}, {"size": 1 << 40}, "0",
              {"size": 64}, {"size": 1024}):
        edits.append((f"tiles {t!r}", lambda h, t=t: {**h, "tiles": t}))
    for gr in (0, -1, 1.5, True, "128", None, 10**12, 2**63, 129):
        edits.append((f"y_group_channels {gr!r}", lambda h, gr=gr: {**h, "y_group_channels": gr}))
    # A plausible group that is not the encoder's (its streams then do not add up).
    edits.append(("y_group_channels half the encoder's", lambda h: {**h, "y_group_channels": max(2, h["y_group_channels"] // 2)}))
    edits.append(("media 'audio'", lambda h: {**h, "media": "audio"}))
    for label, edit in edits:
        base = ["rgb", "gray", "alpha"][int(rng.integers(3))]
        h, s = bases[base]
        header = edit(dict(h))
        cases += header_pair(kind, f"{base}: {label}", header, s, "refuse", None, True, rng)

    # Well-formed but changed: a forgery a checksum cannot tell from a real file decodes.
    rh, rs = fx.aec["rgb"]
    gh, gs = fx.aec["gray"]
    ah, as_ = fx.aec["alpha"]
    for q in (1, 100, 37.5, 99.99):
        h = {**rh, "quality": q}
        cases += header_pair(kind, f"rgb: quality {q}", h, rs, "legal", check_png("out.png", 384, 216, 3), True, rng,
                             "another legal quality decodes (differently)")
    h = {**rh, "geometry": {**rh["geometry"], "mode": "L", "channels": 1}}
    cases += header_pair(kind, "rgb: declared L", h, rs, "legal", check_png("out.png", 384, 216, 1), True, rng,
                         "an RGB file declared L decodes to gray (the streams are the same)")
    h = {**gh, "geometry": {**gh["geometry"], "mode": "RGB", "channels": 3}}
    cases += header_pair(kind, "gray: declared RGB", h, gs, "legal", check_png("out.png", 320, 180, 3), True, rng,
                         "an L file declared RGB decodes to colour (the streams are the same)")
    h = {**ah, "geometry": {**ah["geometry"], "mode": "RGB", "channels": 3}}
    cases += header_pair(kind, "alpha: declared RGB", h, as_, "refuse", None, True, rng)
    h = {**rh, "geometry": {**rh["geometry"], "mode": "RGBA", "channels": 4}}
    cases += header_pair(kind, "rgb: declared RGBA", h, rs, "refuse", None, True, rng)
    h = {**rh, "geometry": {**rh["geometry"], "height": 200, "width": 380}}
    cases += header_pair(kind, "rgb: smaller size, same padding", h, rs, "legal", check_png("out.png", 380, 200, 3), True,
                         rng, "a smaller size with the same padded size decodes (cropped)")
    h = {**rh, "geometry": {**rh["geometry"], "height": 130, "width": 200}}
    cases += header_pair(kind, "rgb: another padded size", h, rs, "either", check_png("out.png", 200, 130, 3), True, rng,
                         "a forged but well-formed small image may decode (to noise)")
    escapes = "\x1b]0;owned\x07\x1b[2J\x1b[H\u202e\x9b\x00\x7f"
    for label, extra in (("escapes in an unknown key", {"comment": escapes}),
                         ("escapes in a key name", {"\x1b[31mkey": escapes}),
                         ("lone surrogates", {"s": "\ud800", "t": ["\udcff", escapes]}),
                         ("newlines", {"note": "a\nb\r\nc", "n\n": 1}),
                         ("unicode", {"note": "Grüße, 漢字, \U0001f600"})):
        cases += header_pair(kind, f"rgb: {label}", {**rh, **extra}, rs, "legal", check_png("out.png", 384, 216, 3), True,
                             rng, "readers ignore unknown keys; info escapes their text")

    # The residual layer (qualities above 95): malformed, missing, announced without its streams.
    th, ts = fx.aec["top"]
    layer = th["residual"]
    for step in (0, 2, 8, 256, -7, True, 7.0, "7", None, [7], 2**63):
        cases += header_pair(kind, f"top: residual step {step!r}", {**th, "residual": {**layer, "step": step}}, ts,
                             "refuse", None, True, rng)
    for tables in (None, [], [[0] * 16] * 2, [[0] * 16] * 4, [[0] * 15] * 3, [[25] * 16] * 3, [[-1] * 16] * 3,
                   [[True] * 16] * 3, [[0.0] * 16] * 3, "0", [[0] * 16, [0] * 16, "x"]):
        cases += header_pair(kind, f"top: residual tables {str(tables)[:30]}", {**th, "residual": {**layer, "tables": tables}},
                             ts, "refuse", None, True, rng)
    for label, h, streams in (("top: no residual key", {k: v for k, v in th.items() if k != "residual"}, ts),
                              ("top: residual without its streams", th, ts[:2]),
                              ("rgb: a residual layer announced on a q50 file", {**rh, "residual": layer}, rs),
                              ("top: residual []", {**th, "residual": []}, ts)):
        cases += header_pair(kind, label, h, streams, "refuse", None, True, rng)
    for label, h in (("top: another legal step", {**th, "residual": {**layer, "step": 255}}),
                     ("top: other legal tables", {**th, "residual": {**layer, "tables": [[24] * 16] * 3}})):
        cases += header_pair(kind, label, h, ts, "either", check_png("out.png", 96, 64, 3), True, rng,
                             "a well-formed layer with other settings decodes (differently) or is refused as too short")

    # Model names and hashes.
    for name in ("m" + escapes, "\x1b]0;owned\x07", "image-hyperprior\x00", "image\nhyperprior", "image\thyperprior",
                 "\u202eimage-hyperprior", "\x9b31m", "\ud800", "image-hyperprior\udfff", "x" * 101, "x" * 10000,
                 "\x7f"):
        h = {**rh, "model": {"name": name, "sha256": fx.image_sha}}
        cases += header_pair(kind, f"model name {ascii(name)[:30]}", h, rs, "refuse", None, False, rng)
    for name in ("../../etc/passwd", "/etc/passwd", "image-hyperprior/../../x", "IMAGE-HYPERPRIOR", "image-hyperprior-x",
                 "audio-conv-lstm", "image-hyperprior.v4", "~root", "$(touch PWNED)", "x" * 100, "image hyperprior"):
        sha = fx.audio_sha if name == "audio-conv-lstm" else fx.image_sha
        h = {**rh, "model": {"name": name, "sha256": sha}}
        cases += header_pair(kind, f"model name {name[:30]!r}", h, rs, "refuse", None, True, rng)
    for sha in ("0" * 16, "f" * 64, fx.audio_sha, other_prefix(fx.image_sha)):
        h = {**rh, "model": {"name": "image-hyperprior", "sha256": sha}}
        cases += header_pair(kind, f"unknown sha256 {sha[:20]}", h, rs, "refuse", None, True, rng)
    if fx.old_image_sha:
        h = {**rh, "model": {"name": "image-hyperprior", "sha256": fx.old_image_sha}}
        cases += header_pair(kind, "another shipped version's sha256", h, rs, "either", check_png("out.png", 384, 216, 3),
                             True, rng, "a file naming another installed model decodes with it (differently)")

    # Streams behind a valid header.
    for base in ("rgb", "gray", "alpha", "small"):
        h, s = fx.aec[base]
        g = h["geometry"]
        ok = check_png("out.png", g["width"], g["height"], g["channels"])
        why = "forged streams behind a valid header decode (to noise) or are refused"
        coded = len(s) - (g["channels"] == 4)  # z and the latent streams; an alpha PNG stays
        for i in range(3):
            forged = [rng.bytes(len(x)) for x in s[:coded]] + s[coded:]
            cases += header_pair(kind, f"{base}: random streams", h, forged, "either", ok, True, rng, why)
        cases += header_pair(kind, f"{base}: zero streams", h, [bytes(len(x)) for x in s], "either", ok, True, rng, why)
        cases += header_pair(kind, f"{base}: streams of 7 bytes", h, [x[:7] for x in s], "refuse", None, True, rng)
        cases += header_pair(kind, f"{base}: empty streams", h, [b"" for _ in s], "refuse", None, True, rng)
        cases += header_pair(kind, f"{base}: one more stream", h, s + [rng.bytes(64)], "refuse", None, True, rng)
        cases += header_pair(kind, f"{base}: one stream fewer", h, s[:-1], "refuse", None, True, rng)
        cases += header_pair(kind, f"{base}: z stream halved", h, [s[0][: len(s[0]) // 2]] + s[1:], "either", ok, True,
                             rng, why)
        cases += header_pair(kind, f"{base}: streams swapped", h, s[::-1], "either", ok, True, rng, why)
    h, s = fx.aec["alpha"]
    for label, alpha in (("random", rng.bytes(len(s[-1]))), ("a PNG of another size", png(np.zeros((10, 10), np.uint8))),
                         ("an RGB PNG", png(np.zeros((113, 200, 3), np.uint8))),
                         ("a PNG bomb", png_claiming(100_000, 100_000)), ("a 1-bit PNG bomb", one_bit_png(16384, 16384)),
                         ("a JPEG", jpeg_claiming(200, 113)), ("empty", b"")):
        cases += header_pair(kind, f"alpha: alpha stream {label}", h, s[:-1] + [alpha], "refuse", None, True, rng)
    return cases


# --- generators: audio headers -----------------------------------------------------------------


N_FFTS = (256, 512, 1024, 2048, 4096)  # docs/FORMAT.md, "Audio codec keys"


def _int(v) -> bool:
    return type(v) is int


def _num(v) -> bool:
    return type(v) in (int, float)


def envelope_legal(e) -> bool:
    if not isinstance(e, dict) or not all(k in e for k in ("n_fft", "hop", "bands", "step")):
        return False
    n, hop, bands, step = e["n_fft"], e["hop"], e["bands"], e["step"]
    return (_int(n) and _int(hop) and _int(bands) and _num(step) and n in N_FFTS and n // 4 <= hop <= n // 2
            and 4 <= bands <= min(128, n // 16) and 0.05 <= step <= 2)


def chunking_legal(c) -> bool:
    if not isinstance(c, dict):
        return False
    f, o = c.get("frames"), c.get("overlap")
    return _int(f) and _int(o) and 4800 <= f <= 1 << 18 and f % 320 == 0 and 0 <= o <= f // 2 and o % 320 == 0


# Forgeries of the keys every audio codec checks alike (codecs/audio_header.check_signal): each
# must be refused, by the conv-LSTM and the MDCT decoder. None drops the key.
SIGNAL_FORGERIES = (
    ("channels 0", {"channels": 0}), ("channels 2, mono", {"channels": 2, "dc_offset": [0.0, 0.0]}),
    ("channels 9", {"channels": 9, "channel_coding": "independent", "dc_offset": [0.0] * 9}),
    ("channels 65", {"channels": 65, "channel_coding": "independent", "dc_offset": [0.0] * 65}),
    ("channels -1", {"channels": -1}), ("channels true", {"channels": True}),
    ("channels 1.0", {"channels": 1.0}), ("coding 'stereo'", {"channel_coding": "stereo"}),
    ("coding ''", {"channel_coding": ""}), ("coding null", {"channel_coding": None}),
    ("coding mid-side, 1 channel", {"channel_coding": "mid-side", "side_quality": 50}),
    ("coding independent, 1 channel", {"channel_coding": "independent"}),
    ("dc_offset []", {"dc_offset": []}), ("dc_offset 2 values", {"dc_offset": [0.0, 0.0]}),
    ("dc_offset 2.0", {"dc_offset": [2.0]}), ("dc_offset -1.5", {"dc_offset": [-1.5]}),
    ("dc_offset '0'", {"dc_offset": ["0"]}), ("dc_offset true", {"dc_offset": [True]}),
    ("dc_offset 0.0", {"dc_offset": 0.0}), ("dc_offset 1e308", {"dc_offset": [1e308]}),
    ("no dc_offset", {"dc_offset": None}), ("no frames", {"frames": None}),
    ("no sample_rate", {"sample_rate": None}), ("no channels", {"channels": None}),
    ("no channel_coding", {"channel_coding": None}),
)


def edited(header: dict, change: dict) -> dict:
    """``header`` with ``change`` applied; a None value drops the key."""
    return {k: v for k, v in {**header, **change}.items() if v is not None}


def signal_cases(pair, header: dict, streams: list) -> list[Case]:
    """SIGNAL_FORGERIES (all refused) and one legal edge, through a decoder's own ``pair``."""
    cases = [c for label, change in SIGNAL_FORGERIES for c in pair(label, edited(header, change), streams, "refuse")]
    return cases + pair("dc_offset -1", {**header, "dc_offset": [-1]}, streams, "either")


def audio_header_cases(fx: Fixtures, rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []
    kind = "audio-header"
    why = "a forged but well-formed audio header may decode (to noise)"

    def ok_wav(h) -> Check:
        return check_wav("out.wav", h["sample_rate"], h["channels"], h["frames"])

    def pair(label, h, s, expect, legal_why=why, check=None):
        return header_pair(kind, label, h, s, expect, check or (ok_wav(h) if expect != "refuse" else None), True, rng,
                           legal_why, out="out.wav")

    eh, es = fx.aec["speech"]
    # Envelope settings: the issue's and random ones around every bound.
    specials = [{"n_fft": 8192, "hop": 1, "bands": 128, "step": 0.5}, {"n_fft": 1024, "hop": 1024, "bands": 32, "step": 0.5},
                {"n_fft": 1024, "hop": 1, "bands": 32, "step": 0.5}, {"n_fft": 4096, "hop": 1024, "bands": 128, "step": 0.05},
                {"n_fft": 256, "hop": 64, "bands": 16, "step": 2}, {"n_fft": 2**20, "hop": 2**18, "bands": 128, "step": 1}]
    for _ in range(54):
        n = rng.choice([0, 1, 16, 255, 256, 512, 1000, 1024, 2048, 4096, 8192, 16384, 2**20, -1024, 1024.0, True, "1024",
                        None], p=None)
        n = n.item() if hasattr(n, "item") else n
        base = n if _int(n) and n > 0 else 1024
        hop = [0, 1, 2, base // 4 - 1, base // 4, base // 3, base // 2, base // 2 + 1, base, base * 2, -1, 480.0][
            int(rng.integers(12))]
        bands = [0, 1, 3, 4, 16, 32, 128, 129, base // 16, base // 16 + 1, -1, 32.0][int(rng.integers(12))]
        step = [0, 0.01, 0.049, 0.05, 0.5, 2, 2.01, 1e30, -0.5, True, "0.5", 1][int(rng.integers(12))]
        if rng.random() < 0.35:  # keep most values legal, one wrong
            n, hop, bands, step = int(rng.choice(N_FFTS)), None, None, 0.5
            hop, bands = n // 4 + int(rng.integers(0, n // 4 + 1)), int(rng.integers(4, min(128, n // 16) + 1))
            which = int(rng.integers(4))
            if which == 0:
                hop = int(rng.choice([n // 4 - 1, n // 2 + 1, 1, n]))
            elif which == 1:
                bands = int(rng.choice([3, min(128, n // 16) + 1, 0]))
            elif which == 2:
                step = float(rng.choice([0.049, 2.001, 0.0, -1.0]))
            # which == 3: all legal
        specials.append({"n_fft": n, "hop": hop, "bands": bands, "step": step})
    for e in specials:
        h = {**eh, "envelope": {**e, "quality": 50.0}}
        cases += pair(f"envelope {e}", h, es, "either" if envelope_legal(e) else "refuse")
    for e in (None, [], "x", {}, {"n_fft": 1024}, {"n_fft": 1024, "hop": 480, "bands": 32}):
        h = {**eh, "envelope": e}
        cases += pair(f"envelope {e!r}", h, es, "refuse")
    h = {k: v for k, v in eh.items() if k != "envelope"}
    cases += pair("envelope removed (streams kept)", h, es, "refuse")
    qh, qs = fx.aec["speech-q1"]
    cases += pair("envelope added without its streams", {**qh, "envelope": eh["envelope"]}, qs, "refuse")

    # Chunking: around every bound, then random.
    chunkings = [(2, 1), (320, 160), (1 << 20, 0), (9600, 4801), (24000, 4000), (4799, 0), (4480, 0), (4800, 0),
                 (1 << 18, 0), (262080, 0), (262400, 0), (240000, 120000), (240000, 120320), (240000, -320), (0, 0),
                 (-240000, 0), (240000.0, 4800), (True, 0), ("240000", 4800), (None, 4800), (240000, None)]
    for _ in range(25):
        f = int(rng.choice([320 * int(rng.integers(1, 1000)), int(rng.integers(1, 300000)), 320 * int(rng.integers(15, 820))]))
        o = int(rng.choice([0, 320 * int(rng.integers(0, 400)), int(rng.integers(0, f + 1)), f // 2, f // 2 + 320]))
        chunkings.append((f, o))
    for f, o in chunkings:
        c = {"frames": f, "overlap": o}
        base = ["speech", "speech-q1", "stereo"][int(rng.integers(3))]
        h, s = fx.aec[base]
        cases += pair(f"{base}: chunking {f!r}/{o!r}", {**h, "chunking": c}, s, "either" if chunking_legal(c) else "refuse")
    for c in (None, [], {"frames": 240000}, {"overlap": 4800}, 240000):
        cases += pair(f"chunking {c!r}", {**qh, "chunking": c}, qs, "refuse")
    # Terabytes from a megabyte: 65536 chunks at 768 kHz, every stream 16 bytes.
    chunk = (1 << 18) // 320 * 320
    for rate, channels in ((768000, 1), (768000, 8), (24000, 1)):
        frames = 65536 * chunk * rate // 24000 if channels == 1 else 8192 * chunk * rate // 24000
        count = 65536 if channels == 1 else 8192 * 8
        h = {**qh, "sample_rate": rate, "frames": frames, "chunking": {"frames": chunk, "overlap": 0}, "channels": channels,
             "channel_coding": "mono" if channels == 1 else "independent", "dc_offset": [0.0] * channels}
        cases += pair(f"{frames} frames at {rate} Hz in {count} streams of 16 bytes", h, [bytes(16)] * count, "refuse")

    # frames, rate, channels, coding, dc_offset, quality, silence.
    for base in ("speech", "speech-q1"):
        h, s = fx.aec[base]
        for v in (0, -1, 2**48 + 1, 2**63, 10**30, 96000.5, True, "96000", None, 10**7, 2**40):
            cases += pair(f"{base}: frames {v!r}", {**h, "frames": v}, s, "refuse")
        for v in (1, 95000, 96320, 97000):
            cases += pair(f"{base}: frames {v}", {**h, "frames": v}, s, "either")
        for v in (0, 1, 999, 768001, 10**9, -24000, 24000.5, True, "24000", None, 2**64):
            cases += pair(f"{base}: sample_rate {v!r}", {**h, "sample_rate": v}, s, "refuse")
        for v in (1000, 768000, 44100, 8000):
            cases += pair(f"{base}: sample_rate {v}", {**h, "sample_rate": v}, s, "either")
        for q in (0, 101, True, "1", None, 1e-9, -5, 1e308):
            cases += pair(f"{base}: quality {q!r}", {**h, "quality": q}, s, "refuse")
        for q in (1, 100, 42.5):
            cases += pair(f"{base}: quality {q}", {**h, "quality": q}, s, "either")
    h, s = fx.aec["speech"]
    cases += signal_cases(pair, h, s)
    sh, ss = fx.aec["stereo"]
    for label, change in (("side_quality 0", {"side_quality": 0}), ("side_quality '5'", {"side_quality": "5"}),
                          ("no side_quality", {"side_quality": None}), ("coding mono", {"channel_coding": "mono"}),
                          ("coding independent", {"channel_coding": "independent"}), ("channels 3", {"channels": 3}),
                          ("dc_offset 1 value", {"dc_offset": [0.0]})):
        header = edited(sh, change)
        expect = "refuse"
        if label == "coding independent" and sh.get("channel_coding") == "mid-side":
            expect = "either"  # 2 independent channels: the same stream count
        cases += pair(f"stereo: {label}", header, ss, expect)
    for label, runs in (("odd length", [1]), ("zero length", [0, 0]), ("negative gap", [-1, 5]),
                        ("past the end", [0, 10**12]), ("overlong", [0, 96001]), ("floats", [1.5, 2.0]),
                        ("a string", "x"), ("nested", [[0, 1]]), ("bools", [True, True]),
                        ("16385 runs", [0, 1] * 16385), ("null", None)):
        header = {**h, "silence": runs}
        cases += pair(f"silence {label}", header, s, "refuse")
    for label, runs in (("one run", [100, 2000]), ("to the end", [0, 96000]), ("16384 runs", [1, 1] * 16384)):
        cases += pair(f"silence {label}", {**h, "silence": runs}, s, "legal", "valid silence runs decode as zeros")

    # Streams behind a valid header.
    for base in ("speech", "speech-q1", "stereo", "tri"):
        h, s = fx.aec[base]
        forged_why = "forged streams behind a valid header decode (to noise) or are refused"
        for _ in range(2):
            cases += pair(f"{base}: random streams", h, [rng.bytes(len(x)) for x in s], "either", forged_why)
        cases += pair(f"{base}: zero streams", h, [bytes(len(x)) for x in s], "either", forged_why)
        cases += pair(f"{base}: streams of 7 bytes", h, [x[:7] for x in s], "refuse")
        cases += pair(f"{base}: one more stream", h, s + [rng.bytes(64)], "refuse")
        cases += pair(f"{base}: one stream fewer", h, s[:-1], "refuse")
    h, s = fx.aec["speech"]
    for byte in (8, 255):
        cases += pair(f"envelope stream names table {byte}", h, [s[0], bytes([byte]) + s[1][1:]], "refuse")
    cases += pair("envelope stream empty", h, [s[0], b""], "refuse")
    for name in ("audio-conv-lstm\x1b[2J", "\udc80", "image-hyperprior", "../audio-conv-lstm"):
        sha = fx.image_sha if name == "image-hyperprior" else fx.audio_sha
        header = {**h, "model": {"name": name, "sha256": sha}}
        cases += pair(f"model {ascii(name)}", header, s, "refuse") if name.isprintable() else \
            header_pair(kind, f"model {ascii(name)}", header, s, "refuse", None, False, rng, out="out.wav")
    cases += pair("media 'image'", {**h, "media": "image"}, s, "refuse")
    mh, ms = fx.aec["mdct-speech"]
    cases += pair("named audio-mdct", {**h, "model": {"name": "audio-mdct", "sha256": fx.mdct_sha}}, s, "refuse")
    cases += pair("an MDCT file named audio-conv-lstm", {**mh, "model": {"name": "audio-conv-lstm", "sha256": fx.audio_sha}},
                  ms, "refuse")
    return cases + mdct_header_cases(fx, rng)


MDCT_KEYS = {"step": (-400, 200), "env_step": (2, 3), "env_every": (1, 2), "noise_gain": (0, 16), "noise_cap": (0, 32),
             "coded_bands": (0, 64), "band_gain": (0, 16)}  # codecs/mdct_header.py, check_mdct_header
MDCT_CHUNK = (16, 4096)
MDCT_FRAME = 480  # the audio-mdct model's M at its 24 kHz rate (docs/FORMAT.md, "MDCT audio keys")


def mdct_streams(h: dict) -> int:
    """The stream count an MDCT header implies (docs/FORMAT.md), model rate 24000."""
    model_frames = -(-h["frames"] * 24000 // h["sample_rate"])
    coded = 1 if h["channel_coding"] == "mono" else h["channels"]
    return -(-(-(-model_frames // MDCT_FRAME) + 1) // h["mdct"]["chunk_frames"]) * coded


def mdct_header_cases(fx: Fixtures, rng: np.random.Generator) -> list[Case]:
    """The default codec's headers (audio-mdct): its own keys, and the shared ones as above."""
    cases: list[Case] = []
    kind = "audio-header"
    why = "a forged but well-formed MDCT header may decode (to noise)"

    def pair(label, h, s, expect, legal_why=why):
        check = check_wav("out.wav", h["sample_rate"], h["channels"], h["frames"]) if expect != "refuse" else None
        return header_pair(kind, "mdct " + label, h, s, expect, check, True, rng, legal_why, out="out.wav")

    def with_channel(h, i, edit):
        chans = [dict(c) for c in h["mdct"]["channels"]]
        chans[i] = edit(chans[i])
        return {**h, "mdct": {**h["mdct"], "channels": chans}}

    # Every per-channel key around and past its bounds, and of the wrong type.
    bases = ["mdct-speech", "mdct-speech-q1", "mdct-stereo", "mdct-tri"]
    for key, (lo, hi) in MDCT_KEYS.items():
        values = [lo - 1, lo, hi, hi + 1, (lo + hi) // 2, float(lo), True, False, str(lo), None, [lo], 2**63, -2**63, 1e308]
        for v in values:
            base = bases[int(rng.integers(len(bases)))]
            h, s = fx.aec[base]
            i = int(rng.integers(len(h["mdct"]["channels"])))
            legal = type(v) is int and lo <= v <= hi
            cases += pair(f"{base}: channels[{i}].{key} {v!r}", with_channel(h, i, lambda c, k=key, v=v: {**c, k: v}), s,
                          "either" if legal else "refuse")
        base = bases[int(rng.integers(len(bases)))]
        h, s = fx.aec[base]
        cases += pair(f"{base}: channels[0] without {key}",
                      with_channel(h, 0, lambda c, k=key: {a: b for a, b in c.items() if a != k}), s, "refuse")
    for _ in range(20):  # random settings, most of them legal
        base = bases[int(rng.integers(len(bases)))]
        h, s = fx.aec[base]
        chans = [{k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in MDCT_KEYS.items()} for _ in h["mdct"]["channels"]]
        legal = rng.random() < 0.7
        if not legal:
            key = list(MDCT_KEYS)[int(rng.integers(len(MDCT_KEYS)))]
            lo, hi = MDCT_KEYS[key]
            chans[int(rng.integers(len(chans)))][key] = int(rng.choice([lo - 1, hi + 1, lo - 1000, hi + 1000]))
        cases += pair(f"{base}: random settings {chans}", {**h, "mdct": {**h["mdct"], "channels": chans}}, s,
                      "either" if legal else "refuse")
    # The channel list: its length must be the coded channel count.
    for base in bases:
        h, s = fx.aec[base]
        chans = h["mdct"]["channels"]
        for label, value in (("none", []), ("one more", chans + chans[:1]), ("one fewer", chans[:-1]),
                             ("twice", chans * 2), ("9 entries", chans[:1] * 9)):
            if len(value) != len(chans):
                cases += pair(f"{base}: mdct.channels {label}", {**h, "mdct": {**h["mdct"], "channels": value}}, s, "refuse")
        for label, value in (("a dict", chans[0]), ("a string", "x"), ("null", None), ("a number", 1),
                             ("of lists", [[1, 2]] * len(chans)), ("of nulls", [None] * len(chans)),
                             ("of strings", ["step"] * len(chans))):
            cases += pair(f"{base}: mdct.channels {label}", {**h, "mdct": {**h["mdct"], "channels": value}}, s, "refuse")
        extra = [{**c, "zz": [1, {"a": None}]} for c in chans]
        cases += pair(f"{base}: mdct.channels with an unknown key", {**h, "mdct": {**h["mdct"], "channels": extra}}, s,
                      "either", "readers ignore keys they do not know")
    # chunk_frames: around its bounds and of the wrong type; legal ones keep the stream count or do not.
    lo, hi = MDCT_CHUNK
    values = [lo - 1, lo, lo + 1, 100, 200, 201, 202, 500, hi - 1, hi, hi + 1, 0, -1, -500, 500.0, True, "500", None,
              [500], 2**63, 10**30]
    values += [int(v) for v in rng.integers(1, 5000, 10)]
    for v in values:
        base = bases[int(rng.integers(len(bases)))]
        h, s = fx.aec[base]
        header = {**h, "mdct": {**h["mdct"], "chunk_frames": v}}
        legal = type(v) is int and lo <= v <= hi
        expect = "refuse" if not legal or mdct_streams(header) != len(s) else "either"
        cases += pair(f"{base}: chunk_frames {v!r}", header, s, expect)
    for v in (16, 17, 100, 250):  # a legal chunk length with the streams it implies (forged)
        h, s = fx.aec["mdct-speech"]
        header = {**h, "mdct": {**h["mdct"], "chunk_frames": v}}
        forged = [rng.bytes(len(s[0]) * v // 500 + 16) for _ in range(mdct_streams(header))]
        cases += pair(f"speech: chunk_frames {v} with its {len(forged)} random streams", header, forged, "either")
    h, s = fx.aec["mdct-speech"]
    for label, change in (("no mdct", None), ("mdct null", {"mdct": None}), ("mdct a list", {"mdct": []}),
                          ("mdct a string", {"mdct": "x"}), ("mdct {}", {"mdct": {}}),
                          ("no chunk_frames", {"mdct": {"channels": h["mdct"]["channels"]}}),
                          ("no mdct.channels", {"mdct": {"chunk_frames": 500}})):
        header = {k: v for k, v in h.items() if k != "mdct"} if change is None else {**h, **change}
        cases += pair(label, header, s, "refuse")
    lh, _ = fx.aec["speech"]
    cases += pair("conv-LSTM keys instead of mdct", {**{k: v for k, v in h.items() if k != "mdct"},
                                                     **{k: lh[k] for k in ("chunking", "envelope") if k in lh}}, s, "refuse")
    cases += pair("conv-LSTM keys besides mdct", {**h, **{k: lh[k] for k in ("chunking", "envelope") if k in lh}}, s,
                  "either", "readers ignore keys they do not know")

    # Terabytes from a megabyte: the longest chunks, 65536 streams of 16 bytes, at up to 768 kHz.
    for rate, channels in ((768000, 1), (768000, 8), (24000, 1)):
        count = 65536 if channels == 1 else 8192 * 8
        frames = (count // channels * hi - 1) * MDCT_FRAME * rate // 24000
        coding = "mono" if channels == 1 else "independent"
        header = {**h, "sample_rate": rate, "frames": frames, "channels": channels, "channel_coding": coding,
                  "dc_offset": [0.0] * channels, "mdct": {"chunk_frames": hi, "channels": h["mdct"]["channels"] *
                                                          (1 if channels == 1 else channels)}}
        assert mdct_streams(header) == count, (mdct_streams(header), count)
        cases += pair(f"{frames} frames at {rate} Hz in {count} streams of 16 bytes", header, [bytes(16)] * count, "refuse")

    # frames, rate, channels, coding, dc_offset, quality (informational here), silence.
    for base in ("mdct-speech", "mdct-speech-q1"):
        h, s = fx.aec[base]
        for v in (0, -1, 2**48 + 1, 2**63, 10**30, 96000.5, True, "96000", None, 10**7, 2**40):
            cases += pair(f"{base}: frames {v!r}", {**h, "frames": v}, s, "refuse")
        for v in (1, 95000, 96320, 97000, 239520, 239521):
            header = {**h, "frames": v}
            cases += pair(f"{base}: frames {v}", header, s, "either" if mdct_streams(header) == len(s) else "refuse")
        for v in (0, 1, 999, 768001, 10**9, -24000, 24000.5, True, "24000", None, 2**64):
            cases += pair(f"{base}: sample_rate {v!r}", {**h, "sample_rate": v}, s, "refuse")
        for v in (1000, 768000, 44100, 8000):
            header = {**h, "sample_rate": v}
            cases += pair(f"{base}: sample_rate {v}", header, s, "either" if mdct_streams(header) == len(s) else "refuse")
        for q in (0, 101, True, "1", None, 1e308):
            header = edited(h, {"quality": q})
            cases += pair(f"{base}: quality {q!r}", header, s, "either", "quality is informational in MDCT files")
    h, s = fx.aec["mdct-speech"]
    cases += signal_cases(pair, h, s)
    sh, ss = fx.aec["mdct-stereo"]
    for label, change, expect in (("coding mono", {"channel_coding": "mono"}, "refuse"),
                                  ("coding independent", {"channel_coding": "independent"}, "either"),
                                  ("channels 3", {"channels": 3}, "refuse"), ("dc_offset 1 value", {"dc_offset": [0.0]}, "refuse"),
                                  ("channels 1, mono", {"channels": 1, "channel_coding": "mono", "dc_offset": [0.0]}, "refuse")):
        cases += pair(f"stereo: {label}", {**sh, **change}, ss, expect)
    th, ts = fx.aec["mdct-tri"]
    cases += pair("tri: channels 2, mid-side", {**th, "channels": 2, "channel_coding": "mid-side",
                                                "dc_offset": th["dc_offset"][:2]}, ts, "refuse")
    for label, runs in (("odd length", [1]), ("zero length", [0, 0]), ("negative gap", [-1, 5]), ("past the end", [0, 10**12]),
                        ("overlong", [0, 96001]), ("floats", [1.5, 2.0]), ("a string", "x"), ("16385 runs", [0, 1] * 16385),
                        ("null", None)):
        cases += pair(f"silence {label}", {**h, "silence": runs}, s, "refuse")
    for label, runs in (("one run", [100, 2000]), ("to the end", [0, 96000]), ("16384 runs", [1, 1] * 16384)):
        cases += pair(f"silence {label}", {**h, "silence": runs}, s, "legal", "valid silence runs decode as zeros")

    # Streams behind a valid header.
    forged_why = "forged streams behind a valid header decode (to noise) or are refused"
    for base in bases:
        h, s = fx.aec[base]
        for _ in range(2):
            cases += pair(f"{base}: random streams", h, [rng.bytes(len(x)) for x in s], "either", forged_why)
        cases += pair(f"{base}: zero streams", h, [bytes(len(x)) for x in s], "either", forged_why)
        cases += pair(f"{base}: 0xff streams", h, [b"\xff" * len(x) for x in s], "either", forged_why)
        cases += pair(f"{base}: streams halved", h, [x[: len(x) // 2] for x in s], "either", forged_why)
        cases += pair(f"{base}: streams doubled", h, [x + x for x in s], "either", forged_why)
        cases += pair(f"{base}: streams reversed", h, s[::-1], "either", forged_why)
        cases += pair(f"{base}: streams of 7 bytes", h, [x[:7] for x in s], "refuse")
        cases += pair(f"{base}: empty streams", h, [b"" for _ in s], "refuse")
        cases += pair(f"{base}: one more stream", h, s + [rng.bytes(64)], "refuse")
        cases += pair(f"{base}: one stream fewer", h, s[:-1], "refuse")
    # The model it names.
    h, s = fx.aec["mdct-speech"]
    for name in ("audio-mdct\x1b[2J", "\udc80", "image-hyperprior", "../audio-mdct", "AUDIO-MDCT", "audio-mdct.v1",
                 "audio-mdct/../audio-mdct", "audio-conv-lstm"):
        sha = {"image-hyperprior": fx.image_sha, "audio-conv-lstm": fx.audio_sha}.get(name, fx.mdct_sha)
        header = {**h, "model": {"name": name, "sha256": sha}}
        cases += pair(f"model {ascii(name)}", header, s, "refuse") if name.isprintable() else \
            header_pair(kind, f"mdct model {ascii(name)}", header, s, "refuse", None, False, rng, out="out.wav")
    for sha in ("0" * 16, "f" * 64, fx.audio_sha, other_prefix(fx.mdct_sha)):
        cases += pair(f"unknown sha256 {sha[:20]}", {**h, "model": {"name": "audio-mdct", "sha256": sha}}, s, "refuse")
    upper = {**h, "model": {"name": "audio-mdct", "sha256": fx.mdct_sha.upper()}}  # not hex as format 2 spells it
    cases += header_pair(kind, "mdct sha256 upper case", upper, s, "refuse", None, False, rng, out="out.wav")
    cases += pair("media 'image'", {**h, "media": "image"}, s, "refuse")
    return cases


# --- generators: input media -------------------------------------------------------------------


def media_cases(fx: Fixtures, rng: np.random.Generator) -> list[Case]:
    from PIL import Image

    cases: list[Case] = []
    kind = "input-media"

    def add(label, command, name, data, *, audio=False, extra=(), expect="refuse", **kw):
        out = "out.aec" if command == "encode" else ("out.wav" if audio else "out.png")
        args = [command, name, "-o", out]
        files = {name: data} if data is not None else {}
        if command == "inpaint":
            args += ["--gap", "0.1-0.2"] if audio else ["--mask", "mask.png"]
            if not audio:
                files["mask.png"] = fx.bytes["mask.png"]
        cases.append(Case(kind, label, args + list(extra), files, expect=expect, **kw))

    rgb, gray, alpha = fx.bytes["rgb.png"], fx.bytes["gray.png"], fx.bytes["alpha.png"]
    jpg = fx.bytes["photo.jpg"]
    for _ in range(16):
        src = [rgb, gray, alpha][int(rng.integers(3))]
        add("truncated PNG", ["encode", "encode", "denoise"][int(rng.integers(3))], "in.png",
            src[: int(rng.integers(1, len(src)))])
    for _ in range(8):
        add("truncated JPEG", ["encode", "denoise"][int(rng.integers(2))], "in.jpg", jpg[: int(rng.integers(1, len(jpg) - 2))])
    flac = fx.bytes["speech.flac"]
    wav_good = fx.bytes["speech.wav"]
    for _ in range(4):
        add("truncated WAV header", "encode", "in.wav", wav_good[: int(rng.integers(1, 44))], audio=True)
    for _ in range(4):
        add("truncated FLAC header", ["encode", "denoise"][int(rng.integers(2))], "in.flac",
            flac[: int(rng.integers(1, 42))], audio=True)
    for ext in (".png", ".jpg", ".tif", ".webp", ".bmp", ".wav", ".flac", ".ogg", ".mp3", ".opus", ".aec", ""):
        add(f"random bytes as {ext or 'no extension'}", "encode", "in" + ext, rng.bytes(int(rng.integers(1, 5000))),
            audio=ext in (".wav", ".flac", ".ogg", ".mp3", ".opus"))
    for label, magic in (("PNG", b"\x89PNG\r\n\x1a\n"), ("JPEG", b"\xff\xd8\xff\xe0"), ("TIFF", b"II*\x00"),
                         ("BMP", b"BM"), ("WebP", b"RIFF\x00\x10\x00\x00WEBPVP8 "), ("WAV", b"RIFF\x00\x10\x00\x00WAVEfmt "),
                         ("FLAC", b"fLaC"), ("OGG", b"OggS"), ("MP3", b"ID3\x04"), ("MPEG frame", b"\xff\xfb\x90")):
        for command in ("encode", "denoise"):
            add(f"{label} magic, random rest", command, "in.bin", magic + rng.bytes(int(rng.integers(10, 3000))))
    # Decompression bombs: claimed sizes far beyond the bytes, the 1-bit kind and patched headers.
    for w, h in ((100_000, 100_000), (65535, 1), (1, 65535 * 64), (20000, 20000), (2**31 - 1, 2**31 - 1), (16384, 16384),
                 (8192, 8192), (0, 10)):
        add(f"PNG claiming {w}x{h}", ["encode", "denoise"][int(rng.integers(2))], "in.png", png_claiming(w, h))
    for w, h in ((1 << 22, 1), (1, 1 << 22), (16384, 16384), (8192, 8192), (20000, 20000), (4096, 4096), (65535, 65535)):
        for command in ("encode", "denoise"):
            if w * h > 5e8 and command == "denoise":
                continue
            add(f"1-bit PNG {w}x{h}", command, "in.png", one_bit_png(w, h))
    add("1-bit PNG 4096x4096, inpaint", "inpaint", "in.png", one_bit_png(4096, 4096))
    for w, h in ((16384, 16384), (4096, 4096), (65535, 65535), (65535, 1), (1, 65535), (2048, 2048), (8192, 100),
                 (30000, 200)):
        add(f"JPEG (16x16) patched to {w}x{h}", ["encode", "denoise", "encode"][int(rng.integers(3))], "in.jpg",
            jpeg_claiming(w, h))
    # A PNG whose IDAT inflates to gigabytes: a real bomb, not a forged header (8-bit gray, 16384^2).
    row = bytes(1 + 16384)
    d = zlib.compressobj(9)
    idat = b"".join(d.compress(row) for _ in range(16384)) + d.flush()
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 16384, 16384, 8, 0, 0, 0, 0)) + \
        png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    for command in ("encode", "denoise"):
        add("8-bit gray PNG bomb 16384^2 (260 kB)", command, "in.png", bomb)
    # TIFF: strips that claim much.
    tif = pil_bytes(Image.fromarray(np.zeros((8, 8), np.uint8)), "TIFF")
    big_tif = bytearray(tif)
    add("TIFF truncated", "encode", "in.tif", bytes(big_tif[: len(big_tif) // 2]))

    # Legal oddities: the smallest and strangest images that are still images (checked outputs).
    odd = {
        "1x1 RGB": (np.zeros((1, 1, 3), np.uint8), 1, 1, 3),
        "1x1 L": (np.zeros((1, 1), np.uint8), 1, 1, 1),
        "65x1 RGB": (rng.integers(0, 256, (1, 65, 3), dtype=np.uint8), 65, 1, 3),
        "1x130 L": (rng.integers(0, 256, (130, 1), dtype=np.uint8), 1, 130, 1),
        "3x3 RGBA": (rng.integers(0, 256, (3, 3, 4), dtype=np.uint8), 3, 3, 4),
    }
    for label, (px, w, h, c) in odd.items():
        cases.append(Case(kind, f"legal: {label} PNG", ["encode", "in.png", "-o", "out.aec", "-q", "20"],
                          {"in.png": png(px)}, expect="legal", why="tiny images are images",
                          check=check_aec("out.aec", "image", width=w, height=h, channels=c), outputs=("out.aec",)))
    for label, data, c in (("16-bit gray PNG", pil_bytes(Image.fromarray(np.full((20, 30), 40000, np.uint16)), "PNG"), 1),
                           ("palette PNG with transparency",
                            pil_bytes(Image.fromarray(np.zeros((20, 30, 3), np.uint8)).convert("P"), "PNG", transparency=0), 4),
                           ("CMYK JPEG", pil_bytes(Image.fromarray(np.zeros((20, 30, 3), np.uint8)).convert("CMYK"), "JPEG"), 3),
                           ("BMP", pil_bytes(Image.fromarray(np.zeros((20, 30, 3), np.uint8)), "BMP"), 3),
                           ("TIFF", pil_bytes(Image.fromarray(np.zeros((20, 30, 3), np.uint8)), "TIFF"), 3),
                           ("WebP", pil_bytes(Image.fromarray(np.zeros((20, 30, 3), np.uint8)), "WEBP", lossless=True), 3)):
        cases.append(Case(kind, f"legal: {label}", ["encode", "in.img", "-o", "out.aec", "-q", "20"], {"in.img": data},
                          expect="legal", why="every documented input format and mode",
                          check=check_aec("out.aec", "image", width=30, height=20, channels=c), outputs=("out.aec",)))

    # Audio: rates out of range, channel counts, non-finite and hot float samples, lying headers.
    t = np.arange(16000) / 16000
    tone = 0.1 * np.sin(2 * np.pi * 440 * t)
    for rate in (1, 999, 768001, 2**31 - 1, 0):
        for command in ("encode", "denoise", "inpaint"):
            if rate == 0 and command != "encode":
                continue
            add(f"{rate} Hz WAV", command, "in.wav", wav(np.zeros(200_000 if rate == 1 else 4000), rate), audio=True)
    for value in ("nan", "inf", "-inf"):
        x = tone.copy()
        x[int(rng.integers(len(x)))] = float(value)
        for command in ("encode", "denoise", "inpaint"):
            add(f"float WAV with one {value}", command, "in.wav", wav(x, 16000, kind="float32"), audio=True,
                expect="either" if "inf" in value else "refuse",
                why="infinite float samples are clipped to full scale like any hot sample",
                check=check_aec("out.aec", "audio", frames=16000) if command == "encode" else
                check_wav("out.wav", 16000, 1, 16000),
                outputs=("out.aec",) if command == "encode" else ("out.wav",))
    for label, x in (("DC 1.2", 1.2 + tone), ("DC -1.2", -1.2 + tone), ("1e30", 1e30 + tone), ("full-scale square", np.sign(tone)),
                     ("1e-30", 1e-30 * tone), ("denormals", np.full(16000, 1e-40))):
        cases.append(Case(kind, f"float WAV {label}", ["encode", "in.wav", "-o", "out.aec", "-q", "20"],
                          {"in.wav": wav(x, 16000, kind="float32")}, expect="legal",
                          why="float samples past full scale are clipped (with a warning); the file decodes",
                          check=check_aec("out.aec", "audio", frames=16000, sample_rate=16000), outputs=("out.aec",),
                          then=[(["decode", "out.aec", "-o", "back.wav"], check_wav("back.wav", 16000, 1, 16000),
                                 ("back.wav",))]))
        cases.append(Case(kind, f"float WAV {label}, denoise", ["denoise", "in.wav", "-o", "out.wav"],
                          {"in.wav": wav(x, 16000, kind="float32")}, expect="legal",
                          why="float samples past full scale are clipped (with a warning)",
                          check=check_wav("out.wav", 16000, 1, 16000), outputs=("out.wav",)))
    for label, data, expected in (
        ("0 frames", wav(np.zeros(0), 24000), "refuse"),
        ("1 frame", wav(np.zeros(1), 24000), "either"),
        ("9 channels", wav(np.zeros((4000, 9)), 24000), "encode: refuse"),
        ("65 channels", wav(np.zeros((400, 65)), 24000), "refuse"),
        ("0 channels", wav(np.zeros(4000), 24000, channels=0, block_align=2), "refuse"),
        ("block align 0", wav(np.zeros(4000), 24000, block_align=0), "either"),
        ("format tag 0x1234", wav(np.zeros(4000), 24000, fmt_tag=0x1234), "refuse"),
        ("data size 4 GiB, 8 kB present", wav(np.zeros(4000), 24000, data_size=0xFFFFFFFF), "either"),
        ("data size odd", wav(np.zeros(4000), 24000, data_size=7999), "either"),
    ):
        for command in ("encode", "denoise"):
            out = "out.aec" if command == "encode" else "out.wav"
            check = check_aec(out, "audio", sample_rate=24000) if command == "encode" else check_wav_rate(out, 24000)
            expect, why = expected, "a WAV header that misstates its data: the samples present are read"
            if expect == "encode: refuse":  # the codec codes up to 8 channels, denoising any the reader takes (64)
                expect, why = ("refuse", "") if command == "encode" else ("legal", "denoise takes up to 64 channels")
            cases.append(Case(kind, f"WAV {label} ({command})", [command, "in.wav", "-o", out], {"in.wav": data},
                              expect=expect, why=why,
                              check=check, outputs=(out,)))
    # Empty files, folders, FIFOs, devices and standard input.
    for name, command, audio in (("in.png", "encode", False), ("in.wav", "encode", True), ("in.aec", "decode", False),
                                 ("in.png", "denoise", False), ("in.flac", "denoise", True), ("in.png", "inpaint", False),
                                 ("in.wav", "inpaint", True), ("in", "encode", False)):
        add(f"empty {name} ({command})", command, name, b"", audio=audio)
        add(f"a folder named {name} ({command})", command, name, DIR, audio=audio)
        add(f"a FIFO named {name} ({command})", command, name, FIFO, audio=audio)
        add(f"missing {name} ({command})", command, name, None, audio=audio)
    cases.append(Case(kind, "empty .aec (info)", ["info", "in.aec"], {"in.aec": b""}))
    cases.append(Case(kind, "a folder (info)", ["info", "in.aec"], {"in.aec": DIR}))
    cases.append(Case(kind, "a FIFO (info)", ["info", "in.aec"], {"in.aec": FIFO}))
    for device in ("/dev/zero", "/dev/urandom", "/dev/null", "/dev/full"):
        for name, command, audio in (("in.png", "encode", False), ("in.aec", "decode", False), ("in.png", "denoise", False),
                                     ("in.wav", "inpaint", True), ("in.wav", "encode", True)):
            add(f"a link to {device} ({command} {name})", command, name, Link(device), audio=audio)
        cases.append(Case(kind, f"a link to {device} (info)", ["info", "in.aec"], {"in.aec": Link(device)}))
    cases.append(Case(kind, "a link to a link to /dev/zero", ["encode", "in.png", "-o", "out.aec"],
                      {"zero": Link("/dev/zero"), "in.png": Link("zero")}))
    cases.append(Case(kind, "a symlink loop", ["encode", "in.png", "-o", "out.aec"], {"in.png": Link("in.png")}))
    cases.append(Case(kind, "a dangling link", ["encode", "in.png", "-o", "out.aec"], {"in.png": Link("nowhere.png")}))
    for command, extra, out in (("encode", [], "out.aec"), ("decode", [], "out.png"), ("denoise", [], "out.png"),
                                ("inpaint", ["--gap", "0-0.1"], "out.wav"), ("info", [], None)):
        args = [command, "-", *([] if out is None else ["-o", out]), *extra]
        cases.append(Case(kind, f"stdin /dev/zero ({command})", args, stdin=ZERO_DEVICE))
        cases.append(Case(kind, f"stdin endless zeros through a pipe ({command})", args, stdin=ZeroPipe()))
        for _ in range(2):
            cases.append(Case(kind, f"stdin random bytes ({command})", args, stdin=rng.bytes(int(rng.integers(1, 20000)))))
        cases.append(Case(kind, f"stdin empty ({command})", args, stdin=b""))
    cases.append(Case(kind, "stdin PNG magic then endless zeros (encode)", ["encode", "-", "-o", "out.aec"],
                      stdin=ZeroPipe(b"\x89PNG\r\n\x1a\n")))
    cases.append(Case(kind, "stdin AEC magic then endless zeros (decode)", ["decode", "-", "-o", "out.png"],
                      stdin=ZeroPipe(MAGIC)))
    cases.append(Case(kind, "stdin a PNG bomb (encode)", ["encode", "-", "-o", "out.aec"], stdin=one_bit_png(1 << 22, 1)))
    cases.append(Case(kind, "stdin a patched JPEG (denoise)", ["denoise", "-", "-o", "out.png"],
                      stdin=jpeg_claiming(16384, 16384)))
    for name in ("\x1b]0;owned\x07\x1b[2J.png", "\x9b31m.png", "a\nb.png", "\u202egnp.exe"):
        cases.append(Case(kind, f"missing file named {ascii(name)}", ["encode", name, "-o", "out.aec"]))
    cases.append(Case(kind, "missing file named with invalid UTF-8", ["encode", b"\xff\xfe\x1b[2J.png", "-o", "out.aec"]))
    cases.append(Case(kind, "image file named with escapes, refused for its content",
                      ["encode", "\x1b[2J.png", "-o", "out.aec"], {"\x1b[2J.png": rng.bytes(500)}))
    return cases


# --- generators: options ------------------------------------------------------------------------


def option_cases(fx: Fixtures, rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []
    kind = "options"
    img = {"in.png": fx.bytes["small.png"]}
    aud = {"in.wav": fx.bytes["speech.wav"]}

    def add(label, args, files, **kw):
        cases.append(Case(kind, label, args, files, **kw))

    bad_numbers = ["nan", "NaN", "inf", "-inf", "1e309", "", " ", "abc", "0x10", "1,5", "--", "½", "1e", "50%",
                   "\x1b[2J", "5 0"]
    bad_quality = bad_numbers + ["0", "-1", "0.999", "100.001", "101", "1e9", "-1e-300", "-0"]
    bad_quality += [f"{v:.6g}" for v in rng.uniform(-1e6, 1, 6)] + [f"{v:.6g}" for v in rng.uniform(100.0001, 1e6, 6)]
    for q in bad_quality:
        add(f"encode --quality {q!r}", ["encode", "in.png", "-o", "out.aec", "--quality", q], img)
    for q in ("nan", "0", "101", "abc"):
        add(f"audio encode --quality {q!r}", ["encode", "in.wav", "-o", "out.aec", "-q", q], aud)
    for v in bad_numbers[:10] + ["0", "-1", "-0.5"]:
        add(f"encode --bpp {v!r}", ["encode", "in.png", "-o", "out.aec", "--bpp", v], img)
    for v in bad_numbers[:10] + ["0", "-1", "-0.5"]:
        add(f"encode --kbps {v!r}", ["encode", "in.wav", "-o", "out.aec", "--kbps", v], aud)
    out_of_reach = "a rate target out of reach codes at the lowest quality, with a warning (docs/cli.md, exit codes)"
    for unit, v, files, media in (("--bpp", "1e-9", img, "image"), ("--bpp", "1e-300", img, "image"),
                                  ("--kbps", "1e-6", aud, "audio"), ("--kbps", "0.01", aud, "audio")):
        add(f"encode {unit} {v!r}", ["encode", next(iter(files)), "-o", "out.aec", unit, v], files, expect="legal",
            why=out_of_reach, check=check_aec("out.aec", media), outputs=("out.aec",))
    add("--bpp for audio", ["encode", "in.wav", "-o", "out.aec", "--bpp", "1"], aud)
    add("--kbps for an image", ["encode", "in.png", "-o", "out.aec", "--kbps", "6"], img)
    add("--quality and --bpp", ["encode", "in.png", "-o", "out.aec", "-q", "50", "--bpp", "1"], img)
    add("--quality and --kbps", ["encode", "in.wav", "-o", "out.aec", "-q", "50", "--kbps", "6"], aud)
    for v in ("-1", "256", "nan", "inf", "x", "1e309"):
        add(f"denoise --sigma {v!r}", ["denoise", "in.png", "-o", "out.png", "--sigma", v], img)
    for v in ("-0.01", "1.01", "nan", "x", "-inf"):
        add(f"denoise --strength {v!r}", ["denoise", "in.png", "-o", "out.png", "--strength", v], img)
    # --gap: malformed, empty, reversed, too long, out of the file, not finite.
    gaps = ["", ",", " ", "abc", "1", "1:", ":1", "1:2:3", "1.2.3:2", "0.2:0.1", "0.1:0.1", "-0.5:0.1", "-1:-0.5",
            "0:1.5", "0:2", "nan:1", "0:nan", "inf:inf", "0:inf", "1e309:1e309", "5:5.5", "2:2.5", "100:100.5",
            "0:1e-9", "0x1:0x2", "0.1:0.2,0.3", "0.1:0.2,,abc", "1;2", "\x1b[2J", "0.1 : 0.2 : 0.3", "٠:٠٫١"]
    for _ in range(8):
        a = float(rng.uniform(-5, 5))
        b = a + float(rng.choice([rng.uniform(-3, 0), rng.uniform(1.01, 50)]))
        gaps.append(f"{a:.3f}:{b:.3f}")
    for g in gaps:
        add(f"inpaint --gap {g!r}", ["inpaint", "in.wav", "-o", "out.wav", "--gap", g], aud)
    add("inpaint --gap with 5000 spans, one bad", ["inpaint", "in.wav", "-o", "out.wav", "--gap",
                                                   ",".join(["0.1:0.2"] * 4999 + ["0.5:0.4"])], aud)
    add("inpaint --gap for an image", ["inpaint", "in.png", "-o", "out.png", "--gap", "0:0.1"], img)
    add("inpaint --mask for audio", ["inpaint", "in.wav", "-o", "out.wav", "--mask", "m.png"],
        {**aud, "m.png": fx.bytes["mask.png"]})
    add("inpaint with --mask and --gap", ["inpaint", "in.png", "-o", "out.png", "--mask", "m.png", "--gap", "0:0.1"],
        {**img, "m.png": fx.bytes["mask.png"]})
    add("inpaint with neither", ["inpaint", "in.png", "-o", "out.png"], img)
    # --mask: wrong size, not an image, bombs, special files.
    masks = {"missing": None, "wrong size": png(np.zeros((10, 10), np.uint8)), "one pixel off": png(np.zeros((64, 95), np.uint8)),
             "transposed": png(np.zeros((96, 64), np.uint8)), "empty": b"", "random bytes": rng.bytes(300),
             "truncated": fx.bytes["mask.png"][:60], "a folder": DIR, "a FIFO": FIFO, "a link to /dev/zero": Link("/dev/zero"),
             "a PNG bomb": png_claiming(100_000, 100_000), "a 1-bit bomb": one_bit_png(1 << 22, 1),
             "a patched JPEG": jpeg_claiming(16384, 16384), "an .aec file": fx.bytes["small.aec"],
             "a WAV": fx.bytes["speech.wav"], "a dangling link": Link("nowhere.png")}
    for label, data in masks.items():
        files = dict(img)
        if data is not None:
            files["m.png"] = data
        add(f"inpaint --mask {label}", ["inpaint", "in.png", "-o", "out.png", "--mask", "m.png"], files)
    add("inpaint --mask is the output (--force)", ["inpaint", "in.png", "-o", "m.png", "--mask", "m.png", "--force"],
        {**img, "m.png": fx.bytes["mask.png"]})
    for v in ("8", "32", "", "float64"):
        add(f"decode --sample-format {v!r}", ["decode", "in.aec", "-o", "out.wav", "--sample-format", v],
            {"in.aec": fx.bytes["speech-q1.aec"]})
    add("decode --sample-format for an image", ["decode", "in.aec", "-o", "out.png", "--sample-format", "16"],
        {"in.aec": fx.bytes["small.aec"]})
    add("decode --sample-format 24 to an image name", ["decode", "in.aec", "-o", "out.png", "--sample-format", "24"],
        {"in.aec": fx.bytes["speech-q1.aec"]})
    for v in ("tpu", "", "CUDA", "cuda:0", "cpu;rm"):
        add(f"--device {v!r}", ["encode", "in.png", "-o", "out.aec", "--device", v], img)
    import importlib.util
    has_cuda = False
    if importlib.util.find_spec("torch") is not None:
        has_cuda = subprocess.run([sys.executable, "-c", "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)"],
                                  capture_output=True).returncode == 0
    if not has_cuda:
        add("--device cuda without a GPU (encode)", ["encode", "in.png", "-o", "out.aec", "--device", "cuda"], img)
        add("--device cuda without a GPU (decode)", ["decode", "in.aec", "-o", "out.png", "--device", "cuda"],
            {"in.aec": fx.bytes["small.aec"]})
        add("--device cuda without a GPU (denoise)", ["denoise", "in.png", "-o", "out.png", "--device", "cuda"], img)
    add("encode --model '' (the default)", ["encode", "in.png", "-o", "out.aec", "--model", ""], img, expect="either",
        why="an empty --model means the default model", check=check_aec("out.aec", "image", width=96, height=64),
        outputs=("out.aec",))
    for v in ("nope", "\x1b[2J", "../../etc/passwd", "/etc/passwd", "audio-conv-lstm", "image-denoise-unet", "x" * 5000):
        add(f"encode --model {ascii(v)[:30]}", ["encode", "in.png", "-o", "out.aec", "--model", v], img)
    add("encode --model not UTF-8", ["encode", "in.png", "-o", "out.aec", "--model", b"\xff\xfe"], img)
    add("audio encode --model image-hyperprior", ["encode", "in.wav", "-o", "out.aec", "--model", "image-hyperprior"], aud)
    for args, label in ((["encode", "in.png"], "encode without -o"), (["encode", "-o", "out.aec"], "encode without input"),
                        (["encode", "in.png", "-o", "out.aec", "--frobnicate"], "unknown option"),
                        (["encode", "in.png", "-o", "out.aec", "-q"], "-q without a value"),
                        (["frobnicate"], "unknown command"), (["encode", "in.png", "-o", "out.aec", "--json=1"], "--json=1"),
                        (["decode", "in.aec", "-o", "out.gif"], "decode to .gif"),
                        (["decode", "in.aec", "-o", "out.txt"], "decode to .txt"),
                        (["decode", "in.aec", "-o", "out"], "decode to no extension"),
                        (["decode", "in.aec", "-o", "out.wav"], "decode an image to .wav"),
                        (["denoise", "in.png", "-o", "out.aec"], "denoise to .aec"),
                        (["denoise", "in.png", "-o", "out.mp3"], "denoise to .mp3"),
                        (["encode", "in.png", "in.png", "-o", "."], "the same input twice"),
                        (["encode", "in.png", "dir/in.png", "-o", "."], "two inputs, one stem"),
                        (["encode", "in.png", "in.wav", "-o", "-"], "two inputs to stdout"),
                        (["encode", "in.png", "in.wav", "-o", "nowhere"], "two inputs to a missing folder")):
        files = {**img, **aud, "in.aec": fx.bytes["small.aec"], "dir/in.png": fx.bytes["small.png"]}
        add(label, args, files)
    add("encode -o '' (an empty output name)", ["encode", "in.png", "-o", ""], img)
    add("decode -o '' (an empty output name)", ["decode", "in.aec", "-o", ""], {"in.aec": fx.bytes["small.aec"]})
    add("decode audio to .png", ["decode", "in.aec", "-o", "out.png"], {"in.aec": fx.bytes["speech-q1.aec"]})
    add("decode audio to .jpg", ["decode", "in.aec", "-o", "out.jpg"], {"in.aec": fx.bytes["speech-q1.aec"]})
    return cases


# --- generators: training inputs -----------------------------------------------------------------


def training_cases(fx: Fixtures, rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []
    kind = "training"
    data = dict(fx.train_images)
    audio = {**fx.train_audio, **fx.train_noise}
    base = ["--steps", "1", "--threads", "1", "--device", "cpu", "--workers", "0", "--out", "run"]

    def train(label, task, extra, files, **kw):
        folder = ["--data", "speech"] if task in ("audio-codec", "audio-denoise") else ["--data", "data"]
        noise = ["--noise-data", "noise"] if task == "audio-denoise" else []
        inputs = audio if task in ("audio-codec", "audio-denoise") else data
        recipe = files.get("r.json", b"") if isinstance(files.get("r.json"), bytes) else b""
        # The CLI's options override a recipe: pass none for a key the recipe sets (its value is the test).
        options = [a for i in range(0, len(base), 2) if f'"{base[i][2:]}"'.encode() not in recipe
                   for a in base[i : i + 2]]
        cases.append(Case(kind, label, ["train", task, *folder, *noise, *options, *extra], {**inputs, **files}, **kw))

    recipes: dict[str, bytes] = {
        "random bytes": rng.bytes(500), "invalid UTF-8": b'{"lr": "\xff"}', "not JSON": b"{lr: 1}",
        "empty": b"", "a list": b"[1, 2]", "a string": b'"recipe"', "a number": b"5", "null": b"null", "true": b"true",
        "unknown key": b'{"frobnicate": 1}', "unknown model key": b'{"model": {"K": 3}}', "model a list": b'{"model": [1]}',
        "NaN lr": b'{"lr": NaN}', "Infinity clip": b'{"clip": Infinity}', "lr a string": b'{"lr": "0.1"}',
        "batch_size 0": b'{"batch_size": 0}', "batch_size 10^6": b'{"batch_size": 1000000}',
        "batch_size true": b'{"batch_size": true}', "batch_size 1.5": b'{"batch_size": 1.5}',
        "steps -1": b'{"steps": -1}', "crop 8": b'{"crop": 8}', "crop 10^5": b'{"crop": 100000}',
        "batch 4096 x crop 4096": b'{"batch_size": 4096, "crop": 4096}', "batch 64 x crop 1024": b'{"batch_size": 64, "crop": 1024}',
        "model N 10^6": b'{"model": {"N": 1000000, "M": 1000000}}',
        "levels 10^9": b'{"model": {"levels": 1000000000}}', "lr -1": b'{"lr": -1}', "warmup 1e300": b'{"warmup": 1e300}',
        "workers 10^6": b'{"workers": 1000000}', "threads 10^6": b'{"threads": 1000000}', "device tpu": b'{"device": "tpu"}',
        "amp maybe": b'{"amp": "maybe"}', "init 5": b'{"init": 5}', "init missing file": b'{"init": "nope.pt"}',
        "init /dev/zero": b'{"init": "/dev/zero"}', "nested 100000 deep": b'{"x": ' + b"[" * 100000 + b"]" * 100000 + b"}",
        "nested 100000 deep, unclosed": b"[" * 100000,
        "5000-digit integer": b'{"steps": ' + b"9" * 5000 + b"}", "over 1 MiB": b'{"_comment": "' + b"x" * (1 << 20) + b'"}',
        "comment only, then steps 0": b'{"_c": 1, "steps": 0}', "log_every 0": b'{"log_every": 0}',
        "seed a string": b'{"seed": "x"}', "seed 2^70": b'{"seed": 1180591620717411303424}',
        "escape in a key": b'{"\\u001b[2Jx": 1}', "lone surrogate key": b'{"\\ud800": 1}',
        "ema 1": b'{"ema": 1}', "ema -0.5": b'{"ema": -0.5}', "ema a string": b'{"ema": "0.999"}',
        "slices not summing to M": b'{"model": {"slices": [64, 63]}}', "slices a string": b'{"model": {"slices": "ab"}}',
        "slices 0": b'{"model": {"slices": [0, 128]}}', "slices of floats": b'{"model": {"slices": [64.5, 63.5]}}',
        "context_channels 10^6": b'{"model": {"slices": [64, 64], "context_channels": 1000000}}',
        "context_channels 0": b'{"model": {"slices": [128], "context_channels": 0}}',
        "refine_channels 10^6": b'{"model": {"refine_channels": 1000000}}',
        "refine_channels -1": b'{"model": {"refine_channels": -1}}',
        "high_levels 1000": b'{"model": {"high_levels": 1000}}', "high_levels a string": b'{"model": {"high_levels": "2"}}',
    }
    for label, recipe in recipes.items():
        train(f"image-codec recipe: {label}", "image-codec", ["--config", "r.json"], {"r.json": recipe})
    for label in ("a list", "batch_size 10^6", "nested 100000 deep"):
        train(f"audio-codec recipe: {label}", "audio-codec", ["--config", "r.json"], {"r.json": recipes[label]})
    for task in ("image-denoise", "image-inpaint", "audio-denoise"):
        for label in ("unknown key", "model N 10^6"):
            train(f"{task} recipe: {label}", task, ["--config", "r.json"], {"r.json": recipes[label]})
        train(f"{task} recipe for another task", task, ["--config", "r.json"],
              {"r.json": json.dumps({"task": "image-denoise" if task != "image-denoise" else "audio-denoise"}).encode()})
        train(f"{task} recipe degrade unknown key", task, ["--config", "r.json"], {"r.json": b'{"degrade": {"zzz": 1}}'})
    exclusions = {"a string": '"water"', "numbers": "[1, 2]", "an empty pattern": '[""]', "a pattern matching nothing":
                  '["nothing-*"]', "every file": '["*"]', "65 patterns": json.dumps(["x*"] * 65),
                  "a 100000-character pattern": json.dumps(["*" * 100000]), "an object": '{"a": 1}'}
    for label, value in exclusions.items():
        train(f"audio-denoise recipe exclude_noise {label}", "audio-denoise", ["--config", "r.json"],
              {"r.json": ('{"task": "audio-denoise", "degrade": {"exclude_noise": %s}}' % value).encode()})
    degrade = {"noise_speed a string": '"noise_speed": "fast"', "noise_speed reversed": '"noise_speed": [2, 1]',
               "noise_speed 100x": '"noise_speed": [1, 100]', "noise_speed NaN": '"noise_speed": [NaN, 1]',
               "noise_kinds 8 weights": '"noise_kinds": [1, 1, 1, 1, 1, 1, 1, 1]',
               "noise_kinds all 0": '"noise_kinds": [0, 0, 0, 0, 0, 0, 0]', "noise_kinds empty": '"noise_kinds": []'}
    for label, value in degrade.items():
        train(f"audio-denoise recipe {label}", "audio-denoise", ["--config", "r.json"],
              {"r.json": ('{"task": "audio-denoise", "degrade": {%s}}' % value).encode()})
    for label, value in {"suppression_loss -1": '"suppression_loss": -1', "suppression_loss a string": '"suppression_loss": "x"',
                         "floor_features a string": '"model": {"floor_features": "yes"}',
                         "floor_features 10^6": '"model": {"floor_features": 1000000}',
                         "conv_channels -1": '"model": {"conv_channels": -1}',
                         "conv_channels 10^6": '"model": {"conv_channels": 1000000}'}.items():
        train(f"audio-denoise recipe {label}", "audio-denoise", ["--config", "r.json"],
              {"r.json": ('{"task": "audio-denoise", %s}' % value).encode()})
    audio_recipes = {"segment_seconds 10^6": b'{"segment_seconds": 1000000}',
                     "batch 4096 x 60 s": b'{"batch_size": 4096, "segment_seconds": 60}',
                     "sample_rate 1": b'{"model": {"sample_rate": 1}}', "strides 0": b'{"model": {"strides": [0, 0]}}'}
    for label, recipe in audio_recipes.items():
        train(f"audio-codec recipe: {label}", "audio-codec", ["--config", "r.json"], {"r.json": recipe})
    for label, spec in (("a folder", DIR), ("a FIFO", FIFO), ("a link to /dev/zero", Link("/dev/zero")), ("missing", None)):
        files = {} if spec is None else {"r.json": spec}
        train(f"image-codec recipe {label}", "image-codec", ["--config", "r.json"], files)

    # Crafted pickles: --init, a recipe's "init", --resume and export, every trainer.
    evil = fx.evil()
    tasks = ("image-codec", "audio-codec", "image-denoise", "image-inpaint", "audio-denoise")
    names = list(evil)
    for i, task in enumerate(tasks):
        payload = names[i % len(names)]
        train(f"{task} --init crafted .pt ({payload})", task, ["--init", "evil.pt"], {"evil.pt": evil[payload]})
        train(f"{task} --resume crafted checkpoint.pt ({payload})", task, ["--resume"],
              {"run/checkpoint.pt": evil[names[(i + 1) % len(names)]]})
        cases.append(Case(kind, f"{task} export crafted .pt ({names[(i + 2) % len(names)]})",
                          ["export", task, "--checkpoint", "evil.pt", "--out", "models", "--version", "1"],
                          {"evil.pt": evil[names[(i + 2) % len(names)]], "models": DIR}))
    for payload in names:
        train(f"image-codec recipe init crafted .pt ({payload})", "image-codec", ["--config", "r.json"],
              {"r.json": b'{"init": "evil.pt"}', "evil.pt": evil[payload]})
    train("image-denoise recipe init crafted .pt, with --resume", "image-denoise", ["--config", "r.json", "--resume"],
          {"r.json": b'{"init": "evil.pt"}', "evil.pt": evil[names[0]], "run/checkpoint.pt": evil[names[1]]})
    # --init files that are not weights.
    tensors = {"w": np.zeros(4, np.float32)}
    card = json.dumps({"architecture": "image-hyperprior", "trained": {"steps": 1}}).encode()
    inits = {
        "w.safetensors: random bytes": {"w.safetensors": rng.bytes(300)},
        "w.safetensors: header length 2^63": {"w.safetensors": safetensors_bytes(tensors, length=1 << 63)},
        "w.safetensors: header length 2^32": {"w.safetensors": safetensors_bytes(tensors, length=1 << 32)},
        "w.safetensors: header not JSON": {"w.safetensors": safetensors_bytes(tensors, header=b"{nope" + b" " * 20)},
        "w.safetensors: offsets past the end": {"w.safetensors": safetensors_bytes(
            tensors, header=json.dumps({"w": {"dtype": "F32", "shape": [10**9], "data_offsets": [0, 4 * 10**9]}}).encode())},
        "w.safetensors: empty": {"w.safetensors": b""},
        "w.safetensors: no card": {"w.safetensors": safetensors_bytes(tensors)},
        "w.safetensors: card not JSON": {"w.safetensors": safetensors_bytes(tensors), "w.json": b"{"},
        "w.safetensors: card of another model": {"w.safetensors": safetensors_bytes(tensors),
                                                 "w.json": json.dumps({"architecture": "audio-conv-lstm",
                                                                       "trained": {"steps": 1}}).encode()},
        "w.safetensors: card is a folder": {"w.safetensors": safetensors_bytes(tensors), "w.json": DIR},
        "w.safetensors: card a link to /dev/zero": {"w.safetensors": safetensors_bytes(tensors), "w.json": Link("/dev/zero")},
        "w.safetensors: card ok, tensors of another shape": {"w.safetensors": safetensors_bytes(tensors), "w.json": card},
        "w.pt: random bytes": {"w.pt": rng.bytes(300)},
        "w.pt: a zip cut short": {"w.pt": checkpoint_bytes({"model": {}, "step": 0})[:200]},
        "w.pt: a tensor": {"w.pt": checkpoint_bytes(__import__("torch").zeros(3))},
        "w.pt: a dict without weights": {"w.pt": checkpoint_bytes({"step": 0})},
        "w.pt: another trainer's checkpoint": {"w.pt": checkpoint_bytes({"model": {}, "step": 0,
                                                                         "config": {"model": {"strides": [2]}}})},
        "w.pt: weights of another shape": {"w.pt": checkpoint_bytes({"model": {"w": __import__("torch").zeros(2)}, "step": 0,
                                                                     "config": {"model": {"N": 8, "M": 8}}})},
        "w.pt: weights of the right kind, ema of another shape": {"w.pt": checkpoint_bytes({
            "model": {"w": __import__("torch").zeros(2)}, "ema": {"w": __import__("torch").zeros(3)}, "step": 0,
            "config": {"model": {"N": 8, "M": 8}}})},
        "w.pt: ema a list": {"w.pt": checkpoint_bytes({"model": {}, "ema": [1, 2], "step": 0, "config": {}})},
        "w.txt": {"w.txt": b"weights"},
        "w.pt: a folder": {"w.pt": DIR},
        "w.pt: a FIFO": {"w.pt": FIFO},
        "w.pt: a link to /dev/zero": {"w.pt": Link("/dev/zero")},
        "w.pt: missing": {},
    }
    for label, files in inits.items():
        name = label.split(":")[0]
        train(f"image-codec --init {label}", "image-codec", ["--init", name], files)
    # Run folders, data folders and numeric options.
    for label, extra, files, task in (
        ("--out is a file", [], {"run": b"x"}, "image-codec"),
        ("--out holds a run", [], {"run/checkpoint.pt": b"x", "run/log.jsonl": b"{}\n"}, "image-codec"),
        ("--resume, checkpoint.pt is a folder", ["--resume"], {"run/checkpoint.pt": DIR}, "image-codec"),
        ("--resume, checkpoint.pt a link to /dev/zero", ["--resume"], {"run/checkpoint.pt": Link("/dev/zero")}, "image-codec"),
        ("--resume, checkpoint.pt random", ["--resume"], {"run/checkpoint.pt": rng.bytes(1000)}, "audio-codec"),
        ("--steps 0", ["--steps", "0"], {}, "image-codec"),
        ("--steps x", ["--steps", "x"], {}, "image-codec"), ("--threads -1", ["--threads", "-1"], {}, "image-codec"),
        ("--threads 10^6", ["--threads", "1000000"], {}, "image-codec"), ("--workers 10^6", ["--workers", "1000000"], {},
                                                                           "image-codec"),
        ("--seed 2^70", ["--seed", str(2**70)], {}, "image-codec"), ("--amp x", ["--amp", "x"], {}, "image-codec"),
        ("--noise-data for image-codec", ["--noise-data", "data"], {}, "image-codec"),
        ("--val-data missing", ["--val-data", "nowhere"], {}, "image-denoise"),
    ):
        train(label, task, extra, files)
    for label, data_spec in (("missing", None), ("a file", b"x"), ("empty", DIR), ("a FIFO", FIFO),
                             ("a link to /dev/zero", Link("/dev/zero"))):
        files = {} if data_spec is None else {"d": data_spec}
        cases.append(Case(kind, f"image-codec --data {label}",
                          ["train", "image-codec", "--data", "d", *base], files))
    train("--resume where there is no checkpoint yet", "image-codec", ["--resume"], {"run": DIR}, expect="legal",
          why="--resume starts a run where there is none yet (chunked runs repeat one command)",
          check=lambda folder, r: None if (folder / "run" / "checkpoint.pt").is_file() else "no checkpoint.pt",
          outputs=("run/",))
    cases.append(Case(kind, "image-codec --data holds junk only", ["train", "image-codec", "--data", "d", *base],
                      {"d/a.png": rng.bytes(100), "d/b.png": b"", "d/c.jpg": jpeg_claiming(16384, 16384)}))
    cases.append(Case(kind, "image-codec --data holds a 1-bit bomb", ["train", "image-codec", "--data", "d", *base],
                      {"d/a.png": one_bit_png(16384, 16384)}))
    cases.append(Case(kind, "audio-codec --data holds junk only", ["train", "audio-codec", "--data", "d", *base],
                      {"d/a.wav": rng.bytes(100), "d/b.flac": b""}))
    # export: names, versions and checkpoints.
    ck = {"ck.pt": checkpoint_bytes({"model": {}, "step": 0}), "models": DIR}
    for name in ("../x", "", "UPPER", "\x1b[2J", "x" * 300, ".."):
        cases.append(Case(kind, f"export --name {ascii(name)[:20]}",
                          ["export", "image-codec", "--checkpoint", "ck.pt", "--out", "models", "--version", "1", "--name", name],
                          ck))
    for v in ("0", "x", str(2**70)):
        cases.append(Case(kind, f"export --version {v}",
                          ["export", "image-codec", "--checkpoint", "ck.pt", "--out", "models", "--version", v], ck))
    for label, spec in (("missing", None), ("a folder", DIR), ("a FIFO", FIFO), ("a link to /dev/zero", Link("/dev/zero")),
                        ("random bytes", rng.bytes(500)), ("a dict without weights", checkpoint_bytes({"step": 0})),
                        ("empty weights", ck["ck.pt"])):
        files = {"models": DIR} if spec is None else {"c.pt": spec, "models": DIR}
        cases.append(Case(kind, f"export --checkpoint {label}",
                          ["export", "image-codec", "--checkpoint", "c.pt", "--out", "models", "--version", "1"], files))
    return cases


# --- generators: output paths -------------------------------------------------------------------


def output_cases(fx: Fixtures, rng: np.random.Generator) -> list[Case]:
    cases: list[Case] = []
    kind = "output-paths"
    rate = fx.rate
    jobs = {  # name: (args before -o, input files, output suffix, check of an accepted output)
        "encode image": (["encode", "in.png", "-q", "20"], {"in.png": fx.bytes["small.png"]}, ".aec",
                         lambda p: check_aec(p, "image", width=96, height=64)),
        "encode audio": (["encode", "in.wav", "-q", "5"], {"in.wav": fx.bytes["speech.wav"]}, ".aec",
                         lambda p: check_aec(p, "audio", frames=2 * rate)),
        "decode image": (["decode", "in.aec"], {"in.aec": fx.bytes["small.aec"]}, ".png", lambda p: check_png(p, 96, 64)),
        "decode audio": (["decode", "in.aec"], {"in.aec": fx.bytes["speech-q1.aec"]}, ".wav",
                         lambda p: check_wav(p, rate, 1, 4 * rate)),
        "denoise image": (["denoise", "in.png"], {"in.png": fx.bytes["small.png"]}, ".png", lambda p: check_png(p, 96, 64)),
        "denoise audio": (["denoise", "in.wav"], {"in.wav": fx.bytes["speech.wav"]}, ".wav",
                          lambda p: check_wav(p, rate, 1, 2 * rate)),
        "inpaint image": (["inpaint", "in.png", "--mask", "mask.png"],
                          {"in.png": fx.bytes["small.png"], "mask.png": fx.bytes["mask.png"]}, ".png",
                          lambda p: check_png(p, 96, 64)),
        "inpaint audio": (["inpaint", "in.wav", "--gap", "0.5-0.6"], {"in.wav": fx.bytes["speech.wav"]}, ".wav",
                          lambda p: check_wav(p, rate, 1, 2 * rate)),
    }

    def add(label, job, out, files=None, force=False, expect="refuse", why="", check=None, outputs=(), **kw):
        args, inputs, _, _ = jobs[job]
        cases.append(Case(kind, f"{job}: {label}", [*args, "-o", out, *(["--force"] if force else [])],
                          {**inputs, **(files or {})}, expect=expect, why=why, check=check, outputs=outputs, **kw))

    for job, (args, inputs, suffix, ok) in jobs.items():
        out = "out" + suffix
        add("-o a FIFO", job, out, {out: FIFO})
        add("-o a FIFO, --force", job, out, {out: FIFO}, force=True)
        add("-o a link to /dev/null, --force", job, out, {out: Link("/dev/null")}, force=True)
        add("-o a dangling link", job, out, {out: Link("target" + suffix)})
        add("-o an existing file", job, out, {out: b"precious"})
        add("-o in a missing folder", job, "nowhere/" + out)
        add("-o under a file", job, "file/" + out, {"file": b"x"})
        add("-o a folder in /proc", job, "/proc/" + out)
        add("-o is the input, --force", job, next(iter(inputs)), force=True)
        add("-o a name too long", job, "x" * 300 + suffix)
        add("-o through a symlink loop", job, "loop/" + out, {"loop": Link("loop")})
    for job in ("encode image", "decode image", "denoise audio", "inpaint image"):
        args, inputs, suffix, ok = jobs[job]
        out = "out" + suffix
        add("-o a link to /dev/full, --force", job, out, {out: Link("/dev/full")}, force=True)
        add("-o a link to /dev/zero, --force", job, out, {out: Link("/dev/zero")}, force=True)
        add("-o a link to a FIFO, --force", job, out, {out: Link("fifo"), "fifo": FIFO}, force=True)
        src = next(iter(inputs))
        add("-o a hard link to the input, --force", job, "hard" + Path(src).suffix, {"hard" + Path(src).suffix: Hard(src)},
            force=True)
        add("-o a symlink to the input, --force", job, "soft" + Path(src).suffix, {"soft" + Path(src).suffix: Link(src)},
            force=True)
        add("-o the input by another path, --force", job, f"sub/../{src}", {"sub": DIR}, force=True)
        add("-o the input as ./, --force", job, f"./{src}", force=True)
        add("-o a folder in /sys", job, "/sys/" + out)
        if os.geteuid() != 0:  # root writes into any folder: there /proc and /sys stand in for read-only ones
            add("-o in a read-only folder", job, "ro/" + out, {"ro": READ_ONLY_DIR})
        add("-o a dangling link, --force", job, out, {out: Link("target" + suffix)}, force=True, expect="legal",
            why="--force replaces a dangling link with a file (never writing through it)",
            check=check_all(ok(out), check_regular(out), check_absent("target" + suffix)), outputs=(out,))
        add("-o an existing file, --force", job, out, {out: b"old"}, force=True, expect="legal",
            why="--force replaces an existing regular file", check=ok(out), outputs=(out,))
        add("-o an existing folder", job, "dir", {"dir": DIR}, expect="legal",
            why="one input into an existing folder is written there under its own name",
            check=ok(f"dir/in{suffix}"), outputs=(f"dir/in{suffix}",))
        name = "\x1b]0;owned\x07\x1b[2J" + suffix
        add("-o a name with escape sequences", job, name, expect="legal",
            why="any file name is writable; the message escapes it", check=ok(name), outputs=(name,))
    for job in ("encode image", "decode image", "denoise image"):
        args, inputs, suffix, ok = jobs[job]
        name = os.fsdecode(b"\xff\xfe" + suffix.encode())
        add("-o a name that is not UTF-8", job, name, expect="legal", why="any file name is writable; the message escapes it",
            check=ok(name), outputs=(name,))
    for job, w in (("decode image", 96), ("denoise image", 96), ("inpaint image", 96)):
        add("-o - (stdout)", job, "-", expect="legal", why="'-o -' writes the file to standard output",
            check=check_stdout_png(w, 64), binary_stdout=True)
    cases.append(Case(kind, "encode image: -o - (stdout)", ["encode", "in.png", "-q", "20", "-o", "-"],
                      {"in.png": fx.bytes["small.png"]}, expect="legal", why="'-o -' writes the file to standard output",
                      check=lambda folder, r: None if r.stdout.startswith(MAGIC) and parse_aec(r.stdout) else "not .aec",
                      binary_stdout=True))
    h, s = fx.aec["small"]
    for label, data in (("truncated", fx.bytes["small.aec"][:-10]), ("random streams", aec(h, [rng.bytes(len(x)) for x in s[:1]] + s[1:]))):
        cases.append(Case(kind, f"decode image: {label} to stdout", ["decode", "in.aec", "-o", "-"], {"in.aec": data},
                          expect="refuse" if label == "truncated" else "either", why="forged streams may decode (to noise)",
                          check=check_stdout_png(96, 64), binary_stdout=True))
    cases.append(Case(kind, "decode audio: damaged to stdout", ["decode", "in.aec", "-o", "-"],
                      {"in.aec": fx.bytes["speech.aec"][:-3]}))
    # Batches into folders.
    cases.append(Case(kind, "encode two inputs into a file", ["encode", "a.png", "b.png", "-o", "out.aec"],
                      {"a.png": fx.bytes["small.png"], "b.png": fx.bytes["small.png"], "out.aec": b"x"}))
    # bench --out: links, foreign results, rows it did not write, inside --data.
    bench = ["bench", "image", "--data", "d", "--out", "o", "--codecs", "jpeg", "--qualities", "50", "--limit", "1"]
    d = {"d/a.png": fx.bytes["small.png"]}
    for label, files in (("points.jsonl a dangling link", {"o/points.jsonl": Link("../outside.jsonl")}),
                         ("points.jsonl a link to a file", {"o/points.jsonl": Link("../outside.jsonl"), "outside.jsonl": b""}),
                         ("results.json a link", {"o/results.json": Link("../mine.json"), "mine.json": b"{}"}),
                         ("results.md a dangling link", {"o/results.md": Link("../mine.md")}),
                         ("a results.json it did not write", {"o/results.json": b'{"mine": true}'}),
                         ("a results.md it did not write", {"o/results.md": b"# my notes\n"}),
                         ("points.jsonl rows missing fields", {"o/points.jsonl": b'{"file": "a.png"}\n{"codec": "jpeg"}\n'}),
                         ("points.jsonl not JSON", {"o/points.jsonl": b"{nope\n"}),
                         ("points.jsonl a FIFO", {"o/points.jsonl": FIFO}),
                         ("--out is a file", {"o": b"x"}), ("--out a link to /dev/null", {"o": Link("/dev/null")})):
        cases.append(Case(kind, f"bench: {label}", bench, {**d, **files}))
    def bench_rows_are_the_data(folder: Path, r: Outcome) -> str | None:
        rows = [json.loads(line) for line in (folder / "d/o/points.jsonl").read_text().splitlines() if line.strip()]
        files = {str(row.get("file")) for row in rows}
        return None if rows and not any("o/" in f or f.endswith(".svg") for f in files) else f"benchmarked {sorted(files)}"

    inside = ["bench", "image", "--data", "d", "--out", "d/o", "--codecs", "jpeg", "--qualities", "50"]
    cases.append(Case(kind, "bench: --out inside --data", inside, dict(d), expect="either",
                      why="bench skips its own --out inside --data", check=bench_rows_are_the_data, outputs=("d/o/",)))
    cases.append(Case(kind, "bench: --out inside --data, rerun over its own plots", inside,
                      {**d, "d/o/rd.png": fx.bytes["small.png"], "d/o/x.png": fx.bytes["small.png"]}, expect="either",
                      why="bench skips its own --out inside --data", check=bench_rows_are_the_data, outputs=("d/o/",)))
    cases.append(Case(kind, "bench: --data missing", ["bench", "image", "--data", "nowhere", "--out", "o"], {}))
    cases.append(Case(kind, "bench: --data empty", ["bench", "image", "--data", "d", "--out", "o"], {"d": DIR}))
    return cases


GENERATORS = {"container": container_cases, "image-header": image_header_cases, "audio-header": audio_header_cases,
              "input-media": media_cases, "options": option_cases, "training": training_cases,
              "output-paths": output_cases}


# --- running ------------------------------------------------------------------------------------


def setup_case(case: Case, folder: Path) -> None:
    folder.mkdir(parents=True)
    later = []
    for rel, spec in case.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, (bytes, bytearray)):
            path.write_bytes(spec)
        elif isinstance(spec, Path):
            shutil.copyfile(spec, path)
        elif spec is DIR or spec is READ_ONLY_DIR:
            path.mkdir(exist_ok=True)
        if not isinstance(spec, (bytes, bytearray, Path)) and spec is not DIR:
            later.append((path, spec))
    for path, spec in later:
        if spec is READ_ONLY_DIR:
            os.chmod(path, 0o555)
        elif spec is FIFO:
            os.mkfifo(path)
        elif isinstance(spec, Link):
            os.symlink(spec.target, path)
        elif isinstance(spec, Hard):
            os.link(folder / spec.source, path)
        else:
            raise TypeError(spec)


def remove_tree(folder: Path) -> None:
    for dirpath, _, _ in os.walk(folder):
        if not os.path.islink(dirpath):
            os.chmod(dirpath, 0o755)
    shutil.rmtree(folder, ignore_errors=True)


def snapshot(folder: Path) -> dict[str, tuple]:
    import hashlib

    seen = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = os.fsdecode(path.relative_to(folder))
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                seen[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                seen[rel] = ("file", st.st_size, st.st_ino, hashlib.sha1(path.read_bytes()).hexdigest())
            elif stat.S_ISDIR(st.st_mode):
                seen[rel] = ("dir",)
            else:
                seen[rel] = ("special", stat.S_IFMT(st.st_mode))
    return seen


def spawn(args: list, cwd: Path, stdin, env: dict) -> Outcome:
    """Run the program; wall time, peak RSS (wait4: this child's own) and a watchdog."""
    stop = threading.Event()
    state: dict = {"killed": None}
    feeder, stdin_file, read_end = None, None, None
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        if stdin is None:
            child_stdin = subprocess.DEVNULL
        elif stdin is ZERO_DEVICE:
            stdin_file = child_stdin = open("/dev/zero", "rb")
        elif isinstance(stdin, ZeroPipe):
            read_end, write_end = os.pipe()
            child_stdin = read_end

            def feed(prefix=stdin.prefix, fd=write_end):
                try:
                    os.write(fd, prefix) if prefix else None
                    zeros = bytes(1 << 16)
                    while not stop.is_set():
                        os.write(fd, zeros)
                except OSError:
                    pass
                finally:
                    os.close(fd)

            feeder = threading.Thread(target=feed, daemon=True)
        else:
            stdin_file = child_stdin = tempfile.TemporaryFile()
            stdin_file.write(stdin)
            stdin_file.seek(0)
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "aecodec", *args], cwd=cwd, stdin=child_stdin, stdout=out,
                                 stderr=err, env=env, start_new_session=True)
        if read_end is not None:
            os.close(read_end)
        if feeder is not None:
            feeder.start()

        def watch():
            status = Path(f"/proc/{child.pid}/status")
            while not stop.wait(0.05):
                over = time.perf_counter() - start > KILL_S
                try:
                    rss_kb = next((int(line.split()[1]) for line in status.read_text().splitlines()
                                   if line.startswith("VmRSS:")), 0)
                except (OSError, ValueError):
                    rss_kb = 0
                if over or rss_kb > KILL_MB * 1024:
                    state["killed"] = "time" if over else "memory"
                    with_suppress(os.killpg, child.pid, signal.SIGKILL)
                    return

        watchdog = threading.Thread(target=watch, daemon=True)
        watchdog.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        stop.set()
        watchdog.join()
        with_suppress(os.killpg, child.pid, signal.SIGKILL)  # anything it left running in its session
        child.returncode = os.waitstatus_to_exitcode(status)
        if feeder is not None:
            feeder.join(timeout=5)
        if stdin_file is not None:
            stdin_file.close()
        out.seek(0)
        err.seek(0)
        return Outcome(child.returncode, out.read(), err.read(), seconds, usage.ru_maxrss / 1024, state["killed"])


def with_suppress(fn, *args) -> None:
    try:
        fn(*args)
    except (ProcessLookupError, PermissionError):
        pass


def unprintable(text: str) -> str:
    return "".join(sorted({c for c in text if not (c.isprintable() or c == "\n")}))


def judge(case: Case, r: Outcome, binary_stdout: bool) -> tuple[str, list[str]]:
    """('refused' | 'accepted' | 'other', problems) of one process's outcome (files aside)."""
    problems = []
    if r.killed:
        problems.append(f"killed by the watchdog ({r.killed})")
    if r.seconds >= LIMIT_S:
        problems.append(f"took {r.seconds:.1f} s")
    if r.peak_mb >= LIMIT_MB:
        problems.append(f"peak RSS {r.peak_mb:.0f} MiB")
    try:
        err = r.stderr.decode("utf-8")
    except UnicodeDecodeError:
        err = r.stderr.decode("utf-8", "replace")
        problems.append("stderr is not UTF-8")
    if "Traceback" in err:
        problems.append("traceback")
    if "internal error" in err:
        problems.append("internal error")
    if unprintable(err):
        problems.append(f"control characters on stderr: {ascii(unprintable(err))}")
    if not binary_stdout:
        try:
            out = r.stdout.decode("utf-8")
            if unprintable(out):
                problems.append(f"control characters on stdout: {ascii(unprintable(out))}")
        except UnicodeDecodeError:
            problems.append("stdout is not UTF-8")
    if r.exit == 1 or (r.exit == 2 and case.kind in ("options", "training")):  # 2: the command line's errors (docs/cli.md)
        if not (err.startswith(ERROR) and err.count("\n") == 1 and err.endswith("\n")):
            problems.append("not exactly one 'aecodec: error:' line")
        if r.stdout:
            problems.append("refused, but printed on stdout")
        return "refused", problems
    if r.exit == 0:
        return "accepted", problems
    problems.append(f"exit code {r.exit}")
    return "other", problems


def run_case(case: Case, folder: Path, tmpdir: Path, env: dict) -> dict:
    setup_case(case, folder)
    before = snapshot(folder)
    shutil.rmtree(tmpdir, ignore_errors=True)
    tmpdir.mkdir()
    r = spawn(case.args, folder, case.stdin, env)
    outcome, problems = judge(case, r, case.binary_stdout)
    seconds, peak = r.seconds, r.peak_mb
    allowed: set[str] = set()
    if outcome == "accepted":
        if case.expect == "refuse":
            problems.append("exit 0 for an input that must be refused")
        else:
            allowed |= set(case.outputs)
            problem = case.check(folder, r) if case.check else None
            if problem:
                problems.append(f"accepted, but {problem}")
            for args, check, outputs in case.then:
                r2 = spawn(args, folder, None, env)
                what, more = judge(case, r2, False)
                seconds, peak = max(seconds, r2.seconds), max(peak, r2.peak_mb)
                problems += [f"then {args[0]}: {p}" for p in more]
                if what != "accepted":
                    problems.append(f"then {args[0]}: exit {r2.exit}: {r2.stderr.decode(errors='replace').strip()[:200]}")
                else:
                    allowed |= set(outputs)
                    p = check(folder, r2)
                    if p:
                        problems.append(f"then {args[0]}: {p}")
    elif outcome == "refused" and case.expect == "legal":
        problems.append("refused a legal input")
    after = snapshot(folder)

    def ok(path: str) -> bool:  # an output the case allows ("dir/": anything under it, and itself)
        return path in allowed or any(a.endswith("/") and (path + "/").startswith(a) for a in allowed)

    added = sorted(p for p in set(after) - set(before) if not ok(p))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k] and not ok(k))
    removed = sorted(p for p in set(before) - set(after) if not ok(p))
    if any(Path(p).name == MARKER for p in after):
        problems.append("a crafted pickle ran code (the marker file exists)")
    if added:
        problems.append(f"left {added[:5]}")
    if changed:
        problems.append(f"changed {changed[:5]}")
    if removed:
        problems.append(f"removed {removed[:5]}")
    strays = sorted(os.listdir(tmpdir))
    if strays:
        problems.append(f"left {strays[:5]} in TMPDIR")
    return {"id": case.id, "kind": case.kind, "label": case.label, "command": command_line(case.args),
            "exit": r.exit, "outcome": outcome, "accepted_as": case.why if outcome == "accepted" else None,
            "seconds": round(seconds, 2), "peak_mb": round(peak), "stderr": r.stderr.decode(errors="replace").strip()[:240],
            "problems": problems}


def command_line(args: list) -> str:
    def show(a) -> str:
        text = os.fsdecode(a) if isinstance(a, bytes) else a
        if text.isprintable() and len(text) <= 80:
            return shlex.quote(text)
        if len(text) > 80:
            return f"<{len(text)} chars: {ascii(text[:30])}...>"
        return "$'" + ascii(os.fsencode(text) if isinstance(a, bytes) else text)[1 if not isinstance(a, bytes) else 2:-1] + "'"
    return "aecodec " + " ".join(show(a) for a in args)


def generate(fx: Fixtures, seed: int, kinds: list[str]) -> list[Case]:
    cases = []
    for kind in kinds:
        made = GENERATORS[kind](fx, np.random.default_rng([seed, KINDS.index(kind)]))
        for i, case in enumerate(made):
            assert case.kind == kind, (kind, case.label)
            case.id = f"{kind}-{i:04d}"
        cases += made
    return cases


def select(cases: list[Case], limit: int | None) -> list[Case]:
    """At most ``limit`` cases, taken evenly from every kind (so a quick run covers them all)."""
    if limit is None or limit >= len(cases):
        return cases
    by_kind: dict[str, list[Case]] = {}
    for case in cases:
        by_kind.setdefault(case.kind, []).append(case)
    chosen: list[Case] = []
    for kind, group in by_kind.items():
        share = max(1, limit // len(by_kind))
        step = max(1, len(group) // share)
        chosen += group[::step][:share]
    return chosen[:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help="write the summary and every case's row here (JSON)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=None, help=f"comma-separated kinds: {', '.join(KINDS)}")
    ap.add_argument("--limit", type=int, default=None, help="run at most N cases, spread over the kinds")
    ap.add_argument("--match", default=None, help="only cases whose label contains this text")
    ap.add_argument("--case", default=None, help="only the case with this id (e.g. image-header-0012)")
    ap.add_argument("--keep", default=None, help="keep the case folders here (to reproduce a case by hand)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every case")
    args = ap.parse_args()
    kinds = list(KINDS) if not args.only else args.only.split(",")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        ap.error(f"unknown kind {unknown}; kinds are {', '.join(KINDS)}")
    if args.case:
        kinds = [next(k for k in KINDS if args.case.startswith(k + "-"))]
    started = time.perf_counter()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="damage-check-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        fx = Fixtures(work / "fixtures")
        cases = generate(fx, args.seed, kinds)
        total_generated = len(cases)
        if args.case:
            cases = [c for c in cases if c.id == args.case]
        if args.match:
            cases = [c for c in cases if args.match in c.label]
        cases = select(cases, args.limit)
        print(f"{len(cases)} of {total_generated} cases ({', '.join(kinds)})", flush=True)
        env = child_env(work / "tmp")
        results = []
        for n, case in enumerate(cases, 1):
            folder = work / case.id
            if folder.exists():
                remove_tree(folder)
            row = run_case(case, folder, work / "tmp", env)
            results.append(row)
            if row["problems"] or args.verbose:
                print(f"{'FAIL' if row['problems'] else 'ok  '} {case.id} {case.label!r}: exit {row['exit']}, "
                      f"{row['seconds']} s, {row['peak_mb']} MiB; {row['problems']} {row['stderr'][:200]!r}", flush=True)
            elif n % 50 == 0:
                print(f"  {n}/{len(cases)} cases, {time.perf_counter() - started:.0f} s", flush=True)
            if not args.keep:
                remove_tree(folder)
            elif args.case:
                print(f"reproduce: cd {folder} && OMP_NUM_THREADS=1 {sys.executable} -m {command_line(case.args)[0:]}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    failures = [r for r in results if r["problems"]]
    accepted = [r for r in results if r["outcome"] == "accepted" and not r["problems"]]
    summary = {
        "command": "OMP_NUM_THREADS=1 .venv/bin/python bench/damage_check.py" + "".join(
            f" --{k} {v}" for k, v in (("seed", args.seed), ("only", args.only), ("limit", args.limit),
                                       ("match", args.match), ("case", args.case)) if v not in (None, 0)
        ) + (f" --out {args.out}" if args.out else ""),
        "cases": len(results),
        "by_kind": dict(Counter(r["kind"] for r in results)),
        "refused": sum(r["outcome"] == "refused" and not r["problems"] for r in results),
        "accepted_legal": len(accepted),
        "accepted_by_class": dict(Counter(r["accepted_as"] for r in accepted)),
        "mishandled": len(failures),
        "mishandled_by_kind": dict(Counter(r["kind"] for r in failures)),
        "max_seconds": max((r["seconds"] for r in results), default=0),
        "max_peak_mb": max((r["peak_mb"] for r in results), default=0),
        "limits": {"seconds": LIMIT_S, "peak_rss_mib": LIMIT_MB},
        "wall_seconds": round(time.perf_counter() - started),
        "failures": failures,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "failures"}, indent=2))
    for f in failures:
        print("FAIL", f["id"], f["label"], f["command"], f["problems"], f["stderr"][:200])
    if args.out:
        rows = ",\n".join("    " + json.dumps(r, ensure_ascii=True) for r in results)
        head = json.dumps(summary, indent=2, ensure_ascii=True)[:-2]
        Path(args.out).write_text(head + ',\n  "results": [\n' + rows + "\n  ]\n}\n")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
