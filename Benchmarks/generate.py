#!/usr/bin/env python3
"""Realistic benchmark inputs: camera-like JPEGs with EXIF (camera, date, GPS, maker note, thumbnail), XMP with GPS,
an IPTC block, a comment and an sRGB ICC profile, plus a few PNG and WebP files with EXIF and ICC.

    generate.py OUT --count 2000 [--profile realistic|small] [--png 20] [--webp 20] [--seed 1]

`realistic` sizes follow photo uploads: about 60 % of files 200–500 KB, 30 % 0.5–2 MB, 10 % 2–5 MB. `small` makes
20–60 KB files for the scale scenario. Pixel data comes from a few dozen distinct base images (encoding is the slow
part); every file gets its own metadata, so every file has its own content hash. Needs Pillow and piexif (PyPI).
"""
import argparse
import io
import os
import random
import struct

import piexif
from PIL import Image, ImageCms, ImageDraw

CAMERAS = [("Canon", "Canon EOS 5D Mark IV"), ("NIKON CORPORATION", "NIKON D850"), ("Apple", "iPhone 15 Pro"),
           ("SONY", "ILCE-7M4"), ("FUJIFILM", "X-T5"), ("samsung", "SM-S918B"), ("Google", "Pixel 8")]

# (share, (width, height) choices, noise sigma) per size class; calibrated for quality 90 to land in the ranges above.
PROFILES = {
    "realistic": [(0.6, [(1400, 1050), (1600, 1200)], 28), (0.3, [(2400, 1800), (2800, 2100)], 40),
                  (0.1, [(3600, 2700), (4000, 3000)], 50)],
    "small": [(1.0, [(640, 480), (800, 600)], 12)],
}


def base_image(rng, size, sigma):
    width, height = size
    noise = Image.effect_noise((width, height), sigma).convert("L")
    gradient = Image.linear_gradient("L").resize((width, height))
    channels = [Image.blend(gradient.rotate(angle, expand=False), noise, 0.5) for angle in (0, 90, 180)]
    image = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(20, max(21, width // 6))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def rational(value):
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return ((degrees, 1), (minutes, 1), (seconds, 100))


def exif_bytes(rng, index, thumbnail):
    make, model = rng.choice(CAMERAS)
    year, month, day = rng.randrange(2015, 2026), rng.randrange(1, 13), rng.randrange(1, 29)
    stamp = f"{year:04d}:{month:02d}:{day:02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    lat, lon = rng.uniform(-60, 70), rng.uniform(-179, 179)
    exif = {
        "0th": {piexif.ImageIFD.Make: make, piexif.ImageIFD.Model: model, piexif.ImageIFD.Software: "bench-generator",
                piexif.ImageIFD.DateTime: stamp, piexif.ImageIFD.Orientation: rng.choice([1, 1, 1, 1, 6, 8, 3]),
                piexif.ImageIFD.Artist: f"Photographer {index % 17}", piexif.ImageIFD.Copyright: "(c) Example Studio"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: stamp, piexif.ExifIFD.DateTimeDigitized: stamp,
                 piexif.ExifIFD.ExposureTime: (1, rng.choice([60, 125, 250, 500])), piexif.ExifIFD.FNumber: (rng.choice([18, 28, 40, 56]), 10),
                 piexif.ExifIFD.ISOSpeedRatings: rng.choice([100, 200, 400, 800]),
                 piexif.ExifIFD.MakerNote: bytes(rng.getrandbits(8) for _ in range(2048)),
                 piexif.ExifIFD.ImageUniqueID: f"{index:032x}"},
        "GPS": {piexif.GPSIFD.GPSLatitudeRef: "N" if lat >= 0 else "S", piexif.GPSIFD.GPSLatitude: rational(abs(lat)),
                piexif.GPSIFD.GPSLongitudeRef: "E" if lon >= 0 else "W", piexif.GPSIFD.GPSLongitude: rational(abs(lon)),
                piexif.GPSIFD.GPSAltitude: (rng.randrange(0, 3000), 1)},
        "1st": {}, "thumbnail": thumbnail,
    }
    return piexif.dump(exif), lat, lon


def segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def xmp_segment(index, lat, lon):
    xml = (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
           f'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
           f'exif:GPSLatitude="{abs(lat):.6f}{"N" if lat >= 0 else "S"}" exif:GPSLongitude="{abs(lon):.6f}{"E" if lon >= 0 else "W"}">'
           f'<dc:creator><rdf:Seq><rdf:li>Photographer {index % 17}</rdf:li></rdf:Seq></dc:creator>'
           f'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
    return segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xml.encode())


def iptc_segment(index):
    record = b"\x1c\x02\x78" + struct.pack(">H", 24) + f"Caption for photo {index:06d}".encode()[:24].ljust(24)
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(record)) + record + (b"\x00" if len(record) % 2 else b"")
    return segment(0xED, b"Photoshop 3.0\x00" + resource)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="realistic")
    parser.add_argument("--png", type=int, default=0)
    parser.add_argument("--webp", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bases", type=int, default=40)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    classes = PROFILES[args.profile]
    bases = []
    for index in range(min(args.bases, max(args.count, 1))):
        pick, cumulative = rng.random(), 0.0
        for share, sizes, sigma in classes:
            cumulative += share
            if pick <= cumulative:
                break
        image = base_image(rng, rng.choice(sizes), sigma)
        encoded = io.BytesIO()
        image.save(encoded, "JPEG", quality=90, icc_profile=icc, progressive=index % 5 == 0)
        thumb = io.BytesIO()
        image.resize((160, 120)).save(thumb, "JPEG", quality=70)
        bases.append((encoded.getvalue(), thumb.getvalue(), image))

    total = 0
    for index in range(args.count):
        jpeg, thumbnail, _ = bases[index % len(bases)]
        exif, lat, lon = exif_bytes(rng, index, thumbnail)
        with_exif = io.BytesIO()
        piexif.insert(exif, jpeg, with_exif)
        data = with_exif.getvalue()
        # After SOI and the EXIF APP1: XMP, IPTC and a comment, as photo software writes them.
        exif_end = 2 + 2 + struct.unpack(">H", data[4:6])[0] if data[2:4] == b"\xff\xe1" else 2
        extra = xmp_segment(index, lat, lon) + iptc_segment(index) + segment(0xFE, f"uploaded by bench {index}".encode())
        data = data[:exif_end] + extra + data[exif_end:]
        path = os.path.join(args.out, f"IMG_{index:06d}.jpg")
        with open(path, "wb") as handle:
            handle.write(data)
        total += len(data)

    for kind, count in (("png", args.png), ("webp", args.webp)):
        for index in range(count):
            _, thumbnail, image = bases[index % len(bases)]
            small = image.resize((image.width // 2, image.height // 2))
            exif, _, _ = exif_bytes(rng, index, None)
            path = os.path.join(args.out, f"{kind.upper()}_{index:04d}.{kind}")
            if kind == "png":
                small.save(path, "PNG", exif=exif, icc_profile=icc, compress_level=6)
            else:
                small.save(path, "WEBP", exif=exif, icc_profile=icc, quality=85)
            total += os.path.getsize(path)

    files = args.count + args.png + args.webp
    print(f"{files} files, {total / 1e6:.1f} MB, mean {total / max(files, 1) / 1e3:.0f} KB, in {args.out}")


if __name__ == "__main__":
    main()
