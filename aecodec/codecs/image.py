"""aecodec's learned image codec behind the common Codec interface: media <-> `.aec` bytes.

Streams of an image file, in order: the hyper-latent z, the latent y in channel groups
(each of the model's slices, in order, in runs of ``y_group_channels`` channels; a model without
slices is one slice), above quality 95 the residual layer's planes (``image_residual``), then the
alpha plane as PNG when the source had one. Header keys are specified in docs/FORMAT.md. The image's ICC profile,
EXIF and XMP (``Image.metadata``) go into the container's ``metadata`` and come back on decode.
"""

from __future__ import annotations

import io
import logging
import math

import numpy as np

from aecodec import container
import aecodec.codecs.image_residual as image_residual
from aecodec.codecs.base import (RANS_MIN_BYTES, EncodeResult, LazyModel, Progress, check_quality,
                                 cheapest_bits, highest_quality_within, min_stream_bytes)
from aecodec.errors import FormatError, InputError
from aecodec.media.image import to_gray
from aecodec.media.metadata import ImageMetadata
from aecodec.media.types import Image

log = logging.getLogger(__name__)

DEFAULT_MODEL = "image-hyperprior"
# Padded to the stride 64, the most pixels a file may hold (8192 x 8192). Memory grows with the
# padded area: at this size decoding peaks at 1.5 GB and encoding at 2.2 GB (about 15 and 25
# bytes a padded pixel over the loaded model); 2^28 pixels, the old limit, took over 6 GiB.
MAX_PIXELS = 1 << 26
MODES = {1: "L", 3: "RGB", 4: "RGBA"}
MAX_GROUP_SYMBOLS = 1 << 21  # bounds the rANS coder's python lists for huge images


