#!/usr/bin/env python3
"""Small fuzzing seeds from the corpus's ISO files (HEIF, AVIF, MP4, MOV, 3GP), and hostile SVGs, for `make fuzz`.

libFuzzer reads at most -max_len bytes of each input, and these files keep their header boxes after (or around)
hundreds of kilobytes of media data. Each seed is the file with every `mdat` cut to 64 bytes, or, for HEIF, rebuilt
from small slices of each item with the `iloc` extents pointed at them, so the fuzzer starts from structures our
parsers accept instead of ones they reject at once. The seeds are derived at fuzz time and not committed; the corpus's SOURCES.md covers their origin.
usage: make-seeds.py CORPUS_DIR OUT_DIR
"""
import os, struct, sys

KEEP = 64

def boxes(data, start, end):
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack('>I4s', data[offset:offset + 8])
        header = 8
        if size == 1:
            size = struct.unpack('>Q', data[offset + 8:offset + 16])[0]; header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield kind, offset, header, offset + size
        offset += size

def shrink(data):
    out = bytearray(); moved = []  # (old mdat payload start, new start)
    for kind, start, header, end in boxes(data, 0, len(data)):
        if kind == b'mdat':
            payload = data[start + header:end][:KEEP]
            moved.append((start + header, len(out) + 8))
            out += struct.pack('>I4s', 8 + len(payload), b'mdat') + payload
        else:
            out += data[start:end]
    return bytes(out), moved

def heif_seed(data):
    """The HEIF with its mdat rebuilt from the item extents it holds: small extents (Exif, XMP, grid descriptors)
    whole, up to 1 KiB, large ones (coded tiles) cut to 16 bytes, every iloc extent pointed at its slice."""
    data = bytearray(data)
    top = list(boxes(data, 0, len(data)))
    meta = next((b for b in top if b[0] == b'meta'), None)
    mdat = next((b for b in top if b[0] == b'mdat'), None)
    if not meta or not mdat:
        return None
    _, start, header, end = meta
    iloc = next((b for b in boxes(data, start + header + 4, end) if b[0] == b'iloc'), None)
    if not iloc:
        return None
    _, cstart, cheader, _ = iloc
    p = cstart + cheader; version = data[p]; p += 4
    sizes, more = data[p], data[p + 1]; p += 2
    off_size, len_size, base_size = sizes >> 4, sizes & 15, more >> 4
    index_size = more & 15 if version else 0
    count = int.from_bytes(data[p:p + (2 if version < 2 else 4)], 'big'); p += 2 if version < 2 else 4
    def field(at, width):
        return int.from_bytes(data[at:at + width], 'big') if width else 0
    def put(at, width, value):
        if width: data[at:at + width] = value.to_bytes(width, 'big')
    payload = bytearray()
    # The new mdat goes where the old one was: everything before it keeps its place.
    payload_start = mdat[1] + 8
    for _ in range(count):
        p += 2 if version < 2 else 4
        method = data[p + 1] & 15 if version else 0
        p += 2 if version else 0
        p += 2
        base = field(p, base_size); put(p, base_size, 0); p += base_size
        extents = int.from_bytes(data[p:p + 2], 'big'); p += 2
        for _ in range(extents):
            p += index_size
            offset = base + field(p, off_size); length = field(p + off_size, len_size)
            if method == 0 and off_size and len_size:
                keep = length if length <= 1024 else 16
                piece = data[offset:offset + keep]
                put(p, off_size, payload_start + len(payload)); put(p + off_size, len_size, len(piece))
                payload += piece
            p += off_size + len_size
    return bytes(data[:mdat[1]]) + struct.pack('>I4s', 8 + len(payload), b'mdat') + bytes(payload) + bytes(data[mdat[3]:])

# Hostile SVGs for the SVG/XML checks (SVGSafety): XXE, parameter entities, entity expansion, external DTDs.
SVG_SEEDS = {
    'svg-xxe.svg': '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY e SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg"><text>&e;</text></svg>',
    'svg-parameter.svg': '<!DOCTYPE svg [<!ENTITY % p SYSTEM "http://example.com/x.dtd"> %p;]><svg/>',
    'svg-laughs.svg': '<!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><svg>&b;</svg>',
    'svg-external.svg': '<!DOCTYPE svg SYSTEM "http://example.com/evil.dtd"><svg/>',
    'svg-w3c.svg': '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>',
    'svg-utf7.svg': '<?xml version="1.0" encoding="UTF-7"?>+ADw-svg/+AD4-',
}

def main(corpus, out):
    os.makedirs(out, exist_ok=True)
    for name, text in SVG_SEEDS.items():
        open(os.path.join(out, name), 'w').write(text)
    for folder, _, files in os.walk(corpus):
        for name in files:
            path = os.path.join(folder, name)
            data = open(path, 'rb').read()
            if data[4:8] not in (b'ftyp', b'moov', b'mdat', b'wide', b'free'):
                continue
            seed = heif_seed(data) if b'pict' in data[:4096] else None
            seed = seed or shrink(data)[0]
            open(os.path.join(out, 'iso-' + name), 'wb').write(seed)

if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
