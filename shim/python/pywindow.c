/* SPDX-License-Identifier: MIT */
/* Listed blocks read in address order (pywindow.h): blocks closer than
 * GAP_MAX are read as one piece of up to 64 KiB, 16 pieces a system
 * call. The typing reads 48-byte heads of every block, the retainer walk
 * whole blocks of each level: one planner for both. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "pywindow.h"

/* Farther apart, two blocks are read apart: a gap up to a page costs less
 * than another remote iovec (docs/PERFORMANCE.md, typing). */
#define GAP_MAX 4096

static uint64_t index_at(const struct pywindow_list *l, uint64_t k)
{
	return l->list ? l->list[k] : k;
}

static uint64_t addr_at(const struct pywindow_list *l, uint64_t k)
{
	return PYT_BLOCK_ADDR(&l->blocks[index_at(l, k)]);
}

static uint64_t span_at(const struct pywindow_list *l, uint64_t k)
{
	uint64_t size = l->blocks[index_at(l, k)].size;

	return l->whole || size < PYW_HEAD ? size : PYW_HEAD;
}

/* The pieces in local/remote read at once; how many came whole (the one
 * after them could not be read). */
static uint32_t read_pieces(struct pywindows *w, uint32_t pieces)
{
	long got = syscall(SYS_process_vm_readv, (long)w->pid, w->local, (unsigned long)pieces,
	                   w->remote, (unsigned long)pieces, 0L);
	uint32_t whole = 0;

	for (uint64_t left = got > 0 ? (uint64_t)got : 0;
	     whole < pieces && left >= w->remote[whole].iov_len; whole++)
		left -= w->remote[whole].iov_len;
	return whole;
}

static bool read_one(struct pywindows *w, uint64_t addr, uint64_t len)
{
	w->local[0] = (struct iovec){ w->buffer[0], len };
	w->remote[0] = (struct iovec){ (void *)addr, len };
	return read_pieces(w, 1) == 1;
}

/* Listed blocks from `at` on, as long as they fit one window. */
static uint64_t plan(const struct pywindow_list *l, uint64_t at, struct pywindow *window)
{
	uint64_t start = addr_at(l, at), end = start + span_at(l, at);

	window->first = at;
	for (at++; at < l->count; at++) {
		uint64_t addr = addr_at(l, at), span = span_at(l, at), last = addr + span;

		if (span > PYW_WINDOW || addr > end + GAP_MAX || last - start > PYW_WINDOW)
			break;
		end = last > end ? last : end;
	}
	window->end = at;
	window->start = start;
	window->len = end - start;
	return at;
}

static void give_window(const struct pywindow_list *l, const struct pywindow *window,
                        const uint8_t *bytes)
{
	for (uint64_t k = window->first; k < window->end; k++)
		l->give(l->ctx, index_at(l, k), 0, bytes + addr_at(l, k) - window->start,
		        span_at(l, k));
}

/* A piece that could not be read whole (part of it freed since): each of
 * its blocks alone. */
static void give_one_by_one(struct pywindows *w, const struct pywindow_list *l,
                            const struct pywindow *window)
{
	for (uint64_t k = window->first; k < window->end; k++) {
		bool read = read_one(w, addr_at(l, k), span_at(l, k));

		l->give(l->ctx, index_at(l, k), 0, read ? w->buffer[0] : NULL, span_at(l, k));
	}
}

/* A block larger than a window, alone, window by window, up to the first
 * piece that cannot be read. */
static void give_large(struct pywindows *w, const struct pywindow_list *l, uint64_t k)
{
	uint64_t size = span_at(l, k);

	for (uint64_t from = 0; from < size; from += PYW_WINDOW) {
		uint64_t len = size - from < PYW_WINDOW ? size - from : PYW_WINDOW;
		bool read = read_one(w, addr_at(l, k) + from, len);

		l->give(l->ctx, index_at(l, k), from, read ? w->buffer[0] : NULL, len);
		if (!read)
			return;
	}
}

/* The call stops at a piece it cannot read: that one goes block by block,
 * the ones after it are planned again. */
void pywindows_read(struct pywindows *w, const struct pywindow_list *l)
{
	uint64_t at = 0;

	while (at < l->count) {
		uint32_t planned = 0, done;
		uint64_t next = at;

		if (span_at(l, at) > PYW_WINDOW) {
			give_large(w, l, at++);
			continue;
		}
		while (planned < PYW_PIECES && next < l->count && span_at(l, next) <= PYW_WINDOW) {
			struct pywindow *window = &w->windows[planned];

			next = plan(l, next, window);
			w->local[planned] = (struct iovec){ w->buffer[planned], window->len };
			w->remote[planned++] = (struct iovec){ (void *)window->start, window->len };
		}
		done = read_pieces(w, planned);
		for (uint32_t k = 0; k < done; k++)
			give_window(l, &w->windows[k], w->buffer[k]);
		if (done < planned)
			give_one_by_one(w, l, &w->windows[done++]);
		at = done < planned ? w->windows[done].first : next;
	}
}