class LearnedImageCodec(LazyModel):
    """Encodes RGB, grayscale and RGBA images at ``quality`` 1..100 (higher is better);
    ``effort`` is the default of ``encode``'s (the benchmarks' ``aecodec-e<N>``)."""

    media = "image"

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", effort: int = 1):
        super().__init__(model, device)
        self.effort = effort

    def model_identity(self) -> str:
        """As every codec's, with the effort and its step count when it is not the plain encoder's:
        its rows differ, and a change of an effort's steps makes the benchmarks measure it again."""
        from aecodec.codecs.image_effort import EFFORT_STEPS

        identity = super().model_identity()
        return identity if self.effort == 1 else f"{identity} effort {self.effort} ({EFFORT_STEPS[self.effort]} steps)"

    # --- encode ------------------------------------------------------------------------
    def encode(self, item: Image, quality: float, progress: Progress | None = None, effort: int | None = None) -> bytes:
        """``progress(done, total)``, if given, is called as the tiles, the optimisation steps and the
        coding finish. ``effort`` 1..9: 1 is the plain encoder, more optimises the latents longer
        (``image_effort``; images over its ``MAX_PIXELS`` get the plain encoder)."""
        quality = check_quality(quality)
        return self._encoder(item, progress, self.effort if effort is None else effort)(quality)

    def encode_to_bpp(self, item: Image, bpp: float, or_lowest: bool = False,
                      progress: Progress | None = None, effort: int | None = None) -> EncodeResult:
        """The highest integer quality whose real file size is at most ``bpp`` bits per pixel;
        out of reach: an error, or with ``or_lowest`` the quality-1 file and a warning."""
        if not (bpp > 0 and math.isfinite(bpp)):
            raise InputError(f"--bpp must be a positive number, got {bpp}; try e.g. --bpp 0.5")
        encode = self._encoder(item, progress, self.effort if effort is None else effort)
        best = highest_quality_within(encode, bpp * item.height * item.width / 8)
        if best is None:
            data = encode(1.0)
            lowest = len(data) * 8 / (item.height * item.width)
            if or_lowest:
                log.warning("%g bpp is out of reach: quality 1, the lowest, needs %.3f bpp; coded at quality 1",
                            bpp, lowest)
                return EncodeResult(data, 1.0)
            raise InputError(f"cannot reach {bpp:g} bpp: quality 1 needs {lowest:.3f} bpp; ask for more bits")
        return best

    def _encoder(self, item: Image, progress: Progress | None = None, effort: int = 1):
        """Runs the analysis transform once; the returned function codes it at any quality."""
        import torch

        from aecodec.codecs.image_effort import EFFORT_STEPS, optimisable, optimised_symbols

        if effort not in EFFORT_STEPS:
            raise InputError(f"--effort must be an integer from 1 to 9, got {effort!r}")
        check_image_size(item.height, item.width)
        metadata = storable_metadata(item.metadata)  # refused before any work
        card, model = self.loaded()
        rgb, alpha = split_channels(item)
        stride = model.stride
        padded = np.pad(rgb, ((0, -item.height % stride), (0, -item.width % stride), (0, 0)), mode="edge")
        tile = model.tile_for(*padded.shape[:2])
        steps = Steps(progress, tile_count(*padded.shape[:2], tile) + 1)  # the tiles, then the coding
        y = model.analyse(torch.from_numpy(np.ascontiguousarray(padded)), tile, steps.tick)
        alpha_stream = [png_bytes(alpha)] if alpha is not None else []
        group = group_channels(model, y.shape[2] * y.shape[3])

        def at(quality: float) -> bytes:
            from aecodec.entropy.tables import encode

            if optimisable(*padded.shape[:2], effort):
                steps.add(EFFORT_STEPS[effort])
                z_sym, z_idx, y_sym, y_idx = optimised_symbols(
                    model, padded, y, item.height, item.width, quality, effort, steps.tick)
            else:
                z_sym, z_idx, y_sym, y_idx = model.quantise(y, quality)
            streams = [encode(z_sym, z_idx, model.z_tables)]
            for first, end in stream_channels(model, group):
                streams.append(encode(y_sym[:, first:end], y_idx[:, first:end], model.y_tables))
            steps.tick()
            header = {
                "media": "image",
                "model": {"name": card["name"], "sha256": card["weights"]["sha256"][:16]},
                "quality": quality,
                "geometry": {"height": item.height, "width": item.width, "channels": item.channels, "mode": item.mode},
                "tiles": {"size": tile},
                "y_group_channels": group,
            }
            step = image_residual.residual_step(quality)
            if step is not None:
                steps.add(1)
                streams += self._residual_streams(item, header, streams + alpha_stream, step)
                steps.tick()
            return container.pack(header, refuse_unreadable(header, streams + alpha_stream, model), metadata)

        return at

    def _residual_streams(self, item: Image, header: dict, streams: list[bytes], step: int) -> list[bytes]:
        """Decodes the file so far as the decoder will, then codes what it misses (adds the
        ``residual`` key to ``header``)."""
        decoded = self.decode(container.pack(header, streams)).pixels[:, :, :planes_of(item.channels)]
        symbols = image_residual.quantise(item.pixels[:, :, : decoded.shape[2]], decoded, step)
        choice = image_residual.choose_tables(symbols, MAX_GROUP_SYMBOLS)
        header["residual"] = {"step": step, "tables": choice.tolist()}
        return image_residual.encode_planes(symbols, choice, MAX_GROUP_SYMBOLS)

    # --- decode ------------------------------------------------------------------------
    def decode(self, data: bytes | container.Container, progress: Progress | None = None) -> Image:
        """``data``: the file's bytes, or the file ``container.unpack`` already parsed; ``progress(done,
        total)``, if given, is called as the latent groups and the tiles finish."""
        parsed = self.unpack(data)
        height, width, channels, quality, tile, group = check_image_header(parsed.header)
        steps = Steps(progress, tile_count(padded_size(height), padded_size(width), tile))
        model, _, (y_hat, means), _, residual = self._symbols(parsed, height, width, channels, tile, group, steps)
        rgb = model.synthesise(y_hat, means, quality, tile, steps.tick).numpy()[:height, :width]
        pixels = to_gray(rgb) if channels == 1 else rgb
        if residual is not None:
            pixels = image_residual.reconstruct(pixels, residual[1], residual[0])
        metadata = ImageMetadata(**parsed.metadata)
        if channels == 4:
            alpha = read_png_plane(parsed.streams[-1], height, width)
            return Image(np.concatenate([pixels, alpha[:, :, None]], axis=2), metadata)
        return Image(np.ascontiguousarray(pixels), metadata)

    def symbols(self, data: bytes | container.Container) -> dict[str, list[np.ndarray]]:
        """The file's entropy-decoded symbols, checked as ``decode`` checks them: ``{"z": [the
        hyper-latent], "y": [the latent]}``, int32 arrays of shape (1, channels, rows, columns),
        and above quality 95 ``"residual": [(planes, height, width) int16]``."""
        parsed = self.unpack(data)
        height, width, channels, _, tile, group = check_image_header(parsed.header)
        _, z_sym, _, y_sym, residual = self._symbols(parsed, height, width, channels, tile, group)
        symbols = {"z": [z_sym], "y": [y_sym]}
        if residual is not None:
            symbols["residual"] = [residual[1]]
        return symbols

    def _symbols(self, parsed: container.Container, height: int, width: int, channels: int, tile: int, group: int,
                 steps: Steps | None = None):
        """(model, z symbols, ``model.latent``'s (y_hat, means), y symbols, the residual layer's
        (step, symbols) or None) of a file whose header is checked.

        The header is checked before torch is even imported, the streams' layout and lengths
        before anything is decoded: damaged or forged files are refused in milliseconds, no
        byte reaches the rANS decoder unchecked, and no header can claim more work than its
        payload could honestly carry (docs/FORMAT.md, "Limits")."""
        import torch

        from aecodec.entropy.tables import decode

        model = self.model(parsed.header["model"]["name"], parsed.header["model"]["sha256"])
        layer = residual_layer(parsed.header, channels)
        check_image_streams(model, parsed.streams, height, width, channels, tile, group, layer)
        N, stride = model.config.N, model.stride
        z_shape = (1, N, -(-height // stride), -(-width // stride))
        z_sym = decode(parsed.streams[0], model.z_indexes(z_shape), model.z_tables)
        groups = stream_channels(model, group)
        if steps is not None:
            steps.add(1 + len(groups))
            steps.tick()
        y_bits = cheapest_bits(model.y_tables)
        y_sym = np.empty((1, model.config.M, z_shape[2] * 4, z_shape[3] * 4), dtype=np.int32)
        streams = iter(enumerate(parsed.streams[1 : 1 + len(groups)], start=1))

        def read(first: int, end: int, means, y_idx: np.ndarray) -> np.ndarray:
            """Decodes the streams of channels first..end, once their tables are known."""
            for start in range(first, end, group):
                i, stream = next(streams)
                idx = y_idx[:, start - first : min(start + group, end) - first]
                need = min_stream_bytes(float(y_bits[idx].sum()))  # the tables are known now: a sharper bound
                if len(stream) < need:
                    raise FormatError(f"latent stream {i} has {len(stream)} bytes, its symbols need at least {need}; "
                                      "the file is damaged")
                y_sym[:, start : start + idx.shape[1]] = decode(stream, idx, model.y_tables)
                if steps is not None:
                    steps.tick()
            return y_sym[:, first:end]

        latent = model.latent(torch.from_numpy(z_sym), read)
        residual = None
        if layer is not None:
            step, choice = layer
            first = 1 + len(groups)
            count = image_residual.stream_count(len(choice), height, width, MAX_GROUP_SYMBOLS)
            if steps is not None:
                steps.add(count)
            residual = step, image_residual.decode_planes(parsed.streams[first : first + count], choice, height, width,
                                                          MAX_GROUP_SYMBOLS, steps.tick if steps is not None else None)
        return model, z_sym, latent, y_sym, residual


class Steps:
    """Counts finished steps for a ``progress(done, total)`` callback (None: counts nothing). The
    total may grow: ``add`` when more work is known, and a --bpp search codes more than once."""

    def __init__(self, progress: Progress | None, total: int):
        self.progress, self.total, self.done = progress, total, 0

    def add(self, steps: int) -> None:
        self.total += steps

    def tick(self) -> None:
        if self.progress is not None:
            self.done += 1
            self.total = max(self.total, self.done)
            self.progress(self.done, self.total)


def tile_count(height: int, width: int, tile: int) -> int:
    """How many tiles ``models.image.tiling.tiled`` cuts a padded image into (0: untiled, one)."""
    return 1 if tile <= 0 or (height <= tile and width <= tile) else -(-height // tile) * -(-width // tile)


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


def planes_of(channels: int) -> int:
    """Colour planes the residual layer codes: one for a gray image, three otherwise (not alpha)."""
    return 1 if channels == 1 else 3


def residual_layer(header: dict, channels: int) -> tuple[int, np.ndarray] | None:
    """The checked (step, table choice) of the header's residual layer; None without one."""
    if "residual" not in header:
        return None
    return image_residual.check_header(header["residual"], planes_of(channels))


def check_image_streams(model, streams, height: int, width: int, channels: int, tile: int, group: int,
                        layer: tuple[int, np.ndarray] | None = None) -> None:
    """Refuse streams that cannot be what a valid header says, before anything is decoded: the
    tiling and grouping the encoder uses, the stream count, and z and residual streams long
    enough for the symbols the geometry implies (docs/FORMAT.md, "Limits")."""
    hp, wp = padded_size(height, model.stride), padded_size(width, model.stride)
    if tile != model.tile_for(hp, wp):
        raise FormatError(f"the header's tile size {tile} is not the {model.tile_for(hp, wp)} a {width}x{height} image "
                          "is coded with; the file is damaged")
    z_cells = (hp // model.stride) * (wp // model.stride)
    most = group_channels(model, z_cells * 16)  # y has 16 cells per z cell
    if group > most:
        raise FormatError(f"the header groups {group} latent channels a stream, at most {most} fit an image of this "
                          "size; the file is damaged")
    latent = 1 + len(stream_channels(model, group))
    residual = 0 if layer is None else image_residual.stream_count(len(layer[1]), height, width, MAX_GROUP_SYMBOLS)
    expected = latent + residual + (channels == 4)
    if len(streams) != expected:
        raise FormatError(f"an image of this shape needs {expected} streams, the file has {len(streams)}; it is damaged")
    if any(len(s) < RANS_MIN_BYTES for s in streams[: expected - (channels == 4)]):
        raise FormatError("an entropy-coded stream is shorter than any rANS stream can be; the file is damaged")
    need = min_stream_bytes(z_cells * float(cheapest_bits(model.z_tables)[: model.config.N].sum()))
    if len(streams[0]) < need:
        raise FormatError(f"a {width}x{height} image needs a hyper-latent stream of at least {need} bytes, the file's "
                          f"has {len(streams[0])}; it is damaged or forged")
    if layer is not None:
        image_residual.check_streams(streams[latent : latent + residual], layer[1], height, width, MAX_GROUP_SYMBOLS)


def group_channels(model, cells: int) -> int:
    """Latent channels per stream for a latent of ``cells`` positions: whole slices (the largest)
    when their symbols fit MAX_GROUP_SYMBOLS, fewer on huge images (bounds the rANS coder's lists)."""
    largest = max(end - first for first, end in model.config.slice_bounds())
    return min(largest, max(1, MAX_GROUP_SYMBOLS // cells))


def stream_channels(model, group: int) -> list[tuple[int, int]]:
    """(first, end) channels of each latent stream, in order: every slice cut into runs of ``group``
    channels. A stream never spans two slices: a slice's tables depend on the slices before it."""
    return [(start, min(start + group, end)) for first, end in model.config.slice_bounds()
            for start in range(first, end, group)]


def storable_metadata(metadata: ImageMetadata) -> dict[str, bytes]:
    """The items of ``metadata`` for ``container.pack``, refused (InputError) when over the
    container's caps or malformed: aecodec never writes a file its reader refuses."""
    items = metadata.items()
    for key, value in items.items():
        problem = container.metadata_problem(key, value)
        if problem:
            raise InputError(f"{problem}; leave the metadata out with --strip-metadata")
    return items


def refuse_unreadable(header: dict, streams: list, model) -> list:
    """The encoder's last step runs the decoder's checks: it never writes a file they refuse."""
    try:
        height, width, channels, _, tile, group = check_image_header(header)
        check_image_streams(model, streams, height, width, channels, tile, group, residual_layer(header, channels))
    except FormatError as exc:
        raise InputError(f"aecodec would write a file it cannot read ({exc}); please report this") from None
    return streams


def split_channels(item: Image) -> tuple[np.ndarray, np.ndarray | None]:
    px = item.pixels
    if item.channels == 1:
        return np.repeat(px, 3, axis=2), None
    if item.channels == 4:
        return px[:, :, :3], np.ascontiguousarray(px[:, :, 3])
    return px, None


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


def image_codec(device: str = "cpu", effort: int = 1) -> LearnedImageCodec:
    return LearnedImageCodec(device=device, effort=effort)
