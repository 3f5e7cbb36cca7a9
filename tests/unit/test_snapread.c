/* SPDX-License-Identifier: MIT */
/* The snapshot reader on hostile input: a real snapshot (written by the shim
 * for snapsource) cut at every length, every bit of it flipped (each one
 * caught by the checksum), random corruptions sealed again with a right
 * checksum (so that the checks behind it are reached), foreign files, an
 * old and a future version. Each must give a valid parse that is safe to
 * walk or one error line naming the file; built a second time with
 * AddressSanitizer to catch reads the checks let through. The same for a
 * Python program's snapshot with retainer chains (the fuzz corpus's
 * python_retainers.lks), and its python retainers section lying in each
 * way the reader checks.
 * Usage: test_snapread SHIM SNAPSOURCE PYRETAINERS.lks (TAP output) */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum.h"
#include "realsnap.h"
#include "snapread.h"
#include "snapwalk.h"
#include "tap.h"

#define NAME "mutant.lks"
#define RANDOM_ROUNDS 20000

/* ---- what every parse must give ---- */

/* A rejection is one line that starts with the file's name. */
static bool clear_error(const struct errmsg *err)
{
	return strncmp(err->text, NAME ": ", strlen(NAME) + 2) == 0 &&
	       strlen(err->text) > strlen(NAME) + 2 && !strchr(err->text, '\n');
}

static volatile uint64_t walked;

/* 1: accepted, 0: rejected cleanly, -1: rejected without a clear message. */
static int try_parse(const uint8_t *bytes, size_t size, struct errmsg *err)
{
	struct snapshot *snap = NULL;

	err->text[0] = '\0';
	if (snap_parse(bytes, size, NAME, &snap, err) == 0) {
		walked += snap_walk(snap);
		snap_free(snap);
		return 1;
	}
	return clear_error(err) ? 0 : -1;
}

/* ---- the checks ---- */

static void check_baseline(const struct blob *real)
{
	struct snapshot *snap = NULL;
	struct errmsg err = { "" };
	int r = snap_parse(real->bytes, real->size, NAME, &snap, &err);

	if (!ok(r == 0, "the real snapshot (%zu bytes) is accepted", real->size)) {
		diag("%s", err.text);
		return;
	}
	ok(snap->module_count > 1 && snap->trace_count >= 3 && snap->site_count >= 3 &&
	   snap->frame_count >= 3, "it has modules, traces, frames and sites "
	   "(%zu, %zu, %zu, %zu)", snap->module_count, snap->trace_count,
	   snap->frame_count, snap->site_count);
	ok(snap->counters.live_blocks >= 7, "counters: %llu live blocks",
	   (unsigned long long)snap->counters.live_blocks);
	snap_free(snap);
}

static void check_truncations(const struct blob *real)
{
	size_t bad = 0, vague = 0;
	struct errmsg err;

	for (size_t len = 0; len < real->size; len++) {
		int r = try_parse(real->bytes, len, &err);
		bool says_why = strstr(err.text, "truncated") || strstr(err.text, "empty file");

		bad += r != 0;
		vague += r == 0 && !says_why;
		if ((r != 0 || !says_why) && bad + vague <= 5)
			diag("length %zu: %s", len, r > 0 ? "accepted" : err.text);
	}
	ok(bad == 0, "every one of the %zu shorter lengths is rejected with one line",
	   real->size);
	ok(vague == 0, "and the line says 'truncated' (or 'empty file')");
}

