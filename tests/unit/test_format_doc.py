"""docs/FORMAT.md stays true: its tables and example agree with aecodec.container."""

from __future__ import annotations

import json
import math
import re
import struct
from pathlib import Path

import aecodec.container as container

DOC = (Path(__file__).parents[2] / "docs" / "FORMAT.md").read_text(encoding="utf-8")


def table_after(heading: str) -> list[list[str]]:
    """The cells of the first Markdown table after a line starting with ``heading``."""
    lines = DOC[DOC.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:  # skip the header row and the |---| rule
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def documented_constants() -> dict[str, str]:
    return {name.strip("`"): value.strip("`") for name, value, _ in table_after("Constants")}


def test_every_documented_constant_matches_the_code() -> None:
    constants = documented_constants()
    assert bytes.fromhex(constants.pop("MAGIC")) == container.MAGIC
    assert constants, "the constants table is empty"
    for name, value in constants.items():
        assert int(value) == getattr(container, name), name


def test_the_fixed_fields_sit_where_the_layout_table_says() -> None:
    data = container.pack({"media": "audio", "model": {"name": "m", "sha256": "0" * 16}}, [b"abc"])
    header_length = struct.unpack_from("<I", data, 6)[0]
    expected = {
        "magic": container.MAGIC,
        "major version": bytes([container.MAJOR]),
        "minor version": bytes([container.MINOR]),
        "header length": struct.pack("<I", header_length),
    }
    rows = {field: (offset, size) for offset, size, _, field, _ in table_after("| Offset")}
    for field, value in expected.items():
        offset, size = rows[field]
        assert data[int(offset): int(offset) + int(size)] == value, field
    assert rows["stream count"] == ("10 + H", "4")
    assert data[10 + header_length: 14 + header_length] == struct.pack("<I", 1)
    assert rows["checksum"] == ("end-4", "4")


def test_the_documented_header_dictionary_is_the_one_in_use() -> None:
    (block,) = re.findall(r"## Header storage.*?```text\n(.*?)\n```", DOC, re.DOTALL)
    assert block.encode("ascii") == container.HEADER_DICTIONARY
    assert f"{len(container.HEADER_DICTIONARY)} ASCII bytes" in DOC


def example_header(media: str = "image") -> dict:
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DOC, re.DOTALL)]
    (header,) = [h for h in examples if h["media"] == media]
    return header


def test_the_example_headers_pack_and_read_back() -> None:
    for media in ("image", "audio"):
        header = example_header(media)
        streams = [b"\x00"] * header["streams"]
        assert container.unpack(container.pack(header, streams)).header == header


def test_the_example_follows_the_image_stream_rule() -> None:
    header = example_header()
    geometry, latent_channels = header["geometry"], 128  # the example's M
    y_streams = math.ceil(latent_channels / header["y_group_channels"])
    assert header["streams"] == 1 + y_streams + (geometry["channels"] == 4)
    assert {1: "L", 3: "RGB", 4: "RGBA"}[geometry["channels"]] == geometry["mode"]
    assert 1 <= header["quality"] <= 100 and header["tiles"]["size"] % 64 == 0


def test_every_key_in_the_examples_is_documented() -> None:
    common = {row[0].strip("`") for row in table_after("Keys every file MUST have")}
    for media, heading in (("image", "### Image codec keys"), ("audio", "### Audio codec keys")):
        documented = common | {row[0].strip("`") for row in table_after(heading)}
        used = set()
        for key, value in example_header(media).items():
            used |= {f"{key}.{sub}" for sub in value} if isinstance(value, dict) else {key}
        assert used <= documented, media


def test_the_audio_example_follows_the_chunk_and_stream_rules() -> None:
    from aecodec.media.chunks import chunk_count
    from aecodec.codecs.audio_header import check_audio_header

    header = example_header("audio")
    h = check_audio_header(header)
    model_frames = math.ceil(h.frames * 24000 / h.sample_rate)
    layers = 1 if h.envelope is None else 2
    assert header["streams"] == chunk_count(model_frames, h.chunk_frames, h.overlap) * h.coded_channels * layers == 12
