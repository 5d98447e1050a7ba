"""Classic codecs behind the Codec protocol; ``encode`` returns the file a user would store.

Image codecs (Pillow, here): ``jpeg`` (4:2:0), ``jpeg444``, ``webp``, ``avif``, ``jpeg2000``, and with
the optional ``bench`` extra ``jxl`` (pillow-jxl-plugin) and ``heif`` (pillow-heif); ``quality`` is
1..100 (mapping per class); decoders return the image in L, RGB or RGBA. Audio codecs (``mp3``,
``opus``, ``codec2``: ``audio_baselines``) take the bitrate in kbps. ``get_codec`` makes any of them by name.
"""

from __future__ import annotations

import importlib
import io
import re
from typing import Any, Literal

import numpy as np
import PIL.Image

from aecodec.codecs.audio_baselines import MP3, Codec2, Opus
from aecodec.codecs.base import Codec, Media
from aecodec.errors import FormatError, InputError
from aecodec.media.types import Image


def _check_quality(name: str, quality: int, low: int, high: int, unit: str = "quality") -> None:
    if not low <= quality <= high:
        raise InputError(f"{name} {unit} must be in {low}..{high}, got {quality}; pick a value in range")


BENCH_EXTRA = "install the optional baselines with pip install 'aecodec[bench]'"


class PillowCodec:
    """An image codec that is one Pillow format plus save options; subclasses set the options.

    A format whose Pillow plugin is a separate package names it in ``plugin`` (module, package):
    the module is imported when the codec is made, never when this module is, so a missing
    package fails ``get_codec`` with one InputError and affects no other codec.
    """

    media: Literal["image"] = "image"
    name = ""
    pil_format = ""
    modes: tuple[str, ...] = ("L", "RGB", "RGBA")  # image modes the format can store
    plugin: tuple[str, str] | None = None  # (module to import, pip package) for plugin formats
    decode_errors: tuple[type[Exception], ...] = (OSError, ValueError, SyntaxError)  # what damaged data raises

    def __init__(self) -> None:
        if self.plugin is not None:
            self.register(load_plugin(self.name, *self.plugin))

    def register(self, module: Any) -> None:
        """Make the imported plugin ``module`` known to Pillow (importing it suffices for most)."""

    def save_options(self, quality: int) -> dict[str, Any]:
        raise NotImplementedError

    def encode(self, item: Media, quality: int) -> bytes:
        """Encode an ``Image`` at ``quality`` 1..100. Raises InputError for audio or an unstorable mode."""
        if not isinstance(item, Image):
            raise InputError(f"{self.name} encodes images, not audio; use mp3, opus or codec2 for audio")
        _check_quality(self.name, quality, 1, 100)
        if item.mode not in self.modes:
            raise InputError(f"{self.name} cannot store {item.mode} images; convert to RGB first")
        pixels = item.pixels[:, :, 0] if item.channels == 1 else item.pixels
        buffer = io.BytesIO()
        PIL.Image.fromarray(np.ascontiguousarray(pixels), item.mode).save(
            buffer, self.pil_format, **self.save_options(quality)
        )
        return buffer.getvalue()

    def decode(self, data: bytes) -> Image:
        """Decode this codec's file into an L, RGB or RGBA ``Image``. Raises FormatError if damaged."""
        try:
            with PIL.Image.open(io.BytesIO(data), formats=[self.pil_format]) as picture:
                picture.load()
                if picture.mode not in ("L", "RGB", "RGBA"):
                    picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
                pixels = np.asarray(picture)
        except self.decode_errors as error:
            raise FormatError(f"cannot decode {self.name} data: {error}; is the file complete?") from error
        return Image(pixels[:, :, None] if pixels.ndim == 2 else pixels)


class JPEG(PillowCodec):
    """Baseline JPEG, 4:2:0 chroma, optimised Huffman tables; quality is libjpeg's quality."""

    name = "jpeg"
    pil_format = "JPEG"
    modes = ("L", "RGB")
    subsampling = 2  # Pillow's code for 4:2:0

    def save_options(self, quality: int) -> dict[str, Any]:
        return {"quality": quality, "subsampling": self.subsampling, "optimize": True}


class JPEG444(JPEG):
    """JPEG without chroma subsampling (4:4:4)."""

    name = "jpeg444"
    subsampling = 0


class WebP(PillowCodec):
    """Lossy WebP at libwebp's slowest, best method 6; quality is libwebp's quality."""

    name = "webp"
    pil_format = "WEBP"

    def save_options(self, quality: int) -> dict[str, Any]:
        return {"quality": quality, "method": 6}


class AVIF(PillowCodec):
    """AVIF (libavif, 4:2:0) at encoder speed 4; quality is libavif's 0..100 quality."""

    name = "avif"
    pil_format = "AVIF"

    def save_options(self, quality: int) -> dict[str, Any]:
        return {"quality": quality, "speed": 4}


