"""Speed and memory of the shipped codecs: image megapixels/s and audio real-time factor, for
encode and decode, on the CPU and (when one is present) the GPU, with peak memory.

Every case runs in a fresh child process through the library (the model loads and one warm-up
run happens before the clock starts, so these are steady-state figures; start-up costs are in
speed_image.py). Peak RSS is the child's; on CUDA, peak allocated GPU memory too.

    .venv/bin/python bench/speed.py --images ../shared/data/images/dev --audio ../shared/data/audio/dev \
        --out bench/results/speed.json

Audio cases: "speech", 64 s of 24 kHz mono (the 8 dev speech clips back to back), and "music",
64 s of 44.1 kHz stereo (dev music clips resampled; the right channel mixes in the next clip so
the channels differ), both at --kbps 6 (the default model); "music-mono", 64 s of 24 kHz mono
(the dev music clips back to back) at --kbps 12, where the detector gives it the music model.
``--long-minutes 60`` adds the issue-3 memory check: the CLI encodes and decodes a 60-minute
24 kHz mono FLAC, dev speech looped at --kbps 6 and dev music looped at --kbps 12, peak RSS of each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from speed_image import timed  # bench/ is the script's folder, so its siblings import
from speed_restore import best_of


def child(kind: str, device: str, inputs: list[str], repeats: int) -> dict:
    """In the child process: time encode and decode of ``inputs`` on ``device``."""
    import torch

    from aecodec.codecs import audio_codec
    from aecodec.codecs.image import image_codec

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    if kind == "image":
        from aecodec.media.image import read_image

        codec, items = image_codec(device), [read_image(p) for p in inputs]
        encode = lambda item: codec.encode(item, 75)  # noqa: E731
        amount = sum(i.pixels.shape[0] * i.pixels.shape[1] for i in items) / 1e6  # megapixels
    else:
        from aecodec.media.audio import read_audio

        kbps = float(kind.split(":")[1])
        codec, items = audio_codec(device=device, quality_unit="kbps"), [read_audio(p) for p in inputs]
        encode = lambda item: codec.encode_to_kbps(item, kbps).data  # noqa: E731
        amount = sum(a.samples.shape[0] / a.sample_rate for a in items)  # seconds of audio
    files = [encode(item) for item in items]  # warm-up (model load, kernels, allocator)
    codec.decode(files[0])

    def run_all(fn, args) -> None:
        for a in args:
            fn(a)
        sync()  # the codecs hand results back on the CPU; this only drains queued GPU work

    timings = {name: best_of(lambda: run_all(fn, args), repeats)
               for name, fn, args in (("encode", encode, items), ("decode", codec.decode, files))}
    out = {"amount": amount, "encode_s": timings["encode"], "decode_s": timings["decode"],
           "bytes": sum(len(f) for f in files)}
    if device == "cuda":
        out["gpu_peak_mib"] = torch.cuda.max_memory_allocated() // 2**20
    return out


def run_child(args: list[str]) -> tuple[dict, int]:
    """A child's JSON result and its peak RSS in MiB."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"speed case {args[:2]} failed: {err.strip()[-500:]}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss // 1024


def make_audio(folder: Path, tmp: Path) -> dict[str, tuple[str, float]]:
    """The three 64-second test signals (see the module docstring) as FLAC files in ``tmp``, with
    the rate each is coded at."""
    import soundfile

    from aecodec.media.resample import resample

    def clips(sub: str) -> list[np.ndarray]:
        return [soundfile.read(p, dtype="float32", always_2d=True)[0][:, 0] for p in sorted((folder / sub).glob("*.flac"))[:8]]

    speech = np.concatenate(clips("speech"))
    music = clips("music")
    left = np.concatenate(music)
    right = 0.7 * left + 0.3 * np.concatenate(music[1:] + music[:1])
    stereo = resample(np.stack([left, right], 1), 24000, 44100)
    paths = {"speech": tmp / "speech.flac", "music": tmp / "music.flac", "music-mono": tmp / "music-mono.flac"}
    soundfile.write(paths["speech"], speech, 24000)
    soundfile.write(paths["music"], np.clip(stereo, -1, 1), 44100)
    soundfile.write(paths["music-mono"], left, 24000)
    return {k: (str(v), 12.0 if k == "music-mono" else 6.0) for k, v in paths.items()}


