#!/usr/bin/env python3
"""Generates the photo-library export trees the tests run over (committed; run again only to change them).

    python3 Tests/Fixtures/exports/generate.py

- takeout/  a Google Takeout archive as it unpacks: `Takeout/Google Photos/<album or year>/`, each photo with its
            JSON (`NAME.json`, `NAME.supplemental-metadata.json`, cut to 46 characters before `.json`, the `(1)` of a
            renamed copy moved before `.json`, an edited copy sharing its original's file), album `metadata.json`,
            an orphan JSON, a JSON of another kind (not Takeout's).
- iphone/   an iPhone export (Image Capture / Windows import): `IMG_5195.HEIC` + `IMG_5195.MOV` (one Live Photo: the
            MOV carries the HEIC's content identifier) + `IMG_5195.AAE`; `IMG_5196.JPG` + `IMG_O5196.AAE` (iOS 16
            name); a still and a video of one stem that are not one Live Photo (only the video has an identifier); a
            video on its own; an orphan AAE.
- camera/   XMP sidecars: digiKam/darktable style (`DSC_0001.JPG.xmp`), Lightroom style (`DSC_0002.xmp`), an orphan.

Needs (at generation time only): cjpeg (libjpeg-turbo-progs), exiftool, ffmpeg. Photos are drawn here (no third-party
pixels); the HEIC and MOV are copies of corpus files, credited in SOURCES.md beside them.
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "corpus"))
# Real places, so that a leak is unmistakable: Paris (Takeout), Tel Aviv (iPhone), Zurich (camera).
PARIS = (48.858370, 2.294481, 35.0)
LIVE_ID = "570F1469-09C7-4E50-9875-05F21D5BD166"  # the corpus HEIC's MediaGroupUUID


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def jpeg(path, seed, lat=None, lon=None, taken="2019:07:24 11:25:40"):
    """A small JPEG drawn from `seed` (distinct pixels per seed), with EXIF GPS and camera tags to strip."""
    width, height = 64, 48
    pixels = bytearray()
    for y in range(height):
        for x in range(width):
            pixels += bytes(((x * 4 + seed * 37) % 256, (y * 5 + seed * 11) % 256, ((x ^ y) * 3 + seed * 53) % 256))
    ppm = path + ".ppm"
    with open(ppm, "wb") as out:
        out.write(b"P6 %d %d 255\n" % (width, height) + bytes(pixels))
    with open(path, "wb") as out:
        subprocess.run(["cjpeg", "-quality", "85", ppm], check=True, stdout=out)
    os.remove(ppm)
    tags = ["-Make=Google", "-Model=Pixel 3", f"-DateTimeOriginal={taken}", "-SerialNumber=HT8B1XYZ0042"]
    if lat is not None:
        tags += [
            f"-GPSLatitude={abs(lat)}", f"-GPSLatitudeRef={'N' if lat >= 0 else 'S'}",
            f"-GPSLongitude={abs(lon)}", f"-GPSLongitudeRef={'E' if lon >= 0 else 'W'}",
        ]
    run("exiftool", "-q", "-overwrite_original", *tags, path)


def takeout_json(path, title, taken, place=PARIS, description="", people=()):
    lat, lon, alt = place
    document = {
        "title": title,
        "description": description,
        "imageViews": "3",
        "creationTime": {"timestamp": str(taken + 86400), "formatted": "later"},
        "photoTakenTime": {"timestamp": str(taken), "formatted": "taken"},
        "geoData": {"latitude": lat, "longitude": lon, "altitude": alt, "latitudeSpan": 0.0, "longitudeSpan": 0.0},
        "geoDataExif": {"latitude": lat, "longitude": lon, "altitude": alt, "latitudeSpan": 0.0, "longitudeSpan": 0.0},
        "people": [{"name": name} for name in people],
        "url": "https://photos.google.com/photo/AF1QipExample",
        "googlePhotosOrigin": {"mobileUpload": {"deviceType": "ANDROID_PHONE"}},
    }
    with open(path, "w") as out:
        json.dump(document, out, indent=2)


def cut(base):
    """Takeout cuts everything before `.json` (or a `(n)` counter) to 46 characters."""
    return base[:46]


def takeout(root):
    photos = os.path.join(root, "Takeout", "Google Photos")
    year = os.path.join(photos, "Photos from 2019")
    album = os.path.join(photos, "Trip to Paris")
    nested = os.path.join(album, "Day 2")
    for folder in (year, album, nested):
        os.makedirs(folder)
    t0 = 1563967540  # 2019-07-24 11:25:40 UTC
    seed = 0

    def photo(folder, name, json_name, title=None, description="", people=()):
        nonlocal seed
        seed += 1
        jpeg(os.path.join(folder, name), seed, *PARIS[:2])
        if json_name:
            takeout_json(os.path.join(folder, json_name), title or name, t0 + seed * 60, description=description,
                         people=people)

    # The classic name, and the newer one.
    photo(year, "IMG_20190724_112540.jpg", "IMG_20190724_112540.jpg.json", description="Eiffel tower at noon")
    photo(year, "IMG_20190724_112541.jpg", "IMG_20190724_112541.jpg.supplemental-metadata.json",
          people=("Ada Lovelace",))
    # Cut to 46 characters before .json: the newer suffix cut short, and a long name whose extension is cut.
    long_pixel = "PXL_20190724_113012345.PORTRAIT.ORIGINAL.jpg"
    photo(year, long_pixel, cut(long_pixel + ".supplemental-metadata") + ".json")
    long_name = "20190724_113500_long_descriptive_file_name.jpeg"
    photo(year, long_name, cut(long_name) + ".json")
    # A copy Takeout renamed: the counter moves before .json, in both styles.
    photo(year, "IMG_1234.JPG", "IMG_1234.JPG.json")
    photo(year, "IMG_1234(1).JPG", "IMG_1234.JPG(1).json", title="IMG_1234.JPG")
    photo(year, "IMG_5678.jpg", "IMG_5678.jpg.supplemental-metadata.json")
    photo(year, "IMG_5678(1).jpg", "IMG_5678.jpg.supplemental-metadata(1).json", title="IMG_5678.jpg")
    # An edited copy shares its original's file.
    photo(year, "IMG_20190801_090000.jpg", "IMG_20190801_090000.jpg.json")
    photo(year, "IMG_20190801_090000-edited.jpg", None)
    # An orphan (its photo was left out of the export) and a JSON that is not Takeout's.
    takeout_json(os.path.join(year, "IMG_9999.jpg.json"), "IMG_9999.jpg", t0)
    with open(os.path.join(year, "print-order.csv"), "w") as out:
        out.write("item,copies\nIMG_1234.JPG,2\n")
    # An album: its metadata.json, photos, and a folder inside it.
    with open(os.path.join(album, "metadata.json"), "w") as out:
        json.dump({"title": "Trip to Paris", "description": "", "access": "protected",
                   "date": {"timestamp": str(t0), "formatted": "Jul 24, 2019"},
                   "geoData": {"latitude": PARIS[0], "longitude": PARIS[1], "altitude": 0.0,
                               "latitudeSpan": 0.0, "longitudeSpan": 0.0}}, out, indent=2)
    photo(album, "IMG_20190725_100000.jpg", "IMG_20190725_100000.jpg.json", description="Louvre")
    photo(nested, "IMG_20190726_100000.jpg", "IMG_20190726_100000.jpg.supplemental-metadata.json")


def aae(path, timestamp):
    with open(path, "w") as out:
        out.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>adjustmentBaseVersion</key>
\t<integer>0</integer>
\t<key>adjustmentData</key>
\t<data>
\tRY9NT8MwDIb/S85L1SQbtbkBh13ZgRsikbbYCIKTqnHCJsS/x52AdXe+/D7Wa+cP
\t</data>
\t<key>adjustmentEditorBundleID</key>
\t<string>com.apple.mobileslideshow</string>
\t<key>adjustmentFormatIdentifier</key>
\t<string>com.apple.photo</string>
\t<key>adjustmentFormatVersion</key>
\t<string>1.5</string>
\t<key>adjustmentTimestamp</key>
\t<date>{timestamp}</date>
</dict>
</plist>
""")


