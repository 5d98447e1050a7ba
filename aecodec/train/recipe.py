"""Recipes: a JSON file of a trainer's config keys, with the CLI's options on top, checked key by
key (type, range, the size of one step) before anything is built."""

from __future__ import annotations

import json
import math

MAX_RECIPE_BYTES = 1 << 20
# Sane maxima of recipe values, by key, at any level ("model" included; for lists, each element):
# far above every shipped recipe, far below what would take a machine's memory or a lifetime.
RECIPE_RANGES: dict[str, tuple[float, float]] = {
    "steps": (1, 10**9), "seed": (0, 2**63 - 1), "batch_size": (1, 4096), "warmup": (0, 10**9), "log_every": (1, 10**9),
    "checkpoint_every": (1, 10**9), "val_every": (1, 10**9), "threads": (0, 1024), "workers": (-1, 256),
    "lr": (0, 1), "lr_final": (0, 1), "aux_lr": (0, 1), "decay_from": (0, 1), "clip": (0, 1e6),
    "crop": (16, 4096), "segment_seconds": (0.01, 60), "val_files": (0, 10**4), "val_seconds": (0, 3600),
    "max_file_seconds": (0.01, 10**6), "gain_lr_scale": (0, 1e4), "latent_gain_init": (1e-6, 1e9),
    "spectral_loss": (0, 100), "suppression_loss": (0, 100), "ema": (0, 0.99999),
    # architectures: widths, depths, kernels
    "N": (1, 1024), "M": (1, 1024), "levels": (2, 64), "channels": (1, 2048), "latent": (1, 1024),
    "strides": (1, 64), "kernel": (1, 63), "dilations": (1, 1024), "lstm_layers": (1, 8),
    "widths": (1, 1024), "blocks": (0, 32), "unshuffle": (1, 8), "in_channels": (1, 64), "out_channels": (1, 64),
    "hidden": (1, 4096), "layers": (1, 16), "n_fft": (16, 16384), "hop": (1, 16384),
    "sample_rate": (1000, 768000), "stft_windows": (16, 65536), "mel_scales": (1, 65536),
    "slices": (1, 1024), "context_channels": (1, 1024), "refine_channels": (0, 1024), "high_levels": (0, 16),
    "conv_channels": (0, 256), "conv_from_hz": (0, 384000), "df_order": (0, 16), "df_hz": (0, 384000),
}
# Lists that grew after recipes were written: a shorter one keeps its meaning (the items added
# later take their "off" value), so those recipes, and checkpoints made from them, still load.
GROWN_LISTS = ("noise_kinds",)
MAX_STEP_PIXELS = 1 << 22  # batch_size * crop^2 of image training (4M pixels: e.g. 64 crops of 256^2)
MAX_STEP_SAMPLES = 1 << 24  # batch_size * longest segment of audio training (16M: 64 x 10 s at 24 kHz)


def read_recipe(path: str | None, overrides: dict) -> dict:
    """A recipe JSON's keys (those starting with '_' are comments) updated with the CLI's
    overrides that were given (not None).

    Raises:
        InputError: the file is missing, not a regular file, over 1 MiB, not JSON, or not a
            JSON object (``validate_recipe`` then checks its keys and values).
    """
    from aecodec.errors import InputError
    from aecodec.media.inputs import read_regular_file

    recipe = {}
    if path:
        def error(reason: str, hint: str) -> InputError:
            return InputError(f"cannot read recipe '{path}': {reason}; {hint}")

        data = read_regular_file(path, error, MAX_RECIPE_BYTES, "give a recipe .json file")
        try:
            recipe = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError; deep nesting
            reason = "nested too deeply" if isinstance(e, RecursionError) else str(e).splitlines()[0][:80]
            raise error(f"it is not JSON ({reason})", "fix the file or pass another --config") from None
        if not isinstance(recipe, dict):
            raise error(f"it holds a JSON {type(recipe).__name__}, not an object of settings",
                        'write it as {"key": value, ...}')
        recipe = {k: v for k, v in recipe.items() if not k.startswith("_")}
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    return recipe


def validate_recipe(recipe: dict, config_cls: type, nested: dict[str, type] | None = None,
                    source: str = "the recipe", options: dict[str, dict] | None = None) -> None:
    """Check a recipe (``read_recipe``'s dict) against the trainer's config dataclass before
    anything is built: every key known, every value of its field's type (a dataclass-typed
    field, or one named in ``nested``, e.g. {"model": UNetConfig}, is checked the same way,
    one level down), numbers within ``RECIPE_RANGES``, and a training step's size within
    ``MAX_STEP_PIXELS`` / ``MAX_STEP_SAMPLES``. A dict field named in ``options`` (e.g. a
    restoration task's "degrade") may hold only the keys of its defaults there, each shaped
    like its default (a number, a list of as many numbers, or for an empty list, strings).

    Raises:
        InputError: naming the first bad key and value, in one line.
    """
    _check_fields(recipe, config_cls, nested or {}, source, "")
    for key, defaults in (options or {}).items():
        if isinstance(recipe.get(key), dict):
            _check_like(recipe[key], defaults, source, key)
    _check_step_size(recipe, config_cls, nested or {}, source)


