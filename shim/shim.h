/* SPDX-License-Identifier: MIT */
/* Internal declarations shared by the shim's files. Everything here has
 * hidden visibility (the library is built with -fvisibility=hidden); only the
 * interposed libc names and the public API in leakscope.h are exported. */
#ifndef LEAKSCOPE_SHIM_H
#define LEAKSCOPE_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "process.h"

#define LKS_EXPORT __attribute__((visibility("default")))
#define lks_likely(x) __builtin_expect(!!(x), 1)
#define lks_unlikely(x) __builtin_expect(!!(x), 0)

/* ---- options.c ---------------------------------------------------------- */

struct lks_options {
#define LKS_OPTION(name, type, def, min, max, desc) type name;
#include "options.inc"
#undef LKS_OPTION
};
extern struct lks_options lks_opt;
void lks_options_parse(const char *text);
void lks_options_print_help(void);   /* help=1: the table, to stderr */
void lks_options_print_taken(void);  /* verbose=1: those not at their default */

/* ---- identity.c: whose a snapshot is ------------------------------------ */

void lks_identity_start(const char *run_token); /* at start-up, after the options */
void lks_identity_after_fork(void);             /* in a fork child */
void lks_identity_fill(struct lks_header *header); /* token, instance, start time */
uint64_t lks_random_u64(void);                  /* unguessable, when the kernel allows */

/* ---- real.c: the functions we forward to -------------------------------- */

#include "real.inc.h"

extern struct lks_real_fns lks_real;
bool lks_resolve_real(void *const *slot);

/* The one way to a real function: true once lks_real.fn is known, looked
 * up on first use. Call as lks_real_get(&lks_real.fn). */
#define lks_real_get(slot) lks_real_known((void *const *)(slot))
static inline bool lks_real_known(void *const *slot)
{
	/* relaxed: written once, with the same value by whoever looks it up */
	return lks_likely(__atomic_load_n(slot, __ATOMIC_RELAXED) != NULL) ||
	       lks_resolve_real(slot);
}
bool lks_resolve_at_start(void);  /* LKS_REAL_AT_START; false without malloc or free */
void *lks_bootstrap_alloc(size_t size, size_t align);
#define LKS_BOOTSTRAP_BYTES (256 * 1024)
extern unsigned char lks_bootstrap_arena[LKS_BOOTSTRAP_BYTES];
/* Inline: every free asks. */
static inline bool lks_bootstrap_owns(const void *ptr)
{
	return (uintptr_t)ptr - (uintptr_t)lks_bootstrap_arena < LKS_BOOTSTRAP_BYTES;
}
size_t lks_bootstrap_size(const void *ptr);
uint64_t lks_bootstrap_count(void);

/* ---- forkpage.c: a fork child the atfork handlers missed ------------------ */

/* 1, or 0 in a fork child (any, without CLONE_VM) not yet claimed */
extern volatile uint32_t *lks_fork_page;
void lks_forkpage_start(void);         /* at start-up */
/* In a fork child: true once, when this process is still to be set up as
 * one (always true where the kernel cannot wipe the page). */
bool lks_forkpage_claim(void);
/* A fork child that nothing set up yet: no atfork handler ran (_Fork, a
 * raw clone), or not yet. One load: fd interposers ask on every call. */
static inline bool lks_forked_unseen(void)
{
	return !*lks_fork_page;
}

/* ---- arena.c: memory for the shim itself, straight from mmap ------------ */

void *lks_map(size_t bytes);           /* zeroed, NULL on failure */
void *lks_reserve(size_t bytes);       /* lazily committed, NULL on failure */
void *lks_map_filled(size_t bytes);    /* as lks_map, every page present */
void *lks_map_shared(size_t bytes);    /* as lks_map, shared with fork children */
/* A table growing with the program: NULL when an address-space limit says
 * the program needs the room more (aslimit.c). */
void *lks_map_growth(size_t bytes);
/* As lks_map_growth, every page committed now: for tables that will be
 * written all over. */
void *lks_map_growth_committed(size_t bytes);
/* The part of a growing table at *slot (atomic), mapped by lks_map_growth
 * on first use; threads racing to map it agree on one. NULL: not mapped. */
