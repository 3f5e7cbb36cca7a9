/* SPDX-License-Identifier: MIT */
/* The keys of CPython's combined dicts (3.11 to 3.13, builds with the
 * GIL): a PyDictObject's ma_keys points at its keys block, whose entries
 * follow the hash index; an entry is (hash, key, value) in a table of
 * general keys and (key, value) in one of str keys. A split dict (values
 * apart, ma_values set) is not read. Every read goes through lks_py_peek,
 * and every count read is bounded before it is used. */
#include "pynames.h"
#include "pyroom.h"

#define MA_KEYS PYN_MA_KEYS   /* PyDictObject: header, ma_used, ma_version_tag */
#define DK_LOG2_SIZE 8        /* PyDictKeysObject */
#define DK_LOG2_INDEX_BYTES 9
#define DK_KIND 10
#define DK_NENTRIES 24
#define DK_INDICES 32
#define DK_GENERAL 0
#define DK_UNICODE 1
#define LOG2_SIZE_MAX 30
#define CHUNK 32              /* entries read at once (768 bytes of stack at most) */

struct entries {
	uint64_t at;              /* the first entry */
	uint64_t count;           /* dk_nentries */
	uint32_t size;            /* 24 (general) or 16 (str keys) */
};

bool lks_pyname_str(uint64_t str, char *text)
{
	const struct lks_py_layout *lay = &lks_pyrt.layout;
	uint64_t type, length;
	uint32_t state;

	text[0] = '\0';
	if (!lks_py_plausible(str) || !lks_py_peek(&type, str + LKS_PY_OB_TYPE, 8) ||
	    type != lks_pyrt.str_type || !lks_py_peek(&state, str + lay->str_state, 4) ||
	    !lks_py_peek(&length, str + lay->str_length, 8) || (state & 0x60) != 0x60 ||
	    length >= PYN_TEXT_MAX || !lks_py_peek(text, str + lay->str_ascii_data, length))
		return false;
	text[length] = '\0';
	for (uint64_t i = 0; i < length; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f) {
			text[0] = '\0';
			return false;
		}
	return true;
}

/* Where a combined dict's entries are, and how many. */
static bool entries_of(uint64_t dict, struct entries *out)
{
	uint64_t pointers[2], nentries;
	uint8_t shape[3];

	if (!lks_py_plausible(dict) || !lks_py_peek(pointers, dict + MA_KEYS, sizeof(pointers)) ||
	    pointers[1] || !lks_py_plausible(pointers[0]) ||
	    !lks_py_peek(shape, pointers[0] + DK_LOG2_SIZE, sizeof(shape)) ||
	    !lks_py_peek(&nentries, pointers[0] + DK_NENTRIES, 8))
		return false;
	if (shape[0] > LOG2_SIZE_MAX || shape[1] > shape[0] + 3 ||
	    (shape[2] != DK_GENERAL && shape[2] != DK_UNICODE) || nentries > 1ull << shape[0])
		return false;
	out->at = pointers[0] + DK_INDICES + (1ull << shape[1]);
	out->count = nentries;
	out->size = shape[2] == DK_GENERAL ? 24 : 16;
	return true;
}

bool lks_pyname_key_at(uint64_t dict, uint64_t slot, char *text)
{
	struct entries e;
	uint64_t key;

	text[0] = '\0';
	if (!entries_of(dict, &e) || slot < e.at || (slot - e.at) / e.size >= e.count ||
	    (slot - e.at) % e.size != e.size - 8u)
		return false;
	return lks_py_peek(&key, slot - 8, 8) && lks_pyname_str(key, text);
}

/* The entries in chunks; fn(entry key, entry value, arg) true stops. */
static bool each_entry(uint64_t dict, bool (*fn)(uint64_t, uint64_t, void *), void *arg)
{
	uint64_t words[CHUNK * 3];
	struct entries e;

	if (!entries_of(dict, &e))
		return false;
	for (uint64_t first = 0; first < e.count; first += CHUNK) {
		uint64_t n = e.count - first < CHUNK ? e.count - first : CHUNK;
		uint32_t step = e.size / 8;

		if (!lks_py_peek(words, e.at + first * e.size, n * e.size))
			return false;
		for (uint64_t i = 0; i < n; i++)
			if (fn(words[i * step + step - 2], words[i * step + step - 1], arg))
				return true;
	}
	return false;
}

struct search {
	uint64_t value;
	const char *key;
	char *text;
};

static bool holds_value(uint64_t key, uint64_t value, void *arg)
{
	struct search *s = arg;

	return value && value == s->value && lks_pyname_str(key, s->text);
}

static bool has_key(uint64_t key, uint64_t value, void *arg)
{
	struct search *s = arg;
	size_t k = 0;

	if (!value || !lks_pyname_str(key, s->text))
		return false;
	while (s->text[k] && s->text[k] == s->key[k])
		k++;
	if (s->text[k] != s->key[k])
		return false;
	s->value = value;
	return true;
}

bool lks_pyname_key_of(uint64_t dict, uint64_t value, char *text)
{
	struct search s = { .value = value, .text = text };

	text[0] = '\0';
	return each_entry(dict, holds_value, &s);
}

uint64_t lks_pyname_get(uint64_t dict, const char *key)
{
	char text[PYN_TEXT_MAX];
	struct search s = { .key = key, .text = text };

	return each_entry(dict, has_key, &s) ? s.value : 0;
}
