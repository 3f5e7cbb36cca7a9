/* SPDX-License-Identifier: MIT */
/* No flipped bit turns a leaking program's snapshot into a clean report
 * that passes the gate. The snapshot is a real one of `waiter leak` (100
 * bytes definitely lost). Every bit of its header and section table, and
 * every 7th bit of the rest, is flipped as damage would flip it: the file
 * must be refused. Every bit of the header and table is also flipped by a
 * forger who seals the file again (right size and checksum): the file must
 * be refused, or its report must still fail the default gate.
 * Usage: test_tamper SHIM WAITER (TAP output) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "images.h"
#include "realsnap.h"
#include "snapread.h"
#include "tap.h"

#define NAME "tampered.lks"
#define REST_STRIDE 7

/* The default gate's verdict on the snapshot's report, when it is read:
 * 1 fails, 0 passes, -1 the file is refused. */
static int judge(const uint8_t *bytes, size_t size, char *why, size_t why_size)
{
	struct model_report report = { 0 };
	struct gate_config config;
	struct gate_verdict verdict;
	struct snapshot *snap = NULL;
	struct model_process *proc;
	struct errmsg err = { "" };
	int failed;

	if (snap_parse(bytes, size, NAME, &snap, &err) < 0) {
		snprintf(why, why_size, "%s", err.text);
		return -1;
	}
	if (model_build_process(snap, &proc, &err) < 0) {
		snap_free(snap);
		snprintf(why, why_size, "%s", err.text);
		return -1;
	}
	snap_free(snap);
	report.processes = &proc;
	report.count = 1;
	gate_config_init(&config);
	failed = gate_judge(&config, &report, &verdict) == 0 && verdict.failed;
	snprintf(why, why_size, "%" PRIu64 " leak sites, %" PRIu64 " handles, %zu reasons "
		 "incomplete", verdict.leak_sites, verdict.handles, verdict.incomplete_count);
	gate_verdict_free(&verdict);
	gate_config_free(&config);
	model_free_process(proc);
	return failed;
}

static size_t table_end(const struct blob *real)
{
	const struct lks_header *header = (const void *)real->bytes;

	return sizeof(*header) + header->section_count * sizeof(struct lks_section);
}

static void check_damage(const struct blob *real, uint8_t *copy)
{
	size_t head_bits = table_end(real) * 8, flipped = 0, read = 0;
	char why[600];

	for (size_t bit = 0; bit < real->size * 8; bit += bit < head_bits ? 1 : REST_STRIDE) {
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (judge(copy, real->size, why, sizeof(why)) >= 0 && read++ < 5)
			diag("bit %zu: damaged, and read", bit);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		flipped++;
	}
	ok(read == 0, "%zu bits flipped (every one of the header and table, every %dth "
	   "after): each damaged file refused", flipped, REST_STRIDE);
}

static void check_forgery(const struct blob *real, uint8_t *copy)
{
	size_t head_bits = table_end(real) * 8, refused = 0, failing = 0, passing = 0;
	char why[600];

	for (size_t bit = 0; bit < head_bits; bit++) {
		int verdict;

		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		reseal(copy, real->size);
		verdict = judge(copy, real->size, why, sizeof(why));
		memcpy(copy, real->bytes, real->size);
		refused += verdict < 0;
		failing += verdict > 0;
		if (verdict == 0 && passing++ < 5)
			diag("bit %zu (byte %zu) flipped and sealed: the gate passes (%s)", bit,
			     bit / 8, why);
	}
	ok(passing == 0, "%zu bits of the header and table flipped and sealed again: %zu "
	   "refused, %zu still fail the gate, none passes it", head_bits, refused, failing);
}

int main(int argc, char **argv)
{
	struct blob real = { 0 };
	uint8_t *copy;
	char why[600];

	if (argc != 3) {
		fprintf(stderr, "usage: %s SHIM WAITER\n", argv[0]);
		return 2;
	}
	if (!ok(make_real_snapshot(argv[1], argv[2], "leak", &real) == 0,
		"the shim wrote a snapshot of %s leak", argv[2]))
		return tap_done();
	if (!ok(judge(real.bytes, real.size, why, sizeof(why)) == 1,
		"as written, its report fails the gate (%s)", why))
		return tap_done();
	copy = malloc(real.size);
	memcpy(copy, real.bytes, real.size);
	check_damage(&real, copy);
	check_forgery(&real, copy);
	free(copy);
	free(real.bytes);
	images_release();
	return tap_done();
}
