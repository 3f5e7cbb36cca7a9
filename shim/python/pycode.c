/* SPDX-License-Identifier: MIT */
/* Copies of code objects, made the first time a stack holds one: qualified
 * name, file name, first line and line table, in the shim's own memory, so
 * a frame keeps its name after the code object is freed and its address
 * reused. Insert-only and lock-free, as the stack depot: a slot maps an
 * address to its newest copy; a copy whose fields no longer match what the
 * hot path sees at that address is replaced by a new copy with a new id,
 * and stacks interned earlier keep the old id and the old name. */
#include <string.h>

#include "../shim.h"
#include "pyroom.h"

#define SLOT_BITS 18
#define SLOTS (1u << SLOT_BITS)             /* 1 MiB reserved */
#define MAX_CODES (SLOTS - SLOTS / 4)       /* keep probing short */
#define TEXT_BYTES (64u << 20)              /* names and line tables */
#define MAX_PROBES 64
#define NAME_MAX_UNITS 512                  /* longer names are cut */
#define FILE_MAX_UNITS 4096
#define LINETABLE_MAX (1u << 20)

struct code_record {
	struct lks_py_code_seen seen;  /* what identifies this copy */
	uint32_t qualname, filename;   /* offsets in text, NUL-terminated */
	uint32_t linetable, linetable_len;
	uint32_t ready;                /* atomic: 1 once the fields are written */
};

/* hash of the address -> id, 0 empty; read inline by lks_pycode_find */
uint32_t *lks_pycode_slots;
const struct lks_py_code_seen *lks_pycode_seen_base;  /* &records[0].seen */
static struct code_record *records;   /* by id; record 0 unused */
#define slots lks_pycode_slots
static uint8_t *text;
static uint32_t next_id = 1;          /* atomic */
static uint64_t text_used = 1;        /* atomic; offset 0 is "" */
static uint64_t missed;               /* atomic */

bool lks_pycode_init(void)
{
	slots = lks_reserve(SLOTS * sizeof(*slots));
	records = lks_reserve((size_t)MAX_CODES * sizeof(*records));
	text = lks_reserve(TEXT_BYTES);
	lks_pycode_seen_base = records ? &records[0].seen : NULL;
	return slots && records && text;
}

_Static_assert(LKS_PYCODE_SLOT_BITS == SLOT_BITS, "pyroom.h's copy of SLOT_BITS");
_Static_assert(sizeof(struct code_record) == LKS_PYCODE_RECORD_SIZE,
               "pyroom.h's copy of the record size");
#define hash_address lks_pycode_hash

static bool same_code(const struct lks_py_code_seen *a, const struct lks_py_code_seen *b)
{
	return a->addr == b->addr && a->filename == b->filename &&
	       a->qualname == b->qualname && a->linetable == b->linetable &&
	       a->qualname_hash == b->qualname_hash && a->filename_hash == b->filename_hash &&
	       a->firstlineno == b->firstlineno && a->code_units == b->code_units;
}

/* Room in text; 0 (the empty string) when full. */
static uint32_t take_text(uint64_t bytes)
{
	uint64_t at = __atomic_fetch_add(&text_used, bytes, __ATOMIC_RELAXED);

	return at + bytes > TEXT_BYTES ? 0 : (uint32_t)at;
}

/* One code point as UTF-8: 1 to 4 bytes. */
static size_t put_utf8(uint8_t *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | (cp >> 18 & 0x07));
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* `count` code units of `kind` bytes each (latin-1, UCS-2 or UCS-4) read
 * from `data` in small pieces (the hot path may run on a small stack),
 * written to out as UTF-8; false when a read fails. */
static bool encode(uint8_t *out, uint64_t data, uint64_t count, unsigned kind,
                   size_t *len)
{
	uint8_t piece[256];
	uint64_t per_piece = sizeof(piece) / kind;

	*len = 0;
	for (uint64_t done = 0; done < count; done += per_piece) {
		uint64_t n = count - done < per_piece ? count - done : per_piece;

		if (!lks_py_peek(piece, data + done * kind, n * kind))
			return false;
		for (uint64_t i = 0; i < n; i++) {
			uint32_t cp = kind == 1 ? piece[i] : kind == 2 ?
				((const uint16_t *)(const void *)piece)[i] :
				((const uint32_t *)(const void *)piece)[i];

			*len += put_utf8(out + *len, cp > 0x10ffff ? 0xfffd : cp);
		}
	}
	out[*len] = '\0';
	return true;
}

/* A compact str object as a NUL-terminated UTF-8 copy in text; 0 when it
 * cannot be read. Room is taken for the longest encoding of its length. */
