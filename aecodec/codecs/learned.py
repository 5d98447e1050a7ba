"""aecodec's learned image codec behind the common Codec interface: media <-> `.aec` bytes.

Streams of an image file, in order: the hyper-latent z, the latent y in channel groups
(``y_groups`` streams of ``y_group_channels`` channels each), then the alpha plane as PNG
when the source had one. Header keys are specified in docs/FORMAT.md.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from aecodec import container
from aecodec.errors import FormatError, InputError, ModelError
from aecodec.media.types import Image

DEFAULT_MODEL = "image-hyperprior"
# Padded to the stride 64, the most pixels a file may hold (8192 x 8192). Memory grows with the
# padded area: at this size decoding peaks at 1.5 GB and encoding at 2.2 GB (about 15 and 25
# bytes a padded pixel over the loaded model); 2^28 pixels, the old limit, took over 6 GiB.
MAX_PIXELS = 1 << 26
MODES = {1: "L", 3: "RGB", 4: "RGBA"}
MAX_GROUP_SYMBOLS = 1 << 21  # bounds the rANS coder's python lists for huge images
RANS_MIN_BYTES = 8  # the coder's final flush alone writes its 64-bit state
RANS_ROUNDING_BITS = 2**-15 / math.log(2)  # the most one rANS step can round away (its state is >= 2^15 freq)


@dataclass
class EncodeResult:
    data: bytes
    quality: float


class LazyModel:
    """Mixin of the learned codecs: the model is loaded on first use, so constructing a codec is free."""

    media: str
    model_name: str
    device: str

    def model(self, name: str | None = None, sha_prefix: str | None = None):
        """The loaded model: the newest of ``model_name``, or the one a file names."""
        return self.loaded(name, sha_prefix)[1]

    def identity(self) -> str:
        """The newest model's name, version and weights hash: what a benchmark row depends on."""
        card = self.loaded()[0]
        return f"{card['name']} v{card['version']} {card['weights']['sha256'][:16]}"

    def loaded(self, name: str | None = None, sha_prefix: str | None = None) -> tuple[dict, Any]:
        """(card, model) of ``model``. Each stays loaded, so decoding an old file does not
        change the model new files are encoded with."""
        from aecodec.models.registry import loaded_model

        name = name or self.model_name
        card, model = loaded_model(name, sha_prefix, self.device)
        if card.get("task", "compress") != "compress":
            raise ModelError(f"model '{name}' is a {card['task']} model, not a codec; "
                             "pick a codec with --model (see 'aecodec models')")
        if card.get("media", self.media) != self.media:
            raise ModelError(f"model '{name}' codes {card['media']}, not {self.media}; "
                             "pick another with --model (see 'aecodec models')")
        return card, model