def long_file_check(folder: Path, tmp: Path, minutes: float, kind: str = "speech", kbps: float = 6.0) -> dict:
    """CLI encode + decode of a ``minutes``-long 24 kHz mono FLAC of the dev ``kind`` clips looped:
    wall time and peak RSS."""
    import soundfile

    clips = np.concatenate([soundfile.read(p, dtype="float32")[0] for p in sorted((folder / kind).glob("*.flac"))])
    total = int(minutes * 60 * 24000)
    src, coded, decoded = (tmp / f"long-{kind}{ext}" for ext in (".flac", ".aec", ".wav"))
    with soundfile.SoundFile(src, "w", 24000, 1, format="FLAC") as f:
        for start in range(0, total, clips.shape[0]):
            f.write(clips[: total - start])
    aecodec = [sys.executable, "-m", "aecodec"]
    result = {"minutes": minutes, "kbps": kbps}
    for step, cmd in (("encode", ["encode", str(src), "-o", str(coded), "--kbps", str(kbps), "--device", "cpu"]),
                      ("decode", ["decode", str(coded), "-o", str(decoded), "--device", "cpu"])):
        seconds, rss = timed(aecodec + cmd)
        result[step] = {"seconds": round(seconds, 1), "peak_rss_mib": rss}
    result["decoded_frames"] = soundfile.info(decoded).frames
    result["input_frames"] = total
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, device, repeats, *inputs = sys.argv[2:]
        print(json.dumps(child(kind, device, inputs, int(repeats))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=Path, help="folder of PNG photos (the first --count are timed)")
    ap.add_argument("--audio", type=Path, help="folder with speech/ and music/ subfolders of FLAC clips")
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3, help="best of this many timed runs")
    ap.add_argument("--devices", default=None, help="comma list; default: cpu, plus cuda when present")
    ap.add_argument("--long-minutes", type=float, default=0, help="also encode/decode a file this long via the CLI")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    import torch

    devices = args.devices.split(",") if args.devices else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    result = {"threads": torch.get_num_threads(), "torch": torch.__version__,
              "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        if args.images:
            images = [str(p) for p in sorted(args.images.glob("*.png"))[: args.count]]
            cases.append(("image", f"{len(images)} photos from {args.images.name}", images))
        if args.audio:
            for name, (path, kbps) in make_audio(args.audio, Path(tmp)).items():
                cases.append((f"audio:{kbps:g}", name, [path]))
        for device in devices:
            for kind, label, inputs in cases:
                out, rss = run_child([kind, device, str(args.repeats), *inputs])
                row = {"kind": kind.split(":")[0], "input": label, "device": device, "peak_rss_mib": rss}
                if kind == "image":
                    row.update(megapixels=round(out["amount"], 3),
                               encode_mp_per_s=round(out["amount"] / out["encode_s"], 3),
                               decode_mp_per_s=round(out["amount"] / out["decode_s"], 3))
                else:  # real-time factor: processing seconds per second of audio (lower is faster)
                    row.update(audio_s=round(out["amount"], 2), kbps=round(out["bytes"] * 8 / out["amount"] / 1000, 2),
                               encode_rtf=round(out["encode_s"] / out["amount"], 4),
                               decode_rtf=round(out["decode_s"] / out["amount"], 4))
                if "gpu_peak_mib" in out:
                    row["gpu_peak_mib"] = out["gpu_peak_mib"]
                print(json.dumps(row), flush=True)
                result["cases"].append(row)
        if args.long_minutes and args.audio:
            result["long_file"] = long_file_check(args.audio, Path(tmp), args.long_minutes)
            print(json.dumps(result["long_file"]), flush=True)
            result["long_music_file"] = long_file_check(args.audio, Path(tmp), args.long_minutes, "music", 12.0)
            print(json.dumps(result["long_music_file"]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
