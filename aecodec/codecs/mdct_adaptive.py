"""Adaptive coefficient tables for the MDCT codec (mdct_coding.py; docs/FORMAT.md, "MDCT audio keys").

A model whose card sets ``adapt_every`` codes each chunk's coefficients with tables that learn
the chunk: every ``adapt_every`` frames each coefficient table becomes the trained one, worth
``adapt_weight`` symbols, plus the counts of the chunk's coefficients coded so far under it, as
adaptive arithmetic coders learn a file. Integer arithmetic only, so every machine builds the
same tables; the encoder (``block_tables``) and the decoder (``mdct_coding.read_chunk``) build
them alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aecodec.entropy.tables import CdfTables, escape_columns

COEF_RANGE = 15  # coefficients -15..15 have table entries, larger ones are escaped
COEF_SYMBOLS = 2 * COEF_RANGE + 2  # a coefficient table's alphabet: -15..15, then the escape
TABLE_PRECISION = 16  # the tables' CDFs sum to 2^16


@dataclass(frozen=True)
class Adaptation:
    """Coefficient tables that learn the chunk: frames ``every * b`` .. ``every * (b + 1) - 1``
    are coded with the trained tables (worth ``weight`` symbols each) plus the counts of every
    coefficient of frames before ``every * b`` under the same table, each counted with its
    mirror -q (coefficient tables stay symmetric: a sign costs one bit). ``every`` 0: static."""

    every: int = 0
    weight: int = 32


def count_coefficients(counts: np.ndarray, tables: np.ndarray, q: np.ndarray) -> None:
    """Add coefficients ``q`` coded with coefficient tables ``tables`` (0-based) and their mirrors
    to ``counts``, int64 (coefficient tables, COEF_SYMBOLS)."""
    escape = COEF_SYMBOLS - 1
    index = escape_columns(q, COEF_RANGE)
    mirror = np.where(index < escape, 2 * COEF_RANGE - index, escape)
    flat = np.concatenate([tables * COEF_SYMBOLS + index, tables * COEF_SYMBOLS + mirror])
    counts += np.bincount(flat, minlength=counts.size).reshape(counts.shape)


def adapted_tables(trained: CdfTables, counts: np.ndarray, weight: int, previous: CdfTables | None = None,
                   changed: np.ndarray | None = None) -> CdfTables:
    """The coefficient tables after ``counts``: frequencies proportional to the trained table's
    times ``weight`` plus 2^16 per count, each at least 1, the largest absorbing the rounding
    (integers only: every machine builds the same CDFs). Given the ``previous`` tables and which
    rows' counts ``changed`` since, the others keep their converted rows (the coder's lists): a
    row is a function of its counts alone, and converting 600 rows a block would cost more than
    coding them."""
    total, n = 1 << TABLE_PRECISION, COEF_SYMBOLS
    prior = np.diff(trained.cdf[:, : n + 1].astype(np.int64), axis=1)
    a = prior * weight + counts * total
    freq = np.maximum(1, a * (total - n) // a.sum(1, keepdims=True))
    freq[np.arange(freq.shape[0]), np.argmax(freq, axis=1)] += total - freq.sum(1)
    cdf = np.full(trained.cdf.shape, total, np.int64)
    cdf[:, 0] = 0
    cdf[:, 1 : n + 1] = np.cumsum(freq, axis=1)
    out = CdfTables(cdf.astype(np.int32), trained.cdf_length, trained.offset)
    if previous is not None and changed is not None:
        rows, lengths, offsets = previous._lists()
        rows = list(rows)
        for i in np.flatnonzero(changed):
            rows[i] = cdf[i, : lengths[i]].tolist()
        object.__setattr__(out, "_cached", (rows, lengths, offsets))
    return out


def block_tables(q: np.ndarray, tables: np.ndarray, live: np.ndarray, trained: CdfTables,
                 adapt: Adaptation, for_coder: bool = True) -> list[CdfTables]:
    """The coefficient tables of each block of ``adapt.every`` frames of a chunk whose
    coefficients are ``q`` (frames, M), coded with tables ``tables`` (0-based) where ``live``;
    ``for_coder`` also converts their rows for the rANS coder (not needed to count bits)."""
    counts = np.zeros((trained.size, COEF_SYMBOLS), np.int64)
    changed = np.zeros(trained.size, bool)
    out = []
    for start in range(0, q.shape[0], adapt.every):
        # the first rebuild converts every row: even a table without counts differs from the trained one
        previous = out[-1] if start > adapt.every and for_coder else None
        out.append(adapted_tables(trained, counts, adapt.weight, previous, changed) if start else trained)
        block = slice(start, start + adapt.every)
        used = tables[block][live[block]]
        count_coefficients(counts, used, q[block][live[block]])
        changed[:] = False
        changed[used] = True
    return out