class LearnedImageCodec(LazyModel):
    """Encodes RGB, grayscale and RGBA images at ``quality`` 1..100 (higher is better)."""

    media = "image"

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu"):
        self.name = "aecodec"
        self.model_name = model
        self.device = device

    # --- encode ------------------------------------------------------------------------
    def encode(self, item: Image, quality: float) -> bytes:
        quality = check_quality(quality)
        return self._encoder(item)(quality)

    def encode_to_bpp(self, item: Image, bpp: float) -> EncodeResult:
        """The highest integer quality whose real file size is at most ``bpp`` bits per pixel."""
        if not (bpp > 0 and math.isfinite(bpp)):
            raise InputError(f"--bpp must be a positive number, got {bpp}; try e.g. --bpp 0.5")
        encode = self._encoder(item)
        best = highest_quality_within(encode, bpp * item.height * item.width / 8)
        if best is None:
            lowest = len(encode(1.0)) * 8 / (item.height * item.width)
            raise InputError(f"cannot reach {bpp:g} bpp: quality 1 needs {lowest:.3f} bpp; ask for more bits")
        return best

    def _encoder(self, item: Image):
        """Runs the analysis transform once; the returned function codes it at any quality."""
        import torch

        check_image_size(item.height, item.width)
        card, model = self.loaded()
        rgb, alpha = split_channels(item)
        stride = model.stride
        padded = np.pad(rgb, ((0, -item.height % stride), (0, -item.width % stride), (0, 0)), mode="edge")
        tile = model.tile_for(*padded.shape[:2])
        y = model.analyse(torch.from_numpy(np.ascontiguousarray(padded)), tile)
        alpha_stream = [png_bytes(alpha)] if alpha is not None else []
        group = min(model.config.M, max(1, MAX_GROUP_SYMBOLS // (y.shape[2] * y.shape[3])))

        def at(quality: float) -> bytes:
            from aecodec.entropy.tables import encode

            z_sym, z_idx, y_sym, y_idx = model.quantise(y, quality)
            streams = [encode(z_sym, z_idx, model.z_tables)]
            for c in range(0, y_sym.shape[1], group):
                streams.append(encode(y_sym[:, c : c + group], y_idx[:, c : c + group], model.y_tables))
            header = {
                "media": "image",
                "model": {"name": card["name"], "sha256": card["weights"]["sha256"][:16]},
                "quality": quality,
                "geometry": {"height": item.height, "width": item.width, "channels": item.channels, "mode": item.mode},
                "tiles": {"size": tile},
                "y_group_channels": group,
            }
            return container.pack(header, refuse_unreadable(header, streams + alpha_stream, model))

        return at

    # --- decode ------------------------------------------------------------------------
    def decode(self, data: bytes) -> Image:
        # The header is checked before torch is even imported, the streams' layout and lengths
        # before anything is decoded: damaged or forged files are refused in milliseconds,
        # no byte reaches the rANS decoder unchecked, and no header can claim more work than
        # its payload could honestly carry (docs/FORMAT.md, "Limits").
        parsed = container.unpack(data)
        h = parsed.header
        if h["media"] != "image":
            raise FormatError(f"this .aec file holds {h['media']}, not an image; decode it with 'aecodec decode'")
        height, width, channels, quality, tile, group = check_image_header(h)

        import torch

        from aecodec.entropy.tables import decode

        model = self.model(h["model"]["name"], h["model"]["sha256"])
        check_image_streams(model, parsed.streams, height, width, channels, tile, group)
        M, N, stride = model.config.M, model.config.N, model.stride
        z_shape = (1, N, -(-height // stride), -(-width // stride))
        z_sym = decode(parsed.streams[0], model.z_indexes(z_shape), model.z_tables)
        means, y_idx = model.entropy_parameters(torch.from_numpy(z_sym))
        y_bits = cheapest_bits(model.y_tables)
        y_sym = np.empty(y_idx.shape, dtype=np.int32)
        for i, c in enumerate(range(0, M, group)):
            stream, idx = parsed.streams[1 + i], y_idx[:, c : c + group]
            need = min_stream_bytes(float(y_bits[idx].sum()))  # the tables are known now: a sharper bound
            if len(stream) < need:
                raise FormatError(f"latent stream {i + 1} has {len(stream)} bytes, its symbols need at least {need}; "
                                  "the file is damaged")
            y_sym[:, c : c + group] = decode(stream, idx, model.y_tables)
        del y_idx
        rgb = model.synthesise(y_sym, means, quality, tile).numpy()[:height, :width]
        if channels == 1:
            return Image(to_gray(rgb))
        if channels == 4:
            alpha = read_png_plane(parsed.streams[-1], height, width)
            return Image(np.concatenate([rgb, alpha[:, :, None]], axis=2))
        return Image(np.ascontiguousarray(rgb))


def highest_quality_within(encode, budget_bytes: float) -> EncodeResult | None:
    """Binary search over integer qualities 1..100 (file size grows with quality) for the
    highest one whose real file fits ``budget_bytes``; None when even quality 1 does not."""
    lo, hi, best = 1, 100, None
    while lo <= hi:
        mid = (lo + hi) // 2
        data = encode(float(mid))
        if len(data) <= budget_bytes:
            best, lo = EncodeResult(data, float(mid)), mid + 1
        else:
            hi = mid - 1
    return best


def check_quality(quality: float) -> float:
    q = float(quality)
    if not (1 <= q <= 100):
        raise InputError(f"--quality must be between 1 and 100, got {quality:g}; e.g. --quality 75")
    return q


def check_image_header(h: dict) -> tuple[int, int, int, float, int, int]:
    """Validate the image keys of a header before any byte reaches the entropy decoder."""
    try:
        g = h["geometry"]
        height, width, channels = g["height"], g["width"], g["channels"]
        quality, tile, group = h["quality"], h["tiles"]["size"], h["y_group_channels"]
        ints = (height, width, channels, tile, group)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
            raise TypeError
        if isinstance(quality, bool) or not isinstance(quality, (int, float)) or not 1 <= quality <= 100:
            raise ValueError
        if not (0 < height and 0 < width and channels in MODES and g["mode"] == MODES[channels]):
            raise ValueError
        if tile < 0 or tile % 64 or group < 1:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise FormatError("the image header is invalid (geometry, mode, quality or tiling); the file is damaged") from None
    if padded_size(height) * padded_size(width) > MAX_PIXELS:
        raise FormatError(f"the header claims a {width}x{height} image, over the {MAX_PIXELS / 1e6:.0f} MP this "
                          "aecodec decodes (sides padded to multiples of 64); the file is damaged or from another aecodec")
    return height, width, channels, float(quality), tile, group


def check_image_size(height: int, width: int) -> None:
    """Refuse, before any work, an image whose padded area is over MAX_PIXELS."""
    area = padded_size(height) * padded_size(width)
    if area > MAX_PIXELS:
        raise InputError(f"the image is {width}x{height}, {area / 1e6:.0f} MP once its sides are padded to multiples "
                         f"of 64, over the codec's {MAX_PIXELS / 1e6:.0f} MP limit; downscale or crop it first")


def padded_size(size: int, stride: int = 64) -> int:
    return size + -size % stride


def check_image_streams(model, streams, height: int, width: int, channels: int, tile: int, group: int) -> None:
    """Refuse streams that cannot be what a valid header says, before anything is decoded: the
    tiling and grouping the encoder uses, the stream count, and a z stream long enough for the
    symbols the geometry implies (docs/FORMAT.md, "Limits")."""
    hp, wp = padded_size(height, model.stride), padded_size(width, model.stride)
    if tile != model.tile_for(hp, wp):
        raise FormatError(f"the header's tile size {tile} is not the {model.tile_for(hp, wp)} a {width}x{height} image "
                          "is coded with; the file is damaged")
    M = model.config.M
    z_cells = (hp // model.stride) * (wp // model.stride)
    most = min(M, max(1, MAX_GROUP_SYMBOLS // (z_cells * 16)))  # y has 16 cells per z cell
    if group > most:
        raise FormatError(f"the header groups {group} latent channels a stream, at most {most} fit an image of this "
                          "size; the file is damaged")
    expected = 1 + math.ceil(M / group) + (channels == 4)
    if len(streams) != expected:
        raise FormatError(f"an image of this shape needs {expected} streams, the file has {len(streams)}; it is damaged")
    if any(len(s) < RANS_MIN_BYTES for s in streams[: expected - (channels == 4)]):
        raise FormatError("an entropy-coded stream is shorter than any rANS stream can be; the file is damaged")
    need = min_stream_bytes(z_cells * float(cheapest_bits(model.z_tables)[: model.config.N].sum()))
    if len(streams[0]) < need:
        raise FormatError(f"a {width}x{height} image needs a hyper-latent stream of at least {need} bytes, the file's "
                          f"has {len(streams[0])}; it is damaged or forged")


def refuse_unreadable(header: dict, streams: list, model) -> list:
    """The encoder's last step runs the decoder's checks: it never writes a file they refuse."""
    try:
        height, width, channels, _, tile, group = check_image_header(header)
        check_image_streams(model, streams, height, width, channels, tile, group)
    except FormatError as exc:
        raise InputError(f"aecodec would write a file it cannot read ({exc}); please report this") from None
    return streams


def cheapest_bits(tables) -> np.ndarray:
    """Per CDF table, the fewest bits a rANS coder can spend on one symbol: -log2 of the largest
    probability, less what one coding step can round away."""
    cdf = tables.cdf.astype(np.int64)
    length = tables.cdf_length.astype(np.int64)[:, None]
    freq = np.where(np.arange(cdf.shape[1] - 1)[None] < length - 1, np.diff(cdf, axis=1), 0)
    total = np.take_along_axis(cdf, length - 1, axis=1)[:, 0]
    return np.maximum(0.0, np.log2(total / freq.max(axis=1)) - RANS_ROUNDING_BITS)


def min_stream_bytes(bits: float) -> int:
    """The fewest bytes a rANS stream can hold symbols needing ``bits`` in: its 64-bit state
    starts at 2^31 and stays below 2^63, so all but 32 of the bits go out in 32-bit words, and
    the final flush writes 8 bytes. 1 % and 32 more bits of slack guard against rounding."""
    return RANS_MIN_BYTES + max(0, int((0.99 * bits - 64) // 8))


def split_channels(item: Image) -> tuple[np.ndarray, np.ndarray | None]:
    px = item.pixels
    if item.channels == 1:
        return np.repeat(px, 3, axis=2), None
    if item.channels == 4:
        return px[:, :, :3], np.ascontiguousarray(px[:, :, 3])
    return px, None


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, as Pillow's convert('L') computes it."""
    c = rgb.astype(np.uint32)
    luma = (c[:, :, 0] * 299 + c[:, :, 1] * 587 + c[:, :, 2] * 114 + 500) // 1000
    return luma.astype(np.uint8)[:, :, None]


def png_bytes(plane: np.ndarray) -> bytes:
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.fromarray(plane, mode="L").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def read_png_plane(data: bytes, height: int, width: int) -> np.ndarray:
    from PIL import Image as PILImage

    try:
        with PILImage.open(io.BytesIO(data)) as im:
            if im.format != "PNG" or im.size != (width, height) or im.mode != "L":
                raise ValueError
            return np.asarray(im.convert("L"))
    except Exception:
        raise FormatError("the alpha stream is damaged; re-encode from the original") from None


def image_codec(device: str = "cpu") -> LearnedImageCodec:
    return LearnedImageCodec(device=device)


def audio_codec(device: str = "cpu"):
    """The learned audio codec as the benchmarks use it: ``quality`` means a kbps budget."""
    from aecodec.codecs.learned_audio import LearnedAudioCodec

    return LearnedAudioCodec(device=device, quality_unit="kbps")
