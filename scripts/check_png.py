#!/usr/bin/env python3
"""Checks a screenshot is a real picture: PNG of at least MIN_W x MIN_H pixels, with
several distinct colours and a sizeable share of non-background pixels. Standard library
only (zlib), so it runs on a fresh machine.

    scripts/check_png.py FILE.png [MIN_W MIN_H]
"""
import struct
import sys
import zlib


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"check_png: {path} is not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                sys.exit(f"check_png: unsupported PNG (depth {depth}, colour type {ctype})")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (0, a, b, (a + b) // 2, paeth(a, b, c))[f]) & 0xFF
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    path = sys.argv[1]
    min_w, min_h = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (800, 600)
    w, h, bpp, rows = pixels(path)
    if w < min_w or h < min_h:
        sys.exit(f"check_png: {path} is {w}x{h}, expected at least {min_w}x{min_h}")
    counts = {}
    for line in rows[::2]:
        for x in range(0, w * bpp, bpp * 2):
            px = bytes(line[x:x + 3])
            counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values())
    background, bg_n = max(counts.items(), key=lambda kv: kv[1])
    non_bg = 1 - bg_n / total
    # The map's status colours must be there (green, blue, red-orange, grey).
    distinct = sum(1 for n in counts.values() if n > total * 0.002)
    if non_bg < 0.10 or distinct < 5:
        sys.exit(f"check_png: {path} looks blank: {non_bg:.0%} non-background pixels, "
                 f"{distinct} frequent colours")
    print(f"check_png: {path}: {w}x{h}, {non_bg:.0%} non-background pixels, {distinct} frequent colours")


main()