/* Every flip is damage the checksum sees: none may be accepted. */
static void check_bit_flips(const struct blob *real)
{
	uint8_t *copy = malloc(real->size);
	size_t unclear = 0, accepted = 0, unnamed = 0;
	struct errmsg err;

	memcpy(copy, real->bytes, real->size);
	for (size_t bit = 0; bit < real->size * 8; bit++) {
		int r;

		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = try_parse(copy, real->size, &err);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		accepted += r == 1;
		unclear += r < 0;
		if (r == 0 && !strstr(err.text, "damaged") && !strstr(err.text, "truncated") &&
		    !strstr(err.text, "version") && !strstr(err.text, "magic") &&
		    !strstr(err.text, "header size") && unnamed++ < 5)
			diag("bit %zu: %s", bit, err.text);
		if (r == 1 && accepted <= 5)
			diag("bit %zu (byte %zu) flipped: accepted", bit, bit / 8);
	}
	ok(unclear == 0 && accepted == 0, "%zu single-bit flips: each rejected with one line "
	   "(%zu accepted)", real->size * 8, accepted);
	ok(unnamed == 0, "and the line says damaged (or names the header field)");
	free(copy);
}

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Values that break length and offset arithmetic when trusted. */
static const uint64_t nasty[] = {
	0, 1, 7, 8, 0x7f, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
	UINT64_C(0x100000000), UINT64_C(0x7fffffffffffffff), UINT64_MAX,
	UINT64_MAX - 7, UINT64_C(0x0aaaaaaaaaaaaaab),
};

/* One to eight changes: random bytes anywhere, or a nasty value written
 * over an aligned word of the header and section table. */
static void mutate(uint8_t *bytes, size_t size, size_t table_end, uint64_t *rng)
{
	unsigned changes = 1 + (unsigned)(next_random(rng) % 8);

	for (unsigned i = 0; i < changes; i++) {
		uint64_t roll = next_random(rng);

		if (roll % 3 == 0 && table_end >= 8) {
			uint64_t value = nasty[(roll >> 8) % (sizeof(nasty) / sizeof(nasty[0]))];
			size_t at = (size_t)(next_random(rng) % (table_end / 4)) * 4;
			size_t width = (roll >> 16) & 1 && at + 8 <= table_end ? 8 : 4;

			memcpy(bytes + at, &value, width);
		} else {
			bytes[next_random(rng) % size] = (uint8_t)(roll >> 24);
		}
	}
}

static void check_random_corruption(const struct blob *real)
{
	const struct lks_header *header = (const void *)real->bytes;
	size_t table_end = sizeof(*header) + header->section_count * sizeof(struct lks_section);
	uint8_t *copy = malloc(real->size);
	uint64_t rng = 0x9e3779b97f4a7c15u;
	size_t unclear = 0, accepted = 0;
	struct errmsg err;

	for (int round = 0; round < RANDOM_ROUNDS; round++) {
		int r;

		memcpy(copy, real->bytes, real->size);
		mutate(copy, real->size, table_end, &rng);
		reseal(copy, real->size);
		r = try_parse(copy, real->size, &err);
		accepted += r == 1;
		if (r < 0 && unclear++ == 0)
			diag("round %d: unclear error '%s'", round, err.text);
	}
	ok(unclear == 0, "%d random corruptions sealed again: no crash, each rejected "
	   "with one line or accepted (%zu accepted)", RANDOM_ROUNDS, accepted);
	free(copy);
}

static struct lks_section *section_of(uint8_t *bytes, uint32_t kind)
{
	struct lks_header *header = (void *)bytes;
	struct lks_section *table = (void *)(bytes + sizeof(*header));

	for (uint32_t i = 0; i < header->section_count; i++)
		if (table[i].kind == kind)
			return &table[i];
	return NULL;
}

/* The real file with one more table entry, of a kind no version knows,
 * its 16 bytes of records at the end. */
static uint8_t *with_unknown_section(const struct blob *real, size_t *size)
{
	const struct lks_header *header = (const void *)real->bytes;
	size_t table_end = sizeof(*header) + header->section_count * sizeof(struct lks_section);
	struct lks_section extra = { .kind = 0x4000, .record_size = 8, .count = 2 };
	uint8_t *copy = calloc(1, real->size + sizeof(extra) + 16);
	struct lks_header *new_header = (void *)copy;
	struct lks_section *table = (void *)(copy + sizeof(*header));

	*size = real->size + sizeof(extra) + 16;
	memcpy(copy, real->bytes, table_end);
	memcpy(copy + table_end + sizeof(extra), real->bytes + table_end,
	       real->size - table_end);
	for (uint32_t i = 0; i < header->section_count; i++)
		table[i].offset += sizeof(extra);
	extra.offset = real->size + sizeof(extra);
	table[header->section_count] = extra;
	new_header->section_count++;
	reseal(copy, *size);
	return copy;
}