class JPEG2000(PillowCodec):
    """JPEG 2000 (OpenJPEG), irreversible 9/7 wavelet, one layer at a target compression ratio.

    Quality q asks for a ratio of 250 * 2 ** (-q / 20) to the raw 8-bit samples, so for RGB
    q 10 ~ 0.14 bpp, 50 ~ 0.54, 95 ~ 2.6 (about JPEG's range). Rate targets, not OpenJPEG's
    PSNR ("dB") targets: on three images/dev photos its dB mode gave +78 % BD-rate against
    JPEG, this setting -14 % (the default reversible 5/3 wavelet costs another ~20 %).
    """

    name = "jpeg2000"
    pil_format = "JPEG2000"

    def save_options(self, quality: int) -> dict[str, Any]:
        return {"quality_mode": "rates", "quality_layers": [250.0 * 2.0 ** (-quality / 20.0)], "irreversible": True}


class JPEGXL(PillowCodec):
    """JPEG XL (libjxl via pillow-jxl-plugin) at effort 7, cjxl's default; quality is libjxl's.

    libjxl maps quality to a Butteraugli distance (``JxlEncoderDistanceFromQuality``, as ``cjxl
    -q``: 90 is distance 1.0, "visually lossless") and quality 100 is lossless, as in cjxl.
    Threads: the plugin's default (all cores), as for AVIF.
    """

    name = "jxl"
    pil_format = "JXL"
    plugin = ("pillow_jxl", "pillow-jxl-plugin")
    decode_errors = (*PillowCodec.decode_errors, RuntimeError)  # libjxl reports bad data so

    def save_options(self, quality: int) -> dict[str, Any]:
        if quality == 100:  # libjxl refuses distance 0 without its lossless mode
            return {"lossless": True, "effort": 7}
        return {"quality": quality, "effort": 7}


class HEIF(PillowCodec):
    """HEIF with one HEVC intra frame (libheif + x265 via pillow-heif), 4:2:0, 8 bits.

    ``quality`` is libheif's 0..100 quality, which it turns into an x265 CRF; x265 runs with
    libheif's defaults, written out here so that they stay: preset slow, tune ssim. Its rate
    saturates near the top (on a dev photo quality 90, 95 and 100 give the same size and PSNR).
    """

    name = "heif"
    pil_format = "HEIF"
    plugin = ("pillow_heif", "pillow-heif")

    def register(self, module: Any) -> None:
        module.register_heif_opener()

    def save_options(self, quality: int) -> dict[str, Any]:
        return {"quality": quality, "chroma": 420, "enc_params": {"preset": "slow", "tune": "ssim"}}


def load_plugin(codec: str, module: str, package: str) -> Any:
    """Import the Pillow plugin ``module`` of ``codec``.

    Raises:
        InputError: it is not installed (or fails to import), naming ``package`` and the extra.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise InputError(f"codec {codec} needs the {package} package ({error}); {BENCH_EXTRA}") from None


def missing_package(name: str) -> str | None:
    """The pip package that codec ``name`` needs and cannot import, or None if it can run."""
    codec = _BASELINE_CLASSES.get(name)
    plugin = getattr(codec, "plugin", None)
    if plugin is None:
        return None
    try:
        importlib.import_module(plugin[0])
    except ImportError:
        return plugin[1]
    return None


_BASELINE_CLASSES: dict[str, type] = {
    codec.name: codec for codec in (JPEG, JPEG444, WebP, AVIF, JPEG2000, JPEGXL, HEIF, MP3, Opus, Codec2)
}
BASELINES: tuple[str, ...] = tuple(_BASELINE_CLASSES)
"""Names ``get_codec`` accepts besides ``aecodec`` (``jxl`` and ``heif`` run only with their
packages installed: ``missing_package``)."""


def get_codec(name: str, media: Literal["image", "audio"] | None = None, device: str = "auto") -> Codec:
    """The codec called ``name``: a baseline, or ``aecodec`` for the learned codec of ``media``.

    ``aecodec`` is imported lazily (``codecs.image.image_codec()`` unless ``media == "audio"``,
    then ``codecs.audio_codec()`` in kbps), so baselines work without torch or weights;
    ``aecodec-e<N>`` is the image codec at ``--effort N``; ``aecodec-music`` the audio codec with
    its music model.

    Raises:
        InputError: unknown name, a baseline of the other media kind, or one whose optional
            package is not installed (jxl, heif: ``pip install 'aecodec[bench]'``).
    """
    effort = re.fullmatch(r"aecodec-e([1-9])", name)
    if effort and media != "audio":  # the image codec at an encode effort (aecodec encode --effort)
        from aecodec.codecs.image import image_codec

        return image_codec(device, int(effort.group(1)))
    if name == "aecodec-music" and media != "image":  # the MDCT codec's music model (encode --model)
        from aecodec.codecs import MUSIC_AUDIO_MODEL, audio_codec

        return audio_codec(MUSIC_AUDIO_MODEL, device=device, quality_unit="kbps")
    if name == "aecodec":  # the learned codecs run on ``device``; baselines always on the CPU
        if media == "audio":
            from aecodec.codecs import audio_codec

            return audio_codec(device=device, quality_unit="kbps")
        from aecodec.codecs.image import image_codec

        return image_codec(device)
    if name not in _BASELINE_CLASSES:
        raise InputError(f"unknown codec {name!r}; choose from aecodec, aecodec-e2..e9 (images at an --effort), "
                         "aecodec-music (audio with the music model), "
                         f"{', '.join(BASELINES)}")
    kind = _BASELINE_CLASSES[name].media
    if media is not None and kind != media:
        raise InputError(f"{name} is an {kind} codec; it cannot run in an {media} benchmark")
    return _BASELINE_CLASSES[name]()
