#ifndef MEDIAINGEST_CZLIB_SHIM_H
#define MEDIAINGEST_CZLIB_SHIM_H

#include <zlib.h>

/// inflateInit is a macro (it passes the library version and the struct size); Swift cannot call macros.
static inline int czlib_inflate_init(z_streamp stream) {
    return inflateInit(stream);
}

#endif