static uint32_t copy_str(uint64_t str, uint64_t max_units)
{
	const struct lks_py_layout *lay = &lks_pyrt.layout;
	uint32_t state, at;
	uint64_t length, kind, count;
	bool ascii;
	size_t len;

	if (!lks_py_peek(&state, str + lay->str_state, sizeof(state)) ||
	    !lks_py_peek(&length, str + lay->str_length, sizeof(length)))
		return 0;
	kind = state >> 2 & 7;
	ascii = state & 0x40;
	if (!(state & 0x20) || (kind != 1 && kind != 2 && kind != 4))
		return 0;  /* not compact: no code object name is stored so */
	count = length < max_units ? length : max_units;
	/* no longer than the reader takes (LKS_STRING_MAX, its NUL included) */
	if (count * (ascii ? 1 : kind + 1) + 1 > LKS_STRING_MAX)
		count = (LKS_STRING_MAX - 1) / (ascii ? 1 : kind + 1);
	at = take_text(count * (ascii ? 1 : kind + 1) + 1);
	if (!at || !encode(text + at, str + (ascii ? lay->str_ascii_data :
	                                    lay->str_compact_data), count,
	                   (unsigned)kind, &len))
		return 0;
	return at;
}

static bool copy_linetable(uint64_t bytes, struct code_record *record)
{
	const struct lks_py_layout *lay = &lks_pyrt.layout;
	uint64_t size;
	uint32_t at;

	if (!lks_py_peek(&size, bytes + LKS_PY_OB_SIZE, sizeof(size)) || size > LINETABLE_MAX)
		return false;
	at = take_text(size ? size : 1);
	if (!at || !lks_py_peek(text + at, bytes + lay->bytes_data, size))
		return false;
	record->linetable = at;
	record->linetable_len = (uint32_t)size;
	return true;
}

static uint32_t new_copy(const struct lks_py_code_seen *seen)
{
	uint32_t id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	struct code_record *record;

	if (id >= MAX_CODES)
		return 0;
	record = &records[id];
	record->seen = *seen;
	record->qualname = copy_str(seen->qualname, NAME_MAX_UNITS);
	record->filename = copy_str(seen->filename, FILE_MAX_UNITS);
	if (!record->qualname || !record->filename || !copy_linetable(seen->linetable, record))
		return 0;  /* the id stays unused: never ready, never written */
	/* release: the fields are visible to whoever sees ready */
	__atomic_store_n(&record->ready, 1, __ATOMIC_RELEASE);
	return id;
}

static bool matches(uint32_t id, const struct lks_py_code_seen *seen)
{
	/* acquire: pairs with the release of ready in new_copy */
	return __atomic_load_n(&records[id].ready, __ATOMIC_ACQUIRE) &&
	       same_code(&records[id].seen, seen);
}

uint32_t lks_pycode_id(const struct lks_py_code_seen *seen)
{
	uint32_t start = hash_address(seen->addr), mine = 0;

	for (uint32_t probe = 0; probe < MAX_PROBES; probe++) {
		uint32_t *slot = &slots[(start + probe) & (SLOTS - 1)];
		/* acquire: a published id's record is complete */
		uint32_t id = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

		/* the slot's release made the record complete: no ready check */
		if (id && same_code(&records[id].seen, seen))
			return id;
		if (id && records[id].seen.addr != seen->addr)
			continue;
		/* empty, or an older copy at this address: replace it */
		if (!mine && !(mine = new_copy(seen)))
			break;
		if (__atomic_compare_exchange_n(slot, &id, mine, false, __ATOMIC_RELEASE,
		                                __ATOMIC_ACQUIRE))
			return mine;
		if (id && matches(id, seen))
			return id;  /* another thread copied it meanwhile */
		return mine;    /* valid all the same; the slot keeps the other */
	}
	__atomic_fetch_add(&missed, 1, __ATOMIC_RELAXED);
	return 0;
}

uint32_t lks_pycode_count(void)
{
	uint32_t count = __atomic_load_n(&next_id, __ATOMIC_RELAXED);

	return count > MAX_CODES ? MAX_CODES : count;
}

bool lks_pycode_get(uint32_t id, struct lks_pycode_copy *out)
{
	const struct code_record *record;

	if (id == 0 || id >= lks_pycode_count() || !matches(id, &records[id].seen))
		return false;
	record = &records[id];
	*out = (struct lks_pycode_copy){
		.qualname = (const char *)text + record->qualname,
		.filename = (const char *)text + record->filename,
		.linetable = text + record->linetable,
		.linetable_len = record->linetable_len,
		.code_bytes = record->seen.code_units * 2,
		.firstlineno = record->seen.firstlineno,
	};
	return true;
}

uint64_t lks_pycode_missed(void)
{
	return __atomic_load_n(&missed, __ATOMIC_RELAXED);
}