static void check_versions(const struct blob *real)
{
	uint8_t *copy = malloc(real->size), *longer;
	struct lks_header *header = (void *)copy;
	struct snapshot *snap = NULL;
	struct errmsg err;
	size_t longer_size;

	memcpy(copy, real->bytes, real->size);
	header->version = LKS_VERSION + 1;
	ok(try_parse(copy, real->size, &err) == 0 &&
	   strstr(err.text, "unsupported format version 3"),
	   "a future format version is refused by name: %s", err.text);
	header->version = 1;
	ok(try_parse(copy, real->size, &err) == 0 &&
	   strstr(err.text, "unsupported format version 1 (this leakscope reads version 2"),
	   "version 1 is refused by name: %s", err.text);

	/* a section kind this reader does not know is skipped, not an error */
	longer = with_unknown_section(real, &longer_size);
	if (!ok(snap_parse(longer, longer_size, NAME, &snap, &err) == 0 &&
		snap->site_count >= 3, "an unknown section kind is skipped"))
		diag("%s", err.text);
	snap_free(snap);
	free(longer);

	/* one a version needs is not: a damaged kind must not read as empty */
	memcpy(copy, real->bytes, real->size);
	section_of(copy, LKS_SEC_SITES)->kind = 0x4000;
	reseal(copy, real->size);
	ok(try_parse(copy, real->size, &err) == 0 && strstr(err.text, "no sites section"),
	   "a missing section is refused: %s", err.text);

	memcpy(copy, real->bytes, real->size);
	section_of(copy, LKS_SEC_TRACES)->record_size = sizeof(struct lks_trace) + 8;
	reseal(copy, real->size);
	ok(try_parse(copy, real->size, &err) == 0 && strstr(err.text, "record size"),
	   "a known section with another record size is refused: %s", err.text);
	free(copy);
}

