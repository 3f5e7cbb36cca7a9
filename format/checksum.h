/* SPDX-License-Identifier: MIT */
/* The checksum of a snapshot file (header field `checksum`): a 64-bit hash
 * of the whole file as little-endian 64-bit words, the checksum field read
 * as zero. It detects damage (a flipped bit, a cut or patched file), not
 * forgery: anyone can compute it. A run trusts a snapshot for its run token
 * and its private directory instead (docs/TRUST.md). */
#ifndef LEAKSCOPE_CHECKSUM_H
#define LEAKSCOPE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LKS_CHECKSUM_SEED UINT64_C(0x4c4b534e41503032) /* "LKSNAP02" */
#define LKS_CHECKSUM_K1 UINT64_C(0x9e3779b97f4a7c15)   /* odd: multiplying is a bijection */
#define LKS_CHECKSUM_K2 UINT64_C(0xc2b2ae3d27d4eb4f)

/* Fed in any pieces; words are formed across pieces. */
struct lks_checksum {
	uint64_t state;
	uint64_t bytes;   /* fed so far */
	uint8_t pending[8];
};

static inline void lks_checksum_init(struct lks_checksum *sum)
{
	*sum = (struct lks_checksum){ .state = LKS_CHECKSUM_SEED };
}

/* Each step is a bijection of the state for a given word and of the word
 * for a given state, so two files that differ in one word always differ
 * in their checksums. */
static inline uint64_t lks_checksum_mix(uint64_t state, uint64_t word)
{
	state ^= word * LKS_CHECKSUM_K1;
	state = (state << 31) | (state >> 33);
	return state * LKS_CHECKSUM_K2;
}

/* Whole words go straight in; bytes short of a word wait in `pending`. */
static inline void lks_checksum_add(struct lks_checksum *sum, const void *data, size_t size)
{
	const uint8_t *at = (const uint8_t *)data;
	size_t used = (size_t)(sum->bytes % 8);
	uint64_t word;

	if (!size)
		return;
	sum->bytes += size;
	if (used) {
		size_t take = 8 - used < size ? 8 - used : size;

		memcpy(sum->pending + used, at, take);
		if (used + take < 8)
			return;
		memcpy(&word, sum->pending, 8);
		sum->state = lks_checksum_mix(sum->state, word);
		at += take;
		size -= take;
	}
	for (; size >= 8; at += 8, size -= 8) {
		memcpy(&word, at, 8);
		sum->state = lks_checksum_mix(sum->state, word);
	}
	if (size)
		memcpy(sum->pending, at, size);
}

/* A last partial word counts as if padded with zero bytes; the length goes
 * in, and a final mix spreads every bit over the result. */
static inline uint64_t lks_checksum_end(const struct lks_checksum *sum)
{
	uint64_t state = sum->state, used = sum->bytes % 8;

	if (used) {
		uint8_t last[8] = { 0 };
		uint64_t word;

		memcpy(last, sum->pending, (size_t)used);
		memcpy(&word, last, 8);
		state = lks_checksum_mix(state, word);
	}
	state ^= sum->bytes;
	state ^= state >> 33;
	state *= LKS_CHECKSUM_K1;
	state ^= state >> 29;
	state *= LKS_CHECKSUM_K2;
	return state ^ (state >> 32);
}

/* A whole file in memory whose checksum field is at `field` (8 bytes). */
static inline uint64_t lks_checksum_file(const void *data, size_t size, size_t field)
{
	static const uint8_t zero[8];
	struct lks_checksum sum;

	lks_checksum_init(&sum);
	if (field + 8 > size)
		field = size;
	lks_checksum_add(&sum, data, field);
	lks_checksum_add(&sum, zero, field < size ? 8 : 0);
	if (field < size)
		lks_checksum_add(&sum, (const uint8_t *)data + field + 8, size - field - 8);
	return lks_checksum_end(&sum);
}

#endif
