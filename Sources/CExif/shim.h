#ifndef MEDIAINGEST_CEXIF_SHIM_H
#define MEDIAINGEST_CEXIF_SHIM_H

// libexif's headers use size_t without including <stddef.h> themselves.
#include <stddef.h>
#include <stdlib.h>
#include <libexif/exif-data.h>
#include <libexif/exif-entry.h>
#include <libexif/exif-content.h>
#include <libexif/exif-utils.h>
#include <libexif/exif-loader.h>
#include <libexif/exif-log.h>
#include <libexif/exif-tag.h>

#endif