void *lks_chunk(void **slot, size_t bytes);
void lks_unmap(void *ptr, size_t bytes);
uint64_t lks_mapped_bytes(void);
/* ownstack.c: fn(arg) on a stack mapped for the call (the caller's when
 * none can be mapped); the exit path's, so a small thread stack suffices */
void lks_on_own_stack(void (*fn)(void *), void *arg);
/* Every region mapped above and not unmapped; regions it could not list. */
void lks_arena_foreach(void (*visit)(uint64_t start, uint64_t bytes, void *ctx),
                       void *ctx);
uint64_t lks_arena_unlisted(void);
bool lks_arena_holds(uint64_t addr);  /* in one of those regions */
uint64_t lks_arena_resident(void); /* bytes of those regions in RAM now */

/* ---- touched.c: the pages of a range ever touched ------------------------ */

int lks_pagemap_open(void);            /* -1: then every page counts */
void lks_pagemap_close(int pagemap_fd);
/* Runs of [lo, hi) on pages present or swapped (all of it when pagemap
 * cannot tell): the rest of private anonymous memory reads as zeros. */
void lks_touched_foreach(int pagemap_fd, uint64_t lo, uint64_t hi,
                         void (*visit)(uint64_t lo, uint64_t hi, void *ctx), void *ctx);

/* ---- aslimit.c: RLIMIT_AS ------------------------------------------------ */

/* The tables may grow by bytes and leave the program its room. false stops
 * their growth for good. */
bool lks_aslimit_allows(uint64_t bytes);
void lks_aslimit_failed(int error);    /* a growth's mmap failed with error */
uint64_t lks_aslimit_stopped(void);    /* the limit that stopped growth; 0 */
struct lks_line;
/* Whether the tables' start fits under the limit; if not, why (a phrase). */
bool lks_aslimit_room_to_start(uint64_t start_bytes, struct lks_line *why);
/* What lks_start maps, about: the depot's hash slots (4 MiB) and first
 * records and frames (1.1 MiB), the live table's first generation and
 * counts (0.4 MiB). */
#define LKS_START_BYTES (6u << 20)

/* ---- rawio.c: formatting into a fixed buffer, written with write(2) ----- */

struct lks_line {
	char text[512];
	size_t len;
};
void lks_line_str(struct lks_line *line, const char *str);
void lks_line_u64(struct lks_line *line, uint64_t value);
void lks_line_count(struct lks_line *line, uint64_t value, const char *what); /* "3 what" */
void lks_line_bytes(struct lks_line *line, uint64_t bytes); /* "1.5 MiB" */
int lks_write_all(int fd, const void *buf, size_t len);
/* "leakscope: ..." to stderr, while fd 2 is still the program's stderr */
void lks_say(struct lks_line *line);

/* ---- unwind/ + stackdepot.c ---------------------------------------------- */

void lks_unwind_init(void);
void lks_unwind_check_start(void);     /* unwind_check=1: loads libunwind */
uint32_t lks_capture_trace(void);      /* 0 when no stack could be taken */
uint64_t lks_unwind_frame_cfa(uint64_t lo, uint64_t hi); /* 0: not on this stack */
/* modules.c: [start, end) was unmapped by a dlclose */
void lks_unwind_forget(uint64_t start, uint64_t end);
struct lks_unwind_stats {
	uint64_t truncated;    /* stacks cut short at a frame it could not step */
	uint64_t slow_frames;  /* frames stepped by running their CFI again */
	uint64_t table_bytes;  /* rows worked out from CFI, for every thread */
	uint64_t checked, differences;  /* unwind_check=1: against libunwind */
};
void lks_unwind_stats(struct lks_unwind_stats *stats);
bool lks_depot_init(void);
uint32_t lks_depot_intern(void *const *ips, uint32_t depth);
uint32_t lks_depot_count(void);        /* ids handed out: 1..count */
/* Frames of a fully published trace; NULL for unknown or unfinished ids. */
const uint64_t *lks_depot_frames(uint32_t id, uint32_t *depth);
uint64_t lks_depot_missed(void);

/* ---- alloc.c: recording, shared with operator new and delete (cxx.c) ---- */

