/* SPDX-License-Identifier: MIT */
/* A bump allocator over big chunks plus an open-addressing set of the
 * strings stored in it, so that a report with thousands of frames makes few
 * mallocs and keeps one copy of each name. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define CHUNK_SIZE (64 * 1024)
#define ALIGNMENT alignof(max_align_t)

struct chunk {
	struct chunk *next;
	size_t used, size;
	alignas(max_align_t) unsigned char bytes[];
};

struct slot {
	uint64_t hash;
	const char *text; /* NULL: empty slot */
};

struct pool {
	struct slot *slots;
	size_t capacity, used; /* capacity is a power of two */
	struct chunk *chunks;
};

static uint64_t hash_text(const char *text, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 0x100000001b3u;
	return h;
}

struct pool *pool_new(void)
{
	struct pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return NULL;
	pool->capacity = 256;
	pool->slots = calloc(pool->capacity, sizeof(*pool->slots));
	if (!pool->slots) {
		free(pool);
		return NULL;
	}
	return pool;
}

void pool_free(struct pool *pool)
{
	if (!pool)
		return;
	while (pool->chunks) {
		struct chunk *next = pool->chunks->next;

		free(pool->chunks);
		pool->chunks = next;
	}
	free(pool->slots);
	free(pool);
}

/* Small requests share the current chunk; a big one gets a chunk of its own
 * behind it, so the current chunk's free space is not wasted. */
static void *take(struct pool *pool, size_t size, size_t align)
{
	struct chunk *c = pool->chunks;
	size_t at;

	if (c) {
		at = (c->used + align - 1) & ~(align - 1);
		if (at <= c->size && c->size - at >= size) {
			c->used = at + size;
			return c->bytes + at;
		}
	}
	if (size > SIZE_MAX - sizeof(*c) - CHUNK_SIZE)
		return NULL;
	c = malloc(sizeof(*c) + (size > CHUNK_SIZE ? size : CHUNK_SIZE));
	if (!c)
		return NULL;
	c->size = size > CHUNK_SIZE ? size : CHUNK_SIZE;
	c->used = size;
	if (pool->chunks && size > CHUNK_SIZE) {
		c->next = pool->chunks->next;
		pool->chunks->next = c;
	} else {
		c->next = pool->chunks;
		pool->chunks = c;
	}
	return c->bytes;
}

void *pool_alloc(struct pool *pool, size_t size)
{
	void *memory = take(pool, size ? size : 1, ALIGNMENT);

	if (memory)
		memset(memory, 0, size);
	return memory;
}

static struct slot *find_slot(struct slot *slots, size_t capacity,
			      uint64_t hash, const char *text)
{
	size_t i = hash & (capacity - 1);

	while (slots[i].text &&
	       (slots[i].hash != hash || strcmp(slots[i].text, text) != 0))
		i = (i + 1) & (capacity - 1);
	return &slots[i];
}

static int grow(struct pool *pool)
{
	size_t capacity = pool->capacity * 2;
	struct slot *slots = calloc(capacity, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < pool->capacity; i++)
		if (pool->slots[i].text)
			*find_slot(slots, capacity, pool->slots[i].hash,
				   pool->slots[i].text) = pool->slots[i];
	free(pool->slots);
	pool->slots = slots;
	pool->capacity = capacity;
	return 0;
}

const char *pool_intern(struct pool *pool, const char *text)
{
	struct slot *slot;
	uint64_t hash;
	size_t len;
	char *copy;

	if (!text || !pool)
		return NULL;
	len = strlen(text);
	hash = hash_text(text, len);
	slot = find_slot(pool->slots, pool->capacity, hash, text);
	if (slot->text)
		return slot->text;
	if (pool->used + 1 > pool->capacity / 2) {
		if (grow(pool) < 0)
			return NULL;
		slot = find_slot(pool->slots, pool->capacity, hash, text);
	}
	copy = take(pool, len + 1, 1);
	if (!copy)
		return NULL;
	memcpy(copy, text, len + 1);
	slot->text = copy;
	slot->hash = hash;
	pool->used++;
	return copy;
}