static int write_file(const char *path, const void *bytes, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (write(fd, bytes, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* snap_read_file on path: rejected with a line naming it and containing want. */
static void expect_file_error(const char *path, const char *want, const char *what)
{
	struct snapshot *snap = NULL;
	struct errmsg err = { "" };
	int r = snap_read_file(path, &snap, &err);

	ok(r < 0 && strncmp(err.text, path, strlen(path)) == 0 && strstr(err.text, want) &&
	   !strchr(err.text, '\n'), "%s: %s", what, err.text);
	if (r == 0)
		snap_free(snap);
}

static void check_foreign_files(const struct blob *real)
{
	char dir[] = "/tmp/lks-foreign-XXXXXX", path[64], self[4096];
	static const char text[] = "LKSNAP is not enough\nto be a snapshot\n";
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (!mkdtemp(dir))
		return;
	self[len > 0 ? len : 0] = '\0';
	expect_file_error(self, "not a leakscope snapshot", "an ELF file");
	snprintf(path, sizeof(path), "%s/empty.lks", dir);
	write_file(path, "", 0);
	expect_file_error(path, "empty file", "an empty file");
	unlink(path);
	snprintf(path, sizeof(path), "%s/text.lks", dir);
	write_file(path, text, sizeof(text) - 1);
	expect_file_error(path, "not a leakscope snapshot", "a text file");
	unlink(path);
	snprintf(path, sizeof(path), "%s/short.lks", dir);
	write_file(path, real->bytes, 60);
	expect_file_error(path, "truncated", "half a header");
	unlink(path);
	expect_file_error(dir, "not a regular file", "a directory");
	snprintf(path, sizeof(path), "%s/missing.lks", dir);
	expect_file_error(path, strerror(ENOENT), "a missing file");
	rmdir(dir);
}

/* ---- a snapshot with Python retainer chains ---- */

static bool read_blob(const char *path, struct blob *out)
{
	FILE *f = fopen(path, "rb");
	long size;

	if (!f)
		return false;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (out->bytes = malloc((size_t)size)) && fread(out->bytes, 1, (size_t)size, f) == (size_t)size)
		out->size = (size_t)size;
	fclose(f);
	return out->size > 0;
}

/* The changed copy must be refused with one line that says `want`. */
static void expect_refused(const struct blob *real, size_t at, const void *value, size_t len,
			   const char *want, const char *what)
{
	uint8_t *copy = malloc(real->size);
	struct errmsg err;
	int r;

	memcpy(copy, real->bytes, real->size);
	memcpy(copy + at, value, len);
	reseal(copy, real->size);
	r = try_parse(copy, real->size, &err);
	if (!ok(r == 0 && strstr(err.text, want), "python retainers: %s refused (\"%s\")", what, want))
		diag("%s", r == 1 ? "accepted" : err.text);
	free(copy);
}

static void check_pyretainer_lies(const struct blob *real)
{
	uint8_t *bytes = real->bytes;
	struct lks_section *py = section_of(bytes, LKS_SEC_PYRETAINERS);
	struct lks_section *steps = section_of(bytes, LKS_SEC_RETAINERS);
	size_t table = (size_t)((uint8_t *)py - bytes);  /* its entry in the section table */
	uint64_t huge = UINT64_C(1) << 40, one_more = py->count + 1;
	uint32_t past = (uint32_t)steps->count, far = 0x7ffffff0;
	size_t first = py->offset, last = py->offset + (py->count - 1) * sizeof(struct lks_pyretainer);

	expect_refused(real, table + offsetof(struct lks_section, count), &huge, sizeof(huge),
		       "pass the end of the file", "a count past the file");
	expect_refused(real, table + offsetof(struct lks_section, count), &one_more,
		       sizeof(one_more), "", "one record more than written");
	expect_refused(real, last + offsetof(struct lks_pyretainer, step), &past, sizeof(past),
		       "past the chains", "a step index past the chains");
	expect_refused(real, first + offsetof(struct lks_pyretainer, step), &past, sizeof(past),
		       "out of order", "steps out of order");
	expect_refused(real, first + offsetof(struct lks_pyretainer, module), &far, sizeof(far),
		       "string offset", "a module name past the strings");
	expect_refused(real, last + offsetof(struct lks_pyretainer, key), &far, sizeof(far),
		       "string offset", "a key past the strings");
	expect_refused(real, first + offsetof(struct lks_pyretainer, type), &far, sizeof(far),
		       "string offset", "a type past the strings");
}

static void check_python_retainers(const char *path)
{
	struct blob real = { 0 };
	struct snapshot *snap = NULL;
	struct errmsg err = { "" };

	if (!ok(read_blob(path, &real), "read %s", path))
		return;
	if (ok(snap_parse(real.bytes, real.size, NAME, &snap, &err) == 0 && snap->pyretainer_count &&
	       snap->retainer_count && !(snap->header.flags & LKS_HF_CLASSIFIED),
	       "%s: python retainer chains, no scan, accepted", path))
		snap_free(snap);
	else
		diag("%s", err.text);
	check_truncations(&real);
	check_bit_flips(&real);
	check_random_corruption(&real);
	check_pyretainer_lies(&real);
	free(real.bytes);
}

int main(int argc, char **argv)
{
	struct blob real = { 0 };

	if (argc != 4) {
		fprintf(stderr, "usage: %s SHIM SNAPSOURCE PYRETAINERS.lks\n", argv[0]);
		return 2;
	}
	if (!ok(make_real_snapshot(argv[1], argv[2], NULL, &real) == 0,
		"the shim wrote a snapshot of %s", argv[2]))
		return tap_done();
	check_baseline(&real);
	check_truncations(&real);
	check_bit_flips(&real);
	check_random_corruption(&real);
	check_versions(&real);
	check_foreign_files(&real);
	free(real.bytes);
	check_python_retainers(argv[3]);
	return tap_done();
}
