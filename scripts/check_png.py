#!/usr/bin/env python3
"""Checks a headless browser's screenshot of a ptraudit HTML report really shows that
report: the PNG is newer than the page (not left from an earlier run), has the window's
size, and the first address map of the page is drawn — for each status colour of the
report's legend (read from the page's CSS), the screenshot holds at least the pixels the
page's map cells of that status cover (cells x pixels per cell squared, from the page's
`canvas` element), and not many more. Standard library only (zlib), so it runs on a fresh
machine.

    scripts/check_png.py FILE.png REPORT.html [W H]
"""
import math
import os
import re
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


def expected_from_page(html_path):
    """{rgb bytes: (status variable, pixels the first map draws in that colour)}."""
    page = open(html_path, encoding="utf-8").read()
    colours = dict(re.findall(r"(--[a-z]+):#([0-9a-f]{6})", page))
    m = re.search(r'<canvas width="(\d+)" height="\d+" data-cells="([0-9]*)"', page)
    if not m:
        sys.exit(f"check_png: {html_path} has no address map")
    width, cells = int(m.group(1)), m.group(2)
    side = round(math.sqrt(len(cells)))
    px = max(1, width // side)
    # The order of the page's script: cell digit k is drawn in colour names[k].
    names = ["--empty", "--custom", "--generic", "--fail", "--noptr", "--error"]
    want = {}
    for k, name in enumerate(names):
        n = cells.count(chr(48 + k)) * px * px
        if n and name != "--empty":
            want[bytes.fromhex(colours[name])] = (name, n)
    if not want:
        sys.exit(f"check_png: the map of {html_path} has no coloured cell")
    return want


def main():
    path, html = sys.argv[1], sys.argv[2]
    if not os.path.exists(path):
        sys.exit(f"check_png: {path} was not written (the browser failed?)")
    if os.path.getmtime(path) < os.path.getmtime(html):
        sys.exit(f"check_png: {path} is older than {html}: a screenshot of an earlier run")
    w, h, bpp, rows = pixels(path)
    if len(sys.argv) > 4:
        want_w, want_h = int(sys.argv[3]), int(sys.argv[4])
        if (w, h) != (want_w, want_h):
            sys.exit(f"check_png: {path} is {w}x{h}, expected the window's {want_w}x{want_h}")
    counts = {}
    for line in rows:
        for x in range(0, w * bpp, bpp):
            px = bytes(line[x:x + 3])
            counts[px] = counts.get(px, 0) + 1
    problems, seen = [], []
    for rgb, (name, n) in expected_from_page(html).items():
        got = counts.get(rgb, 0)
        seen.append(f"{name} {got}/{n}")
        # At least the map's cells (95%: a row may sit under a rounded corner); at most
        # the map plus the legend swatch, the score bars and the table (a few thousand).
        slack = 40_000 if name == "--custom" else 2_000
        if not 0.95 * n <= got <= n + slack:
            problems.append(f"{name} #{rgb.hex()}: {got} pixels, the map draws {n}")
    if problems:
        sys.exit(f"check_png: {path} does not show the map of {html}: " + "; ".join(problems))
    print(f"check_png: {path}: {w}x{h}, the map's colours as the page draws them ({', '.join(seen)})")


main()