def movie(source, destination, identifier):
    """A copy of a corpus MOV carrying `identifier` as com.apple.quicktime.content.identifier (a remux, no re-encode)."""
    run("ffmpeg", "-loglevel", "error", "-y", "-i", source, "-map", "0", "-c", "copy", "-map_metadata", "0",
        "-metadata", f"com.apple.quicktime.content.identifier={identifier}", "-movflags", "use_metadata_tags",
        destination)


def iphone(root):
    folder = os.path.join(root, "DCIM", "100APPLE")
    os.makedirs(folder)
    heic = os.path.join(CORPUS, "images", "heic", "gps_iphone_IMG_5195.HEIC")
    mov = os.path.join(CORPUS, "video", "gps_iphone.mov")
    # One Live Photo: the HEIC's MediaGroupUUID is the MOV's content identifier; its edits in the AAE.
    shutil.copyfile(heic, os.path.join(folder, "IMG_5195.HEIC"))
    movie(mov, os.path.join(folder, "IMG_5195.MOV"), LIVE_ID)
    aae(os.path.join(folder, "IMG_5195.AAE"), "2019-07-24T12:00:00Z")
    # A JPEG with the iOS 16 name of its edit file.
    jpeg(os.path.join(folder, "IMG_5196.JPG"), 101, 32.0929, 34.8620)
    aae(os.path.join(folder, "IMG_O5196.AAE"), "2019-07-25T09:30:00Z")
    # A still and a video of one stem that are not one Live Photo (the still has no identifier, the video another).
    jpeg(os.path.join(folder, "IMG_5197.JPG"), 102, 32.0929, 34.8620)
    movie(mov, os.path.join(folder, "IMG_5197.MOV"), "0D1E2F3A-4B5C-6D7E-8F90-A1B2C3D4E5F6")
    # A video on its own, and an edit file whose photo is gone.
    shutil.copyfile(os.path.join(CORPUS, "video", "xmp.mov"), os.path.join(folder, "IMG_5198.MOV"))
    aae(os.path.join(folder, "IMG_5199.AAE"), "2019-07-26T09:30:00Z")


