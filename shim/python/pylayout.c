/* SPDX-License-Identifier: MIT */
/* Where CPython keeps what a frame walk reads, per version: our own tables
 * for 3.11 and 3.12 (measured on 3.11.2, 3.11.7 and 3.12.1 builds), and
 * 3.13's own description of itself (_Py_DebugOffsets at the start of
 * _PyRuntime). Every table is checked against the running interpreter
 * before it is used: types here, the first thread state in pyruntime.c. */
#include <string.h>

#include "../shim.h"
#include "pyroom.h"

static const struct lks_py_layout layout_311 = {
	.rt_finalizing = 24, .rt_main_interp = 48, .rt_tss_key = 592,
	.ts_interp = 16, .ts_thread_id = 152, .ts_cframe = 56, .current_frame = 8,
	.fr_code = 32, .fr_previous = 48, .fr_instr = 56, .fr_owner = 69,
	.fr_is_entry = 68, .owner_cstack = 0xff, .fr_state = 68, .state_mask = 0xffff,
	.co_filename = 112, .co_qualname = 128, .co_linetable = 136,
	.co_firstlineno = 72, .co_code = 184,
	.str_state = 32, .str_length = 16, .str_ascii_data = 48, .str_compact_data = 72,
	.bytes_data = 32,
};

static const struct lks_py_layout layout_312 = {
	.rt_finalizing = 24, .rt_main_interp = 48, .rt_tss_key = 1544,
	.ts_interp = 16, .ts_thread_id = 136, .ts_cframe = 56, .current_frame = 0,
	.fr_code = 0, .fr_previous = 8, .fr_instr = 56, .fr_owner = 70,
	.fr_is_entry = 0, .owner_cstack = 3, .fr_state = 69, .state_mask = 0xff00,
	.co_filename = 112, .co_qualname = 128, .co_linetable = 136,
	.co_firstlineno = 68, .co_code = 192,
	.str_state = 32, .str_length = 16, .str_ascii_data = 40, .str_compact_data = 56,
	.bytes_data = 32,
};

/* 3.13 keeps the thread-state key outside _Py_DebugOffsets: ours, checked
 * on the first thread state like the 3.11 and 3.12 tables. */
#define TSS_KEY_313 2160
#define OWNER_CSTACK_313 3

/* Byte offsets of the _Py_DebugOffsets fields we read, as 3.13.0 lays the
 * struct out (its version field says which layout it is). */
enum {
	DO_VERSION = 8, DO_FREE_THREADED = 16, DO_RT_FINALIZING = 32,
	DO_RT_MAIN_INTERP = 40,   /* interpreters_head */
	DO_TS_INTERP = 176, DO_TS_CURRENT_FRAME = 184, DO_TS_THREAD_ID = 192,
	DO_FR_SIZE = 224, DO_FR_PREVIOUS = 232, DO_FR_EXECUTABLE = 240,
	DO_FR_INSTR_PTR = 248, DO_FR_OWNER = 264,
	DO_CO_FILENAME = 280, DO_CO_QUALNAME = 296, DO_CO_LINETABLE = 304,
	DO_CO_FIRSTLINENO = 312, DO_CO_CODE = 344,
	DO_BYTES_SVAL = 528, DO_STR_STATE = 544, DO_STR_LENGTH = 552,
	DO_STR_ASCII_SIZE = 560, DO_END = 584,
};

static void say_why(char *reason, size_t size, const char *what)
{
	size_t len = strlen(what);

	if (len >= size)
		len = size - 1;
	memcpy(reason, what, len);
	reason[len] = '\0';
}

static uint64_t debug_field(const uint8_t *offsets, size_t at)
{
	uint64_t value;

	memcpy(&value, offsets + at, sizeof(value));
	return value;
}

/* Offsets must fit the structs they index: nothing we read lies past 4 KiB
 * of a frame, thread state or code object in 3.13. */
static bool read_debug_offsets(uint32_t version, uint64_t runtime,
                               struct lks_py_layout *out, char *reason, size_t size)
{
	uint8_t offsets[DO_END];
	uint64_t value;

