/* SPDX-License-Identifier: MIT */
/* Bounded readers for the encodings of .eh_frame and .eh_frame_hdr: a read
 * past the end of the mapped segment sets a flag instead of faulting. */
#include <string.h>

#include "unwind.h"

/* DW_EH_PE_*: low nibble the format, next three bits the base. */
#define PE_OMIT 0xff
#define PE_FORMAT 0x0f
#define PE_APPLY 0x70
#define PE_INDIRECT 0x80

uint8_t rd_u8(struct reader *r)
{
	if (r->at >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->at++;
}

uint64_t rd_fixed(struct reader *r, unsigned bytes)
{
	uint64_t value = 0;

	if (r->end - r->at < (long)bytes) {
		r->bad = true;
		r->at = r->end;
		return 0;
	}
	memcpy(&value, r->at, bytes);  /* little-endian */
	r->at += bytes;
	return value;
}

uint64_t rd_uleb(struct reader *r)
{
	uint64_t value = 0;
	unsigned shift = 0;
	uint8_t byte;

	do {
		byte = rd_u8(r);
		if (shift < 64)
			value |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while ((byte & 0x80) && !r->bad);
	return value;
}

int64_t rd_sleb(struct reader *r)
{
	uint64_t value = 0;
	unsigned shift = 0;
	uint8_t byte;

	do {
		byte = rd_u8(r);
		if (shift < 64)
			value |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while ((byte & 0x80) && !r->bad);
	if (shift < 64 && (byte & 0x40))
		value |= ~(uint64_t)0 << shift;
	return (int64_t)value;
}

static uint64_t rd_format(struct reader *r, uint8_t format)
{
	switch (format) {
	case 0x00: return rd_fixed(r, 8);                       /* absptr */
	case 0x01: return rd_uleb(r);
	case 0x02: return rd_fixed(r, 2);
	case 0x03: return rd_fixed(r, 4);
	case 0x04: return rd_fixed(r, 8);
	case 0x09: return (uint64_t)rd_sleb(r);
	case 0x0a: return (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2);
	case 0x0b: return (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4);
	case 0x0c: return rd_fixed(r, 8);
	default:
		r->bad = true;
		return 0;
	}
}

/* Indirect pointers (a GOT slot) are only used for personality routines,
 * which the unwinder skips: refused, as they would need a read outside
 * the segment. */
uint64_t rd_encoded(struct reader *r, uint8_t encoding, uint64_t data_base)
{
	uint64_t here = (uint64_t)(uintptr_t)r->at, value;

	if (encoding == PE_OMIT)
		return 0;
	value = rd_format(r, encoding & PE_FORMAT);
	switch (encoding & PE_APPLY) {
	case 0x00: break;
	case 0x10: value += here; break;       /* pcrel */
	case 0x30: value += data_base; break;  /* datarel */
	default: r->bad = true; break;
	}
	if (encoding & PE_INDIRECT)
		r->bad = true;
	return value;
}
