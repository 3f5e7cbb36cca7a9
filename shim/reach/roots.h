/* SPDX-License-Identifier: MIT */
/* Between roots.c and stacks.c: a line of /proc/thread-self/maps, and how a
 * root or an exclusion joins the scan. */
#ifndef LKS_REACH_ROOTS_H
#define LKS_REACH_ROOTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "reach.h"

struct map_line {
	uint64_t lo, hi;
	bool readable, writable, anonymous;
	bool inaccessible; /* ---p: no access at all */
	bool main_stack;  /* [stack] */
	bool file;        /* a file's, not a device's (but /dev/zero, /dev/shm) */
};

/* roots.c */
void reach_parse_map_line(const char *line, struct map_line *out);
uint64_t reach_page_size(void);
void reach_add_root(struct reach *reach, uint64_t lo, uint64_t hi, uint32_t kind,
                    uint32_t thread);
void reach_exclude(struct reach *reach, uint64_t lo, uint64_t hi);

/* stacks.c: the threads' stacks in the maps' text (len bytes, one line a
 * string); their registers and TLS pointers; whether an anonymous mapping is
 * a finished thread's kept stack (its TLS pointer then a root) */
void reach_add_stacks(struct reach *reach, const char *text, ssize_t len);
void reach_add_thread_words(struct reach *reach);
bool reach_dead_thread_stack(struct reach *reach, const struct map_line *map,
                             int pagemap_fd);

#endif
