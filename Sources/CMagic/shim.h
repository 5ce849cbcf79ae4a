#ifndef MEDIAINGEST_CMAGIC_SHIM_H
#define MEDIAINGEST_CMAGIC_SHIM_H

#include <stddef.h>
#include <magic.h>

#endif