	if (!lks_py_peek(offsets, runtime, sizeof(offsets)) ||
	    memcmp(offsets, "xdebugpy", 8) != 0) {
		say_why(reason, size, "no _Py_DebugOffsets cookie at _PyRuntime");
		return false;
	}
	if (debug_field(offsets, DO_VERSION) != version) {
		say_why(reason, size, "_Py_DebugOffsets version differs from Py_Version");
		return false;
	}
	if (debug_field(offsets, DO_FREE_THREADED)) {
		say_why(reason, size, "free-threaded build (no GIL): not supported");
		return false;
	}
	static const struct { size_t at; size_t field; } map[] = {
#define F(name) offsetof(struct lks_py_layout, name)
		{ DO_RT_FINALIZING, F(rt_finalizing) }, { DO_RT_MAIN_INTERP, F(rt_main_interp) },
		{ DO_TS_INTERP, F(ts_interp) }, { DO_TS_CURRENT_FRAME, F(current_frame) },
		{ DO_TS_THREAD_ID, F(ts_thread_id) }, { DO_FR_PREVIOUS, F(fr_previous) },
		{ DO_FR_EXECUTABLE, F(fr_code) }, { DO_FR_INSTR_PTR, F(fr_instr) },
		{ DO_FR_OWNER, F(fr_owner) }, { DO_CO_FILENAME, F(co_filename) },
		{ DO_CO_QUALNAME, F(co_qualname) }, { DO_CO_LINETABLE, F(co_linetable) },
		{ DO_CO_FIRSTLINENO, F(co_firstlineno) }, { DO_CO_CODE, F(co_code) },
		{ DO_BYTES_SVAL, F(bytes_data) }, { DO_STR_STATE, F(str_state) },
		{ DO_STR_LENGTH, F(str_length) }, { DO_STR_ASCII_SIZE, F(str_ascii_data) },
#undef F
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		value = debug_field(offsets, map[i].at);
		if (value >= 4096 && map[i].at != DO_RT_FINALIZING &&
		    map[i].at != DO_RT_MAIN_INTERP) {
			say_why(reason, size, "_Py_DebugOffsets holds an implausible offset");
			return false;
		}
		*(uint32_t *)((char *)out + map[i].field) = (uint32_t)value;
	}
	if (debug_field(offsets, DO_FR_SIZE) > 4096) {
		say_why(reason, size, "_Py_DebugOffsets: implausible frame size");
		return false;
	}
	/* 3.13 dropped wstr: the compact header is utf8_length + utf8 longer */
	out->str_compact_data = out->str_ascii_data + 16;
	out->rt_tss_key = TSS_KEY_313;
	out->owner_cstack = OWNER_CSTACK_313;
	out->ts_cframe = 0;
	out->fr_is_entry = 0;
	/* the owner byte and the one before it, inside the frame (offset 0
	 * holds a pointer: owner is never there) */
	if (out->fr_owner) {
		out->fr_state = out->fr_owner - 1;
		out->state_mask = 0xff00;
	}
	return true;
}

bool lks_py_layout_for(uint32_t version, uint64_t runtime, struct lks_py_layout *out,
                       char *reason, size_t size)
{
	uint32_t minor = version >> 16;

	*out = (struct lks_py_layout){ 0 };
	if (minor == 0x030b) {
		*out = layout_311;
		return true;
	}
	if (minor == 0x030c) {
		*out = layout_312;
		return true;
	}
	if (minor == 0x030d)
		return read_debug_offsets(version, runtime, out, reason, size);
	say_why(reason, size, minor < 0x030b ?
	        "CPython before 3.11: frames are not read (only 3.11 to 3.13 are)" :
	        "CPython after 3.13: its frame layout is not known to this leakscope");
	return false;
}

static bool type_is(uint64_t type, const char *name, uint64_t basicsize, uint64_t itemsize)
{
	uint64_t fields[3], name_ptr;
	char text[16] = "";
	size_t len = strlen(name) + 1;

	if (!type || !lks_py_peek(fields, type + LKS_PY_TP_NAME, sizeof(fields)))
		return false;
	name_ptr = fields[0];
	return len <= sizeof(text) && lks_py_peek(text, name_ptr, len) &&
	       memcmp(text, name, len) == 0 && fields[1] == basicsize &&
	       fields[2] == itemsize;
}

/* The running interpreter's own sizes: a code object is its header, whose
 * end is where the bytecode starts, then 2-byte code units; a str object
 * is the compact header plus a data pointer; bytes end in ob_sval[1]. */
bool lks_py_layout_check_types(const struct lks_py_layout *layout, uint64_t code_type,
                               uint64_t str_type, uint64_t bytes_type,
                               char *reason, size_t size)
{
	if (!type_is(code_type, "code", layout->co_code, 2)) {
		say_why(reason, size, "PyCode_Type does not match the expected code object layout");
		return false;
	}
	if (!type_is(str_type, "str", layout->str_compact_data + 8, 0)) {
		say_why(reason, size, "PyUnicode_Type does not match the expected str layout");
		return false;
	}
	if (!type_is(bytes_type, "bytes", layout->bytes_data + 1, 1)) {
		say_why(reason, size, "PyBytes_Type does not match the expected bytes layout");
		return false;
	}
	return true;
}
