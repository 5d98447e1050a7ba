"""Fuzzing the .aec reader: valid files round-trip; damaged or foreign bytes raise FormatError only.

Anything other than FormatError escaping ``unpack`` (struct.error, KeyError, RecursionError,
...) fails these tests.
"""

from __future__ import annotations

import struct
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aecodec.container import MAGIC, MAJOR, Container, pack, unpack
from aecodec.errors import FormatError

# No example database: the suite must not write into the source tree.
FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
headers = st.fixed_dictionaries(
    {
        "media": st.sampled_from(["image", "audio"]),
        "model": st.fixed_dictionaries(
            # model names are printable (they reach terminals): no control, format or separator characters
            {"name": st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")),
                             min_size=1, max_size=30),
             "sha256": st.text("0123456789abcdef", min_size=16, max_size=64)}
        ),
    },
    optional={"quality": st.floats(1, 100), "extra": json_values, "ünï": st.text(max_size=10)},
)
stream_lists = st.lists(st.binary(max_size=64), max_size=6)
files = st.builds(pack, headers, stream_lists)


def refuses(data: bytes) -> bool:
    try:
        unpack(data)
    except FormatError:
        return True
    return False


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


@FUZZ
@given(headers, stream_lists)
def test_any_valid_header_and_streams_round_trip(header: dict, streams: list[bytes]) -> None:
    expected = Container({**header, "streams": len(streams)}, tuple(streams))
    assert unpack(pack(header, streams)) == expected


@FUZZ
@given(files)
def test_every_truncation_is_refused(data: bytes) -> None:
    assert all(refuses(data[:size]) for size in range(len(data)))


@FUZZ
@given(files, st.data())
def test_any_single_bit_flip_is_refused(data: bytes, draw: st.DataObject) -> None:
    bit = draw.draw(st.integers(0, len(data) * 8 - 1), label="bit")
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert refuses(bytes(flipped))


def test_every_single_bit_flip_of_one_file_is_refused() -> None:
    header = {"media": "audio", "model": {"name": "m", "sha256": "ab" * 8}}
    data = pack(header, [b"xyz", b"\x00" * 9])
    for bit in range(len(data) * 8):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert refuses(bytes(flipped)), bit


@FUZZ
@given(files, st.binary(min_size=1, max_size=16))
def test_appended_bytes_are_refused(data: bytes, extra: bytes) -> None:
    assert refuses(data + extra)


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_are_refused(data: bytes) -> None:
    assert refuses(data)


@FUZZ
@given(st.integers(0, 255), st.binary(max_size=512))
def test_random_bodies_behind_a_valid_prefix_and_checksum_raise_only_format_error(
    minor: int, rest: bytes
) -> None:
    # A correct checksum gets random bytes past the CRC check into the length and JSON parsing.
    refuses(with_crc(MAGIC + bytes([MAJOR, minor]) + rest))


@FUZZ
@given(files, st.data())
def test_mutations_behind_a_recomputed_checksum_raise_only_format_error(
    data: bytes, draw: st.DataObject
) -> None:
    body = bytearray(data[:-4])
    for _ in range(draw.draw(st.integers(1, 4), label="mutations")):
        at = draw.draw(st.integers(6, len(body) - 1), label="offset")
        body[at] = draw.draw(st.integers(0, 255), label="byte")
    refuses(with_crc(bytes(body)))
