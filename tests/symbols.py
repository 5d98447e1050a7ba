"""The fingerprint golden cases record of an `.aec` file: its latent symbols, which must be the same
on every machine and device (the entropy path is integer-exact)."""

from __future__ import annotations

import hashlib


def symbols_sha256(codec, data: bytes) -> str:
    """sha256 over a file's entropy-decoded symbols in file order: z, y, then the residual layer's
    for an image, chunk
    by chunk for audio: the conv-lstm codec's latents (its envelope layer is not part of it), the
    MDCT codec's band levels then coefficients."""
    symbols = codec.symbols(data)
    digest = hashlib.sha256()
    for kind in ("z", "y", "residual", "latent", "levels", "coefficients"):
        for array in symbols.get(kind, []):
            digest.update(array.tobytes())
    return digest.hexdigest()