/* ptr not NULL; lks_record with lks_enter() taken, lks_unrecord always */
void lks_record(void *ptr, size_t size, uint8_t family);
void lks_unrecord(void *ptr, uint8_t family);

/* ---- reach/behalf.c: blocks the C library allocated for the shim ------- */

void lks_behalf_note(void *ptr, size_t size);
bool lks_behalf_forget(void *ptr);  /* false: not one of those */

/* ---- reach/heaps.c: glibc's thread heaps (hot path: reach/heapnote.h) --- */

void lks_heaps_start(void);  /* once the real malloc is known */

/* ---- live.c: the block table -------------------------------------------- */

struct lks_block {
	uint64_t addr;
	uint64_t size;
	uint32_t trace;
	uint32_t seq;
	uint8_t family;
};

bool lks_live_init(void);
void lks_live_insert(uint64_t addr, uint64_t size, uint32_t trace, uint8_t family);
/* Before a capture: starts the miss on addr's slot, and keeps where it is
 * for the insert after (which then need not find it again). */
struct lks_live_hint {
	uint64_t addr;
	void *shard;
	uint32_t generation;
	uint64_t home;
};
void lks_live_prefetch(uint64_t addr, struct lks_live_hint *hint);
void lks_live_insert_hinted(const struct lks_live_hint *hint, uint64_t size, uint32_t trace,
                            uint8_t family);
/* The removed block's family has LKS_LIVE_WATCHED when it was watched. */
bool lks_live_remove(uint64_t addr, struct lks_block *removed);
/* As lks_live_remove, for a free: the removed block's family, or -1. */
int lks_live_forget(uint64_t addr);
/* A bit of the family byte, set by lks_live_watch on a live block: the
 * free that removes the block sees it in the family it gets back, and
 * pays nothing for it otherwise. Snapshots never see it. */
#define LKS_LIVE_WATCHED 0x80
/* Watches addr's block; false when no live block starts at addr. */
bool lks_live_watch(uint64_t addr);
/* Calls visit for every live block; safe while other threads allocate. */
void lks_live_foreach(void (*visit)(const struct lks_block *, void *), void *ctx);

struct lks_live_stats {
	uint64_t allocs, frees, missed_allocs, unknown_frees, mismatched_frees;
	uint64_t busy_allocs;  /* of missed_allocs: made while the shim was busy */
};
/* Exact for every thread, ended or running (as of the moment each is read). */
void lks_live_stats(struct lks_live_stats *stats);
/* An allocation forwarded unrecorded because it came while this thread was
 * recording another one: a signal handler's. */
void lks_count_busy_alloc(void);
void lks_count_mismatch(void);
void lks_count_unknown_free(void); /* a free of a block we never recorded */

/* ---- modules.c ------------------------------------------------------------ */

void lks_modules_init(void);
void lks_modules_note_dlclose(void *handle);  /* before the real dlclose */
void lks_modules_after_dlclose(void);         /* after it */
/* Appends every module record to *out (via emit); paths through add_string. */
struct lks_strtab;
struct lks_buf;
int lks_modules_write(struct lks_buf *out, struct lks_strtab *strings);
bool lks_in_shim(uint64_t ip);
/* false: the program's own malloc wins; where: the object defining it */
bool lks_malloc_is_ours(const char **where);
bool lks_usable_size_matches_malloc(void);  /* at start: it takes the loader's lock */

/* ---- reach.c: leak classes by a conservative scan at exit --------------- */

struct lks_reach;
/* Holds the other threads still until lks_reach_end; NULL: no scan (the
 * reach option is off, or it could not run: the blocks stay unfreed). */
struct lks_reach *lks_reach_scan(void);
/* exitframe.c: called by the exiting thread from the shim's outermost exit
 * frame (before anything runs on another stack): the scan reads that
 * thread's stack from the caller of exit() up (found by unwinding), else
 * from the caller of _exit or _Exit (noted by their interposers), else from
 * that frame. */
void lks_reach_stack_from(uint64_t frame);
void lks_reach_note_exit_call(uint64_t caller_sp);
/* Called on the main thread: its thread control block is never a finished
 * thread's, even once main called pthread_exit. */
