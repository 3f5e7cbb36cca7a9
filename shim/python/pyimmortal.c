/* SPDX-License-Identifier: MIT */
/* The interpreter's own blocks among those lost at exit. Since 3.12,
 * interned strings are immortal and Py_Finalize does not free them all
 * (CPython gh-113055): `python3.12 -c pass` leaves 1,562 blocks no pointer
 * reaches, all of them such strings. The exit scan asks here about each
 * lost block, so that they are counted apart from the program's
 * (docs/PYTHON.md, "The interpreter's immortal strings"). */
#include <string.h>

#include "../shim.h"
#include "python.h"
#include "pyroom.h"

/* _Py_IMMORTAL_REFCNT of 3.12 and 3.13 on 64 bits (Include/object.h): the
 * low 32 bits of ob_refcnt; an increment past it never carries into them */
#define IMMORTAL_COUNT 0xffffffffull
/* PyASCIIObject.state: `interned` is its two low bits, 0 when not interned
 * (Include/cpython/unicodeobject.h of 3.12 and 3.13) */
#define STATE_INTERNED 0x3u
#define HEAD_BYTES 64

/* Whether a str with an immortal count must also say it is interned: 3.12's
 * Py_Finalize leaves the state as it was; 3.13.0's _PyUnicode_ClearInterned
 * sets every interned str's state to "not interned" and leaves its count
 * immortal. Either way only interning makes a heap str immortal. */
static bool interned_state_kept(uint32_t version)
{
	return version >> 16 == 0x030c;
}

static bool immortal_versions(uint32_t version)
{
	return version >> 16 == 0x030c || version >> 16 == 0x030d;
}

/* A block of the exit scan, readable in place (the other threads are held
 * still). True only for a header proven to be an immortal str of the
 * interpreter's static PyUnicode_Type: no type is dereferenced, the pointer
 * is compared with the one dlsym gave, its layout checked at start-up. */
bool lks_py_immortal(const void *block, uint64_t size)
{
	const struct lks_py_layout *lay = &lks_pyrt.layout;
	uint64_t head[HEAD_BYTES / 8] = { 0 };
	uint32_t state;

	/* the smallest str: its compact ASCII header and one character */
	if (__atomic_load_n(&lks_pyrt.status, __ATOMIC_ACQUIRE) != LKS_PY_ON ||
	    !immortal_versions(lks_pyrt.version) || !lks_pyrt.str_type ||
	    size <= lay->str_ascii_data || lay->str_state + 4 > HEAD_BYTES)
		return false;
	memcpy(head, block, sizeof(head) < size ? sizeof(head) : size);
	if ((head[0] & IMMORTAL_COUNT) != IMMORTAL_COUNT ||
	    head[LKS_PY_OB_TYPE / 8] != lks_pyrt.str_type)
		return false;
	memcpy(&state, (const uint8_t *)head + lay->str_state, sizeof(state));
	return !interned_state_kept(lks_pyrt.version) || (state & STATE_INTERNED) != 0;
}