def _check_like(values: dict, defaults: dict, source: str, prefix: str) -> None:
    from aecodec.errors import InputError

    for key, value in values.items():
        name = f"{prefix}.{key}"
        if key not in defaults:
            raise InputError(f"{source}: unknown key '{name}'; known keys are {', '.join(sorted(defaults))}")
        like = defaults[key]
        if isinstance(like, (list, tuple)) and not like:  # an empty default holds names (patterns)
            ok = isinstance(value, list) and len(value) <= 64 and all(
                isinstance(v, str) and 0 < len(v) <= 200 for v in value)
            if not ok:
                raise InputError(f"{source}: '{name}' must be a list of at most 64 non-empty strings, "
                                 f"got {_show(value)}; fix the recipe")
            continue
        if isinstance(like, (list, tuple)):
            lengths = range(1, len(like) + 1) if key in GROWN_LISTS else (len(like),)
            ok = isinstance(value, list) and len(value) in lengths and len(list(_numbers(value))) == len(value)
            problem = f"must be a list of {'up to ' if key in GROWN_LISTS else ''}{len(like)} numbers"
        else:
            ok = len(list(_numbers(value))) == 1 and not isinstance(value, list)
            problem = "must be a number"
        if ok and not all(math.isfinite(v) for v in _numbers(value)):
            ok, problem = False, "must be finite"
        if not ok:
            raise InputError(f"{source}: '{name}' {problem}, got {_show(value)}; fix the recipe")


def _check_fields(values: dict, cls: type, nested: dict[str, type], source: str, prefix: str) -> None:
    import dataclasses
    import typing

    from aecodec.errors import InputError

    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key, value in values.items():
        name = prefix + str(key)
        if key not in known:
            raise InputError(f"{source}: unknown key '{name}'; known keys are {', '.join(sorted(known))}")
        kind = nested.get(key) if not prefix else None
        kind = kind or hints[key]
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise InputError(f"{source}: '{name}' must be an object of settings, got {_show(value)}; "
                                 'write it as {"key": value, ...}')
            _check_fields(value, kind, {}, source, name + ".")
            continue
        problem = _type_problem(value, kind)
        if problem is None:
            problem = _range_problem(key, value)
        if problem is not None:
            raise InputError(f"{source}: '{name}' {problem}, got {_show(value)}; fix the recipe or the option")


def _type_problem(value, kind) -> str | None:
    """Why ``value`` (parsed JSON) cannot be a ``kind``, or None."""
    import types
    import typing

    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        problems = [_type_problem(value, arm) for arm in args]
        return None if None in problems else " or ".join(p for p in problems if p)
    if kind is type(None):
        return None if value is None else "must be null"
    if kind is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if kind is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be a whole number"
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "must be a number"
    if kind is str:
        return None if isinstance(value, str) else "must be a string"
    if kind is dict or origin is dict:
        return None if isinstance(value, dict) else "must be an object"
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return "must be a list"
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                return f"must be a list of {len(args)}"
            items = zip(value, args)
        else:
            items = ((v, args[0] if args else object) for v in value)
        for item, arm in items:
            problem = None if arm is object else _type_problem(item, arm)
            if problem:
                return f"must be a list whose items {problem.removeprefix('must ')}".replace("items be", "items are")
        return None
    return None  # a type this check does not know: the config's own construction judges it


def _range_problem(key: str, value) -> str | None:
    bounds = RECIPE_RANGES.get(key)
    if bounds is None:
        return None
    numbers = list(_numbers(value))
    lo, hi = bounds
    if any(not lo <= v <= hi for v in numbers):
        return f"must be within {lo:g}..{hi:g}"
    return None


def _numbers(value):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def _check_step_size(recipe: dict, config_cls: type, nested: dict[str, type], source: str) -> None:
    """What one training step costs, from the recipe and the config's defaults."""
    import dataclasses

    from aecodec.errors import InputError

    defaults = {f.name: f.default for f in dataclasses.fields(config_cls) if f.default is not dataclasses.MISSING}
    batch = recipe.get("batch_size", defaults.get("batch_size", 1))
    crop = recipe.get("crop", defaults.get("crop"))
    if isinstance(crop, int) and batch * crop * crop > MAX_STEP_PIXELS:
        raise InputError(f"{source}: batch_size {batch} x crop {crop}^2 is {batch * crop * crop} pixels a step, "
                         f"over the {MAX_STEP_PIXELS} limit; lower batch_size or crop")
    seconds = recipe.get("segment_seconds", defaults.get("segment_seconds"))
    if seconds is None:
        return
    longest = max(_numbers(seconds), default=0)
    model = recipe.get("model") or {}
    rate = model.get("sample_rate", 24000) if isinstance(model, dict) else 24000
    if batch * longest * rate > MAX_STEP_SAMPLES:
        raise InputError(f"{source}: batch_size {batch} x {longest:g} s at {rate} Hz is "
                         f"{int(batch * longest * rate)} samples a step, over the {MAX_STEP_SAMPLES} limit; "
                         "lower batch_size or segment_seconds")


def _show(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
