"""Hole masks for inpainting: free-form brush strokes and boxes, as bool (H, W), True = missing.

Brush strokes follow DeepFill v2 (Yu et al. 2019, "Free-Form Image Inpainting with Gated
Convolution", its ``brush_stroke_mask``): each stroke is a zig-zag polyline whose segments turn
by about 2*pi/5 either way, drawn with PIL ``ImageDraw.line(joint="curve")`` plus a disc at both
ends, so joins and caps are round. Unlike DeepFill, the hole fraction is controlled: segment
lengths start at DeepFill's scale (the image diagonal / 8) and are then scaled until the
strokes cover a fraction drawn from ``fraction``. Paths that leave the image are folded back
into it (reflected at the borders), so a stroke near an edge still covers its share.

Both functions are numpy + Pillow only and take well under 2 ms for 256x256 (they run per
training sample); all randomness comes from the ``rng`` passed in, so a seeded generator
gives the same mask on every machine.
"""

from __future__ import annotations

import math

import numpy as np
import PIL.Image
from PIL import ImageDraw

SEGMENTS = (2, 6)
"""Segments per stroke (inclusive); DeepFill v2 draws 4-12 vertices on larger images."""

MEAN_TURN = 2 * math.pi / 5
TURN_RANGE = 2 * math.pi / 15
"""A stroke's segments alternate between +-(MEAN_TURN +- up to TURN_RANGE) about its heading."""

ATTEMPTS = 4
"""Fresh stroke sets tried before giving up on hitting the fraction (tiny images can't)."""

FITS = 6
"""Length-scale corrections per stroke set; two or three usually land on the target."""

TOLERANCE = 0.1
"""Relative distance from the drawn target fraction at which a mask is accepted (if in range)."""


def _check_size(height: int, width: int) -> None:
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f"mask size must be at least 1x1, got {height}x{width}")


def _check_range(name: str, bounds: tuple[float, float], low: float, high: float | None = None) -> None:
    a, b = bounds
    if not (low <= a <= b and (high is None or b <= high)):
        limit = f"{low} <= low <= high" + ("" if high is None else f" <= {high}")
        raise ValueError(f"{name} must be (low, high) with {limit}, got {bounds}")


def _reflect(values: np.ndarray, size: int) -> np.ndarray:
    """Fold coordinates into [0, size - 1] as if the path bounced off the borders."""
    if size <= 1:
        return np.zeros_like(values)
    period = 2.0 * (size - 1)
    folded = np.mod(values, period)
    return np.where(folded > size - 1, period - folded, folded)