void lks_reach_note_main_thread(void);
/* Counts apart the lost blocks (definite, indirect, possible) `is_apart`
 * says are the runtime's own, each read in place (the other threads are
 * held); a block the scan could not read in place is never asked about. */
typedef bool lks_reach_apart(const void *block, uint64_t size);
void lks_reach_set_apart(struct lks_reach *reach, lks_reach_apart *is_apart);
/* heuristic: enum lks_heuristic, for a reachable block; apart: a lost block
 * lks_reach_set_apart counted apart */
typedef void lks_reach_visit(const struct lks_block *block, uint8_t klass, uint8_t heuristic,
                             bool apart, uint64_t indirect_blocks, uint64_t indirect_bytes,
                             void *ctx);
void lks_reach_foreach(const struct lks_reach *reach, lks_reach_visit *visit, void *ctx);
uint64_t lks_reach_scanned_bytes(const struct lks_reach *reach);
uint64_t lks_reach_missed_threads(const struct lks_reach *reach);
uint64_t lks_reach_unreadable_root_bytes(const struct lks_reach *reach);
/* retain.c: chains from a root to a block of the largest reachable sites */
void lks_reach_retainers(const struct lks_reach *reach, const struct lks_site *sites,
                         size_t count, struct lks_buf *out);
/* The start addresses of the program's open mappings that memory not lost
 * still points into, ascending (mapref.c). */
void lks_reach_referenced_mappings(const struct lks_reach *reach, struct lks_buf *out);
void lks_reach_end(struct lks_reach *reach);

/* ---- snapshot.c ----------------------------------------------------------- */

/* A snapshot not written: the step that failed ("openat", "write",
 * "renameat2"...: what the program's sandbox or directory refused; one
 * word, it goes into a file name) and its errno, 0 when none was known
 * ("collecting": memory or /proc refused before the file). */
struct lks_write_error {
	const char *step;
	int error;
};
struct lks_snapshot_result {
	char path[4096];
	uint64_t blocks, bytes, sites, handles;
	uint64_t missed_allocs, missed_stacks, unknown_frees;
	uint64_t busy_allocs;      /* of missed_allocs */
	uint64_t reachable_bytes;
	int fd_limit;  /* not written: every fd in use, RLIMIT_NOFILE this; else 0 */
	struct lks_write_error failed;  /* not written: why, when fd_limit is 0 */
};
/* exit_status: what exit or _exit was given; for LKS_REASON_FATAL_SIGNAL,
 * the signal; -1 during the run. The reasons that end the process scan. */
int lks_snapshot_write(enum lks_reason reason, const char *label, int exit_status,
                       struct lks_snapshot_result *result);
/* api.c: a snapshot during the run (API, request, timer); 0 or -errno,
 * errno unchanged; path (size bytes) gets the file's path when not NULL. */
int lks_snapshot_now(enum lks_reason reason, const char *label, char *path, size_t size);

/* ---- control.c + sigchain.c: snapshots on request and on a timer -------- */

void lks_control_start(void);          /* at start-up, in a quiet scope */
void lks_control_after_fork(void);     /* in a fork child: a thread of its own */
/* Installs the request signal's handler; a request (the command's pid and
 * token) goes to on_request, in the handler: async-signal-safe only. */
typedef void lks_request_fn(int pid, uint32_t token);
bool lks_sigchain_start(int signo, lks_request_fn *on_request);
/* At start-up: while the program's disposition of a signal whose default
 * ends the process is that default, the shim's handler calls on_fatal
 * (info and context as a handler gets them; async-signal-safe only), then
 * the process dies of the signal as it would have. */
typedef void lks_fatal_fn(int signo, void *info, void *context);
void lks_sigchain_watch_fatal(lks_fatal_fn *on_fatal);

/* ---- growable mmap buffers used while writing a snapshot ---------------- */

struct lks_buf {
	uint8_t *bytes;
	size_t len, cap;
	bool failed;
};
void *lks_buf_append(struct lks_buf *buf, const void *data, size_t len);
void lks_buf_free(struct lks_buf *buf);

struct lks_strtab {
	struct lks_buf buf;
};
uint32_t lks_strtab_add(struct lks_strtab *tab, const char *str);

#endif
