/* SPDX-License-Identifier: MIT */
/* A snapshot file on disk: header, section table and sections in the order
 * of format.h's list, sealed with its size and checksum, written into a
 * temporary file of an unguessable name (O_EXCL, O_NOFOLLOW, mode 0600) and
 * renamed into place without replacing any other file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checksum.h"
#include "snapfile.h"
#include "sys.h"

static const struct { uint32_t kind, record_size; } section_kinds[LKS_PART_COUNT] = {
#define SECTION_ENTRY(number, NAME, name, record) [LKS_PART_##NAME] = { number, sizeof(record) },
	LKS_SECTIONS(SECTION_ENTRY)
#undef SECTION_ENTRY
};

/* Where each section goes: back to back after the table, 8-byte aligned.
 * Returns the file's size. */
static uint64_t lay_out(struct lks_section *table, struct lks_snap_parts *parts)
{
	uint64_t offset = sizeof(struct lks_header) + LKS_PART_COUNT * sizeof(*table);

	parts->buf[LKS_PART_STRINGS] = parts->strings.buf;
	for (int i = 0; i < LKS_PART_COUNT; i++) {
		table[i] = (struct lks_section){ section_kinds[i].kind,
			section_kinds[i].record_size, offset,
			parts->buf[i].len / section_kinds[i].record_size };
		offset += (parts->buf[i].len + 7) & ~(uint64_t)7;
	}
	return offset;
}

/* The header's size and checksum, of the file exactly as write_file writes
 * it (format/checksum.h): what the reader checks first. */
static void seal(struct lks_header *header, const struct lks_section *table,
                 const struct lks_snap_parts *parts, uint64_t file_size)
{
	static const uint8_t zeros[8];
	struct lks_checksum sum;

	header->file_size = file_size;
	header->checksum = 0;
	lks_checksum_init(&sum);
	lks_checksum_add(&sum, header, sizeof(*header));
	lks_checksum_add(&sum, table, LKS_PART_COUNT * sizeof(*table));
	for (int i = 0; i < LKS_PART_COUNT; i++) {
		lks_checksum_add(&sum, parts->buf[i].bytes, parts->buf[i].len);
		lks_checksum_add(&sum, zeros, (8 - parts->buf[i].len % 8) % 8);
	}
	header->checksum = lks_checksum_end(&sum);
}

static int write_file(int fd, const struct lks_header *header, struct lks_snap_parts *parts)
{
	static const uint8_t zeros[8];
	struct lks_section table[LKS_PART_COUNT];
	struct lks_header sealed = *header;

	seal(&sealed, table, parts, lay_out(table, parts));
	if (lks_write_all(fd, &sealed, sizeof(sealed)) || lks_write_all(fd, table, sizeof(table)))
		return -1;
	for (int i = 0; i < LKS_PART_COUNT; i++) {
		size_t pad = (8 - parts->buf[i].len % 8) % 8;

		if (lks_write_all(fd, parts->buf[i].bytes, parts->buf[i].len) ||
		    lks_write_all(fd, zeros, pad))
			return -1;
	}
	return 0;
}

/* ---- naming and the atomic write ----------------------------------------- */

static void safe_append(char *dst, size_t size, const char *src)
{
	size_t len = strlen(dst);

	for (; *src && len + 1 < size; src++) {
		char c = *src;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '+';

		dst[len++] = plain ? c : '_';
	}
	dst[len] = '\0';
}

static void make_name(char *name, size_t size, uint32_t seq, const char *label)
{
	const char *exe = lks_exe_path(), *slash = strrchr(exe, '/');
	struct lks_line numbers = { .len = 0 };

	name[0] = '\0';
	safe_append(name, size, slash ? slash + 1 : exe[0] ? exe : "unknown");
	lks_line_str(&numbers, ".");
	lks_line_u64(&numbers, (uint64_t)getpid());
	lks_line_str(&numbers, ".");
	lks_line_u64(&numbers, seq);
	lks_line_str(&numbers, ".");
	numbers.text[numbers.len] = '\0';
	strncat(name, numbers.text, size - strlen(name) - 1);
	safe_append(name, size, label);
}

