/* SPDX-License-Identifier: MIT */
/* A shared library with an allocator of its own, as rustc has jemalloc:
 * malloc and friends served from an mmap'd arena, and a start-up that maps
 * that arena while it holds a non-recursive lock, from a constructor that
 * runs before the shim's. Any malloc that comes back into it during that
 * mmap waits for ever on its own lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARENA_BYTES (256u << 20)
#define HEADER 16  /* holds the block's size; keeps blocks 16-byte aligned */

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *arena;  /* set once, under start_lock */
static size_t arena_used;     /* atomic bump pointer */

static void start(void)
{
	pthread_mutex_lock(&start_lock);
	if (!arena) {
		void *mapped = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE,
		                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		arena = mapped == MAP_FAILED ? NULL : mapped;
	}
	pthread_mutex_unlock(&start_lock);
}

__attribute__((constructor)) static void own_alloc_start(void)
{
	static const char line[] = "own allocator: started\n";

	start();
	if (write(STDOUT_FILENO, line, sizeof(line) - 1) < 0)
		_exit(3);
}

static void *take(size_t size, size_t align)
{
	size_t need, at;

	if (!arena)
		start();
	if (!arena || size > ARENA_BYTES || align > 4096) {
		errno = ENOMEM;
		return NULL;
	}
	if (align < HEADER)
		align = HEADER;
	need = (size + HEADER + align + 15) & ~(size_t)15;
	at = __atomic_fetch_add(&arena_used, need, __ATOMIC_RELAXED);
	if (at + need > ARENA_BYTES) {
		errno = ENOMEM;
		return NULL;
	}
	at = (at + HEADER + align - 1) & ~(align - 1);
	memcpy(arena + at - HEADER, &size, sizeof(size));
	return arena + at;
}

static size_t size_of(const void *ptr)
{
	size_t size;

	memcpy(&size, (const unsigned char *)ptr - HEADER, sizeof(size));
	return size;
}

void *malloc(size_t size)
{
	return take(size, HEADER);
}

void free(void *ptr)
{
	(void)ptr;  /* a bump allocator: memory is never reused */
}

void *calloc(size_t count, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(count, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return take(total, HEADER);  /* fresh anonymous memory is zero */
}

void *realloc(void *ptr, size_t size)
{
	void *moved = take(size, HEADER);

	if (ptr && moved)
		memcpy(moved, ptr, size_of(ptr) < size ? size_of(ptr) : size);
	return moved;
}

void *memalign(size_t align, size_t size)
{
	return take(size, align);
}

void *aligned_alloc(size_t align, size_t size)
{
	return take(size, align);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *ptr = take(size, align);

	if (!ptr)
		return ENOMEM;
	*out = ptr;
	return 0;
}

size_t malloc_usable_size(void *ptr)
{
	return ptr ? size_of(ptr) : 0;
}

/* Memory of the arena handed out without malloc, as an allocator keeps
 * its own bookkeeping next to its blocks: not a block the shim records. */
void *own_alloc_unrecorded(size_t size);
void *own_alloc_unrecorded(size_t size)
{
	return take(size, HEADER);
}
