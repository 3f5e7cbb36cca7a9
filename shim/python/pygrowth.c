/* SPDX-License-Identifier: MIT */
/* Each site's bytes at the last in-run snapshot with retainer chains, so
 * the next one's chains lead to what grew since (docs/PYTHON.md,
 * "Retainers"): 16 bytes a slot, two slots a site. */
#include "../shim.h"
#include "pygrowth.h"

static uint64_t key_of(const struct lks_site *site)
{
	/* a trace id is never 0, so neither is a key */
	return (uint64_t)site->trace << 16 | (uint64_t)site->family << 8 | site->klass;
}

static uint64_t slot_of(uint64_t key, uint64_t mask)
{
	return (key * 0x9e3779b97f4a7c15u >> 32) & mask;  /* high bits: every bit of the key */
}

uint64_t pygrowth_before(const struct pygrowth *growth, const struct lks_site *site)
{
	uint64_t key = key_of(site), at;

	if (!growth->kept)
		return 0;
	for (at = slot_of(key, growth->mask); growth->entries[at].key;
	     at = (at + 1) & growth->mask)
		if (growth->entries[at].key == key)
			return growth->entries[at].bytes;
	return 0;
}

/* Room for `count` sites, emptied; the mapping is kept when big enough. */
static bool room(struct pygrowth *growth, size_t count)
{
	uint64_t slots = 64;

	while (slots < count * 2)
		slots *= 2;
	if (growth->mapped < slots * sizeof(struct pygrowth_entry)) {
		pygrowth_free(growth);
		if (!(growth->entries = lks_map(slots * sizeof(struct pygrowth_entry))))
			return false;
		growth->mapped = slots * sizeof(struct pygrowth_entry);
	} else {
		__builtin_memset(growth->entries, 0, slots * sizeof(struct pygrowth_entry));
	}
	growth->mask = slots - 1;
	return true;
}

void pygrowth_keep(struct pygrowth *growth, const struct lks_site *sites, size_t count)
{
	growth->kept = false;
	if (!room(growth, count))
		return;
	for (size_t i = 0; i < count; i++) {
		uint64_t key = key_of(&sites[i]), at = slot_of(key, growth->mask);

		while (growth->entries[at].key && growth->entries[at].key != key)
			at = (at + 1) & growth->mask;
		growth->entries[at].key = key;
		growth->entries[at].bytes += sites[i].bytes;
	}
	growth->kept = true;
}

void pygrowth_free(struct pygrowth *growth)
{
	if (growth->entries)
		lks_unmap(growth->entries, growth->mapped);
	*growth = (struct pygrowth){ .kept = false };
}
