/* SPDX-License-Identifier: MIT */
/* The memory of one process's report model: interned strings (one copy of
 * each function, file and module name) and arrays that live as long as the
 * model, all freed at once. */
#ifndef LEAKSCOPE_POOL_H
#define LEAKSCOPE_POOL_H

#include <stddef.h>

struct pool;

struct pool *pool_new(void);
void pool_free(struct pool *pool);
/* The pool's copy of `text` (NULL for NULL), or NULL when out of memory
 * (a NULL pool is one that could not be made). */
const char *pool_intern(struct pool *pool, const char *text);
/* Zeroed memory aligned for any object, or NULL when out of memory. */
void *pool_alloc(struct pool *pool, size_t size);

#endif
