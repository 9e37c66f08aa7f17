"""Just enough PNG decoding to judge a screenshot (8-bit RGB/RGBA, non-interlaced: what Chromium
writes), without an imaging library in the dev requirements."""

from __future__ import annotations

import struct
import zlib
from collections import Counter

_CHANNELS = {2: 3, 6: 4}  # color type -> bytes per pixel at bit depth 8


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def png_colours(data: bytes, step: int = 5, max_rows: int | None = None) -> Counter[tuple[int, ...]]:
    """Colours of every `step`-th pixel of every `step`-th row, of the first `max_rows` rows (decoding
    is pure Python: a whole 1280 x 2000 screenshot takes seconds)."""
    width, height = png_size(data)
    depth, colour_type, interlace = data[24], data[25], data[28]
    if depth != 8 or colour_type not in _CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}, interlace {interlace}")
    bpp = _CHANNELS[colour_type]
    raw = zlib.decompress(b"".join(_chunks(data, b"IDAT")))
    stride = width * bpp
    previous = bytearray(stride)
    colours: Counter[tuple[int, ...]] = Counter()
    for y in range(min(height, max_rows or height)):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, bpp)
        if y % step == 0:
            for x in range(0, width, step):
                colours[tuple(row[x * bpp : x * bpp + 3])] += 1
        previous = row
    return colours


def _chunks(data: bytes, kind: bytes):
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == kind:
            yield data[at + 8 : at + 8 + length]
        at += 12 + length


def _unfilter(kind: int, row: bytearray, prev: bytearray, bpp: int) -> bytearray:
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        up = prev[i]
        corner = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 2:
            row[i] = (row[i] + up) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + ((left + up) >> 1)) & 0xFF
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            row[i] = (row[i] + pred) & 0xFF
    return row
