/* SPDX-License-Identifier: MIT */
/* Notes of fds inherited by exec'd programs. A fork child that execs is
 * gone before it could write a snapshot, so it writes its notes into a small
 * MAP_SHARED area that its parent created before the fork and reports at
 * its own snapshots; a process that spawns (posix_spawn, popen, system)
 * notes into its own area. The open site travels as frames, not as a trace
 * id: the child may have interned stacks its parent never saw. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>

#include "execnote.h"
#include "fdtable.h"
#include "sys.h"

#define NOTES 128

enum { NOTE_FREE, NOTE_WRITING, NOTE_READY };

struct note_slot {
	uint32_t state;  /* atomic: NOTE_* */
	struct lks_exec_note note;
};

static struct note_slot *own_notes;     /* reported by this process */
static struct note_slot *parent_notes;  /* a fork child's parent's area */

/* After the notes: how many programs started from here ran untraced. */
#define AREA_BYTES (NOTES * sizeof(struct note_slot) + sizeof(uint64_t))

static uint64_t *untraced_count(struct note_slot *area)
{
	return (uint64_t *)(void *)(area + NOTES);
}

static struct note_slot *shared_area(void)
{
	return lks_map_shared(AREA_BYTES);
}

void lks_execnote_init(void)
{
	if (!own_notes)
		own_notes = shared_area();
}

void lks_execnote_after_fork(void)
{
	parent_notes = own_notes;
	own_notes = shared_area();
}

static bool same_note(const struct lks_exec_note *a, const struct lks_exec_note *b)
{
	return a->fd == b->fd && a->type == b->type && a->depth == b->depth &&
	       memcmp(a->frames, b->frames, a->depth * sizeof(a->frames[0])) == 0;
}

/* The same fd from the same site, noted by many children, is one note. */
static void add_note(struct note_slot *area, const struct lks_exec_note *note)
{
	for (int i = 0; i < NOTES; i++) {
		uint32_t state = __atomic_load_n(&area[i].state, __ATOMIC_ACQUIRE);

		if (state == NOTE_READY && same_note(&area[i].note, note))
			return;
		if (state != NOTE_FREE ||
		    !__atomic_compare_exchange_n(&area[i].state, &state, NOTE_WRITING, false,
		                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		area[i].note = *note;
		/* release: the parent reads the note only once it is READY */
		__atomic_store_n(&area[i].state, NOTE_READY, __ATOMIC_RELEASE);
		return;
	}
	lks_handles_count_missed();
}

struct noting {
	struct note_slot *area;
};

static void note_if_inherited(const struct lks_fd_entry *entry, void *ctx)
{
	struct noting *noting = ctx;
	struct lks_exec_note note = { .fd = entry->fd, .type = entry->type };
	const uint64_t *frames;
	int fd_flags = lks_sys_fcntl(entry->fd, F_GETFD, NULL);

	if (fd_flags < 0 || (fd_flags & FD_CLOEXEC) || lks_fd_check(entry) != LKS_FD_SAME)
		return;
	frames = lks_depot_frames(entry->trace, &note.depth);
	if (!frames)
		note.depth = 0;
	else if (note.depth > LKS_NOTE_FRAMES)
		note.depth = LKS_NOTE_FRAMES;
	if (frames)
		memcpy(note.frames, frames, note.depth * sizeof(note.frames[0]));
	lks_describe_fd(entry->fd, entry->type, note.description, sizeof(note.description));
	add_note(noting->area, &note);
}

/* A fork child that execs is gone before it could report: its parent does. */
static struct note_slot *area_for(bool replaces_image)
{
	return replaces_image && lks_forked_child() ? parent_notes : own_notes;
}

void lks_execnote_before_exec(bool replaces_image)
{
	struct noting noting = { area_for(replaces_image) };

	if (noting.area)
		lks_fd_foreach(note_if_inherited, &noting);
}

void lks_execnote_count_untraced(bool replaces_image)
{
	struct note_slot *area = area_for(replaces_image);

	if (area)  /* relaxed: a count, read at a snapshot */
		__atomic_add_fetch(untraced_count(area), 1, __ATOMIC_RELAXED);
}

uint64_t lks_execnote_untraced(void)
{
	return own_notes ? __atomic_load_n(untraced_count(own_notes), __ATOMIC_RELAXED) : 0;
}

/* Slots are taken in order and never given back (add_note claims the first
 * free one), so the first free slot ends the notes: the pages past it are
 * not read (shared memory has no zero page: each read would allocate one). */
void lks_execnote_foreach(void (*visit)(const struct lks_exec_note *, void *), void *ctx)
{
	for (int i = 0; own_notes && i < NOTES; i++) {
		uint32_t state = __atomic_load_n(&own_notes[i].state, __ATOMIC_ACQUIRE);

		if (state == NOTE_FREE)
			return;
		if (state == NOTE_READY)
			visit(&own_notes[i].note, ctx);
	}
}