/* rename that fails instead of replacing: a reused pid must not overwrite
 * the file of an earlier process. */
static int publish(const char *tmp, char *path, size_t size, const char *dir,
                   const char *name)
{
	for (int attempt = 1; attempt < 100; attempt++) {
		struct lks_line suffix = { .len = 0 };

		if (attempt > 1) {
			lks_line_str(&suffix, "-");
			lks_line_u64(&suffix, (uint64_t)attempt);
		}
		suffix.text[suffix.len] = '\0';
		if (snprintf(path, size, "%s/%s%s.lks", dir, name, suffix.text) >= (int)size)
			return -1;
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* A temporary name nobody can guess: in a directory others can write, a
 * file planted under a predictable name would make O_EXCL fail. */
static int open_temporary(const char *dir, const char *name, char *tmp, size_t size)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		struct lks_line random = { .len = 0 };
		int fd;

		lks_line_u64(&random, lks_random_u64());
		random.text[random.len] = '\0';
		if (snprintf(tmp, size, "%s/.%s.%s.tmp", dir, name, random.text) >= (int)size)
			return -1;
		fd = lks_sys_openat(AT_FDCWD, tmp,
		                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* -1, with the step and its errno in *error. */
static int failed_at(const char *step, struct lks_write_error *error)
{
	*error = (struct lks_write_error){ step, errno };
	return -1;
}

/* A temporary file that is not published is removed; the error is the
 * step's, not unlink's. */
static int discard(const char *tmp, const char *step, struct lks_write_error *error)
{
	failed_at(step, error);
	unlink(tmp);
	return -1;
}

int lks_snapfile_store(const struct lks_header *header, struct lks_snap_parts *parts,
                       char *path, size_t path_size, const char *label,
                       struct lks_write_error *error)
{
	char name[256], tmp[4096];
	const char *dir = lks_output_dir();
	int fd;

	make_name(name, sizeof(name), header->seq, label);
	errno = ENAMETOOLONG;  /* what open_temporary leaves when no name fits */
	fd = open_temporary(dir, name, tmp, sizeof(tmp));
	if (fd < 0)
		return failed_at("openat", error);
	if (write_file(fd, header, parts)) {
		discard(tmp, "write", error);
		lks_sys_close(fd);
		return -1;
	}
	if (lks_sys_close(fd))
		return discard(tmp, "close", error);
	errno = ENAMETOOLONG;
	if (publish(tmp, path, path_size, dir, name))
		return discard(tmp, "renameat2", error);
	return 0;
}

/* An empty file made without an fd (mknod), for when none was free: its
 * name is all it says. */
void lks_snapfile_mark_unwritten(int pid, const char *why)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/" LKS_UNWRITTEN_PREFIX "%d.%s", lks_output_dir(),
	             pid, why) < (int)sizeof(path))
		lks_sys_mknodat(AT_FDCWD, path, S_IFREG | 0600, 0);
}

/* Built in a line, not a PATH_MAX buffer: it may run in a SIGCHLD handler
 * on a small stack. An output directory too long for it leaves no mark. */
void lks_snapfile_mark_killed(int pid, int signal)
{
	struct lks_line path = { .len = 0 };

	if (!lks_output_dir()[0])
		return;
	lks_line_str(&path, lks_output_dir());
	lks_line_str(&path, "/" LKS_KILLED_PREFIX);
	lks_line_u64(&path, (uint64_t)pid);
	lks_line_str(&path, ".");
	lks_line_u64(&path, (uint64_t)signal);
	if (path.len >= sizeof(path.text))
		return;
	path.text[path.len] = '\0';
	lks_sys_mknodat(AT_FDCWD, path.text, S_IFREG | 0600, 0);
}

void lks_snapfile_free(struct lks_snap_parts *parts)
{
	parts->buf[LKS_PART_STRINGS] = (struct lks_buf){ 0 };  /* the strtab's */
	for (int i = 0; i < LKS_PART_COUNT; i++)
		lks_buf_free(&parts->buf[i]);
	lks_buf_free(&parts->strings.buf);
}