def _stroke_offsets(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """One stroke at scale 1: its start (x, y) and the (segments, 2) steps of its zig-zag path."""
    start = rng.uniform((0.0, 0.0), (width, height))
    segments = int(rng.integers(SEGMENTS[0], SEGMENTS[1] + 1))
    heading = rng.uniform(0.0, 2 * math.pi)
    turn_low = MEAN_TURN - rng.uniform(0.0, TURN_RANGE)
    turn_high = MEAN_TURN + rng.uniform(0.0, TURN_RANGE)
    turns = rng.uniform(turn_low, turn_high, size=segments) * np.where(np.arange(segments) % 2, 1.0, -1.0)
    radius = math.hypot(height, width) / 8.0  # DeepFill's average segment length
    lengths = np.clip(rng.normal(1.0, 0.5, size=segments), 0.1, 2.0) * radius
    angles = heading + turns
    return start, np.stack([lengths * np.cos(angles), lengths * np.sin(angles)], axis=1)


def _draw(
    height: int, width: int, strokes: list[tuple[np.ndarray, np.ndarray]], widths: np.ndarray, scale: float
) -> tuple[PIL.Image.Image, int]:
    """Render the strokes with their steps multiplied by ``scale``; returns the image and its hole count."""
    canvas = PIL.Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    piece = max(2.0, min(height, width) / 2.0)
    for (start, steps), stroke_width in zip(strokes, widths):
        # Split long segments so each piece bounces at most once: folding only the vertices of a
        # long segment would draw a chord that can be far shorter than the segment.
        scaled = steps * scale
        pieces = np.maximum(1, np.ceil(np.hypot(scaled[:, 0], scaled[:, 1]) / piece)).astype(int)
        steps_split = np.repeat(scaled / pieces[:, None], pieces, axis=0)
        path = start + np.concatenate([np.zeros((1, 2)), np.cumsum(steps_split, axis=0)])
        xs, ys = _reflect(path[:, 0], width), _reflect(path[:, 1], height)
        points = list(zip(xs.tolist(), ys.tolist()))
        draw.line(points, fill=255, width=int(stroke_width), joint="curve")
        radius = stroke_width / 2.0
        for x, y in (points[0], points[-1]):  # round caps; joint="curve" rounds the inner joins
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return canvas, canvas.histogram()[255]


def brush_stroke_mask(
    height: int,
    width: int,
    rng: np.random.Generator,
    strokes: tuple[int, int] = (3, 7),
    width_px: tuple[float, float] = (8, 24),
    fraction: tuple[float, float] = (0.05, 0.15),
) -> np.ndarray:
    """A free-form brush-stroke hole mask, DeepFill v2 style, covering a fraction in ``fraction``.

    Args:
        height, width: mask size in pixels (any size from 1x1).
        rng: the only source of randomness.
        strokes: (min, max) number of strokes, inclusive.
        width_px: (min, max) brush width in pixels. On images too small for ``strokes`` strokes
            of that width to fit the fraction, widths shrink to sqrt(hole area / strokes).
            Where a few thin strokes fall short of the fraction (long strokes cross themselves),
            a retry adds a stroke beyond ``strokes``; with the defaults this does not happen.
        fraction: (min, max) share of pixels that are holes; the target is drawn uniformly
            from it and the stroke lengths are fitted to it.

    Returns:
        bool array (height, width), True where pixels are missing. Its hole fraction is inside
        ``fraction`` except on images too small for that to be possible (a few pixels across),
        where it is the closest of the tries.

    Raises:
        ValueError: a size under 1 or a malformed range.
    """
    _check_size(height, width)
    _check_range("strokes", strokes, 1)
    _check_range("width_px", width_px, 1)
    _check_range("fraction", fraction, 0.0, 1.0)
    area = height * width
    low, high = fraction[0] * area, fraction[1] * area
    best: tuple[float, float, PIL.Image.Image | None] = (math.inf, math.inf, None)
    extra = 0  # strokes beyond ``strokes``, added after attempts that could not cover enough
    for _ in range(ATTEMPTS):
        target = rng.uniform(*fraction) * area
        tolerance = TOLERANCE * target
        count = int(rng.integers(strokes[0], strokes[1] + 1)) + extra
        cap = max(1.0, math.sqrt(target / count))  # keeps each stroke at least about as long as wide
        widths = np.maximum(1, np.rint(rng.uniform(min(width_px[0], cap), min(width_px[1], cap), size=count)))
        shapes = [_stroke_offsets(rng, height, width) for _ in range(count)]
        caps = float(np.sum(np.pi * widths**2 / 4))  # area at scale 0: the end discs
        length = sum(float(np.sum(np.hypot(*steps.T))) * w for (_, steps), w in zip(shapes, widths))
        scale = max(target - caps, 0.25 * target) / max(length, 1e-9)
        previous: tuple[float, int] | None = None
        for _ in range(FITS):
            canvas, covered = _draw(height, width, shapes, widths, scale)
            miss = max(low - covered, covered - high, 0.0)
            error = abs(covered - target)
            if (miss, error) < best[:2]:
                best = (miss, error, canvas)
            if miss == 0.0 and error <= tolerance:
                return np.asarray(canvas) > 0
            # Coverage grows about linearly with length: a secant step, else a proportional one.
            if previous is not None and covered != previous[1]:
                slope = (covered - previous[1]) / (scale - previous[0])
                step = scale + (target - covered) / slope if slope > 0 else scale * target / max(covered, 1)
            else:
                step = scale * (target - caps) / max(covered - caps, 1.0) if covered > caps else scale * 2.0
            previous = (scale, covered)
            scale = min(max(step, 0.0), 50.0 * scale + 1.0)
            if scale == previous[0]:
                break
        if best[0] > 0 and best[2] is not None and best[2].histogram()[255] < low:
            extra += 1  # too few, too thin strokes (overlapping once long) fell short: add one
    assert best[2] is not None  # every attempt draws at least once
    return np.asarray(best[2]) > 0


def box_mask(height: int, width: int, rng: np.random.Generator,
             boxes: tuple[int, int] = (1, 3), size: tuple[float, float] = (0.05, 0.3)) -> np.ndarray:
    """Rectangular holes: ``boxes`` (min, max, inclusive) axis-aligned boxes, possibly overlapping.

    Each box's height and width are independent uniform draws from ``size`` times the image's
    height and width (at least 1 px); boxes lie wholly inside the image.

    Returns:
        bool array (height, width), True where pixels are missing.

    Raises:
        ValueError: a size under 1 or a malformed range.
    """
    _check_size(height, width)
    _check_range("boxes", boxes, 1)
    _check_range("size", size, 0.0, 1.0)
    mask = np.zeros((height, width), dtype=bool)
    for _ in range(int(rng.integers(boxes[0], boxes[1] + 1))):
        box_h = min(height, max(1, round(rng.uniform(*size) * height)))
        box_w = min(width, max(1, round(rng.uniform(*size) * width)))
        top = int(rng.integers(0, height - box_h + 1))
        left = int(rng.integers(0, width - box_w + 1))
        mask[top : top + box_h, left : left + box_w] = True
    return mask


def read_mask(path: str, width: int, height: int) -> np.ndarray:
    """A user's mask image -> bool (H, W), True = missing: luminance >= 128 (Pillow's ITU-R 601
    weights, in integers so that grey 128 counts alike in L and RGB). RGBA masks count as drawn
    over black, so transparent pixels are kept whatever colour they store.

    Raises:
        InputError: the mask cannot be read, or its size is not ``width`` x ``height``.
    """
    from aecodec.errors import InputError
    from aecodec.media.image import read_image
    from aecodec.restore.image import MAX_PIXELS

    mask = read_image(path, max_pixels=MAX_PIXELS)
    if (mask.width, mask.height) != (width, height):
        raise InputError(f"the mask '{path}' is {mask.width}x{mask.height} but the image is {width}x{height}; "
                         "give a mask of the image's size")
    px = mask.pixels.astype(np.int64)
    if mask.channels == 1:
        return px[:, :, 0] >= 128
    luminance = px[:, :, 0] * 299 + px[:, :, 1] * 587 + px[:, :, 2] * 114  # x 1000
    if mask.channels == 4:
        return luminance * px[:, :, 3] >= 128 * 1000 * 255
    return luminance >= 128 * 1000
