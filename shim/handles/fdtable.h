/* SPDX-License-Identifier: MIT */
/* The fd table shared by the interposers (record, forget), execnote.c and
 * handlesnap.c (read): open fds indexed by number, FILE and DIR streams in
 * the slot of the fd they own. */
#ifndef LEAKSCOPE_FDTABLE_H
#define LEAKSCOPE_FDTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* A slot opened in the parent before fork: the child lists such an fd
 * still open at its snapshot as inherited, not as its own open handle (the
 * parent reports its copy), and notes it at its exec. Mappings
 * (maptable.h) carry the same flag: the child does not list those. */
#define LKS_FD_INHERITED 0x1u

struct lks_fd_entry {
	int32_t fd;
	uint16_t type;  /* enum lks_handle_type */
	uint8_t flags;  /* LKS_FD_* */
	uint32_t trace;
	uint64_t addr;  /* FILE* or DIR*; 0 for a bare fd */
	/* the open file when recorded (lks_fd_identify); both 0: unknown */
	uint64_t ino;
	uint32_t dev;   /* st_dev folded to 32 bits */
	uint32_t bytes; /* heap bytes of the FILE or DIR at addr; 0: unknown */
};

/* Records entry (its flags are ignored) in the slot of entry->fd; fds 0-2
 * are never recorded. */
void lks_fd_record(const struct lks_fd_entry *entry);
/* Which file entry->fd holds now: its ino and dev, by one raw fstat.
 * A check at snapshot time compares them (lks_fd_check). */
void lks_fd_identify(struct lks_fd_entry *entry);
/* The same from a stat of entry->fd already made; st NULL: unknown. */
void lks_fd_set_identity(struct lks_fd_entry *entry, const struct stat *st);

enum lks_fd_state {
	LKS_FD_SAME,      /* still open on the file it was recorded with */
	LKS_FD_CLOSED,    /* closed by a call the shim did not see */
	LKS_FD_REPLACED,  /* closed so, and the number now holds another file */
};
/* Not on the hot path: a snapshot, an exec note. */
enum lks_fd_state lks_fd_check(const struct lks_fd_entry *entry);
/* Forgets whatever fd holds; false when nothing was recorded there. */
bool lks_fd_forget(int fd, struct lks_fd_entry *old);
/* Forgets fd only while it still belongs to the stream at addr. */
bool lks_fd_forget_stream(int fd, uint64_t addr);
void lks_fd_forget_range(unsigned first, unsigned last);
void lks_fd_forget_streams(uint16_t type);  /* fcloseall */
bool lks_fd_lookup(int fd, struct lks_fd_entry *entry);
/* Visits a consistent copy of every recorded fd; safe while others record. */
void lks_fd_foreach(void (*visit)(const struct lks_fd_entry *, void *), void *ctx);
void lks_fd_mark_inherited(void);  /* fork child, before it runs on */

/* Handles of any kind (fds, streams, mappings, exec notes) not recorded. */
void lks_handles_count_missed(void);
uint64_t lks_handles_missed(void);

#endif
