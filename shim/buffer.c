/* SPDX-License-Identifier: MIT */
/* Growable byte buffers and a string table for building a snapshot, backed
 * by mmap so the program's heap is never touched. */
#define _GNU_SOURCE
#include <string.h>

#include "shim.h"

static bool buf_grow(struct lks_buf *buf, size_t need)
{
	size_t cap = buf->cap ? buf->cap : 64 * 1024;
	void *bytes;

	while (cap < need)
		cap *= 2;
	if (!(bytes = lks_map(cap)))
		return false;
	if (buf->bytes) {
		memcpy(bytes, buf->bytes, buf->len);
		lks_unmap(buf->bytes, buf->cap);
	}
	buf->bytes = bytes;
	buf->cap = cap;
	return true;
}

void *lks_buf_append(struct lks_buf *buf, const void *data, size_t len)
{
	void *at;

	if (buf->failed || (buf->len + len > buf->cap && !buf_grow(buf, buf->len + len))) {
		buf->failed = true;
		return NULL;
	}
	at = buf->bytes + buf->len;
	if (data)
		memcpy(at, data, len);
	else
		memset(at, 0, len);
	buf->len += len;
	return at;
}

void lks_buf_free(struct lks_buf *buf)
{
	if (buf->bytes)
		lks_unmap(buf->bytes, buf->cap);
	*buf = (struct lks_buf){ 0 };
}

uint32_t lks_strtab_add(struct lks_strtab *tab, const char *str)
{
	size_t offset = tab->buf.len;

	if (offset > UINT32_MAX - 4096 ||
	    !lks_buf_append(&tab->buf, str, strlen(str) + 1))
		return 0;  /* "" : the table starts with it */
	return (uint32_t)offset;
}