def xmp(path, title, lat, lon):
    def coordinate(value, positive, negative):
        degrees = int(abs(value))
        minutes = (abs(value) - degrees) * 60
        return f"{degrees},{minutes:.4f}{positive if value >= 0 else negative}"

    with open(path, "w") as out:
        out.write(f"""<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
   exif:DateTimeOriginal="2020-02-29T10:20:30"
   exif:GPSLatitude="{coordinate(lat, 'N', 'S')}"
   exif:GPSLongitude="{coordinate(lon, 'E', 'W')}"
   xmp:Rating="4">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:subject><rdf:Bag><rdf:li>lake</rdf:li><rdf:li>winter</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
""")


def camera(root):
    os.makedirs(root)
    zurich = (47.366667, 8.55)
    jpeg(os.path.join(root, "DSC_0001.JPG"), 201, *zurich, taken="2020:02:29 10:20:30")
    xmp(os.path.join(root, "DSC_0001.JPG.xmp"), "Lake Zurich", *zurich)
    jpeg(os.path.join(root, "DSC_0002.JPG"), 202, *zurich, taken="2020:02:29 10:21:00")
    xmp(os.path.join(root, "DSC_0002.xmp"), "Old town", *zurich)
    xmp(os.path.join(root, "DSC_0003.xmp"), "Deleted later", *zurich)


def main():
    for name, build in (("takeout", takeout), ("iphone", iphone), ("camera", camera)):
        target = os.path.join(HERE, name)
        if os.path.exists(target):
            shutil.rmtree(target)
        build(target)
    print("generated", ", ".join(("takeout", "iphone", "camera")), "in", HERE, file=sys.stderr)


if __name__ == "__main__":
    main()
