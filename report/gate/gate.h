/* SPDX-License-Identifier: MIT */
/* The CI gate: its settings (options.inc fills them in) and the verdict on
 * a report model: which leak and handle sites fail it (chosen classes, not
 * suppressed, not in the baseline), whether their totals are over the
 * limits, and whether a report says it is incomplete (docs/CI.md). */
#ifndef LEAKSCOPE_GATE_H
#define LEAKSCOPE_GATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "baseline.h"
#include "growth.h"
#include "incomplete.h"
#include "model.h"
#include "suppress.h"

/* LSan's exit code for "leaks found", when --error-exitcode is not given. */
#define GATE_DEFAULT_EXIT_CODE 23

/* What --fail-on selects. UNFREED sites (no reachability scan ran) fail
 * with DEFINITE: nothing says they are still referenced. */
enum {
	GATE_FAIL_DEFINITE = 1u << 0,
	GATE_FAIL_INDIRECT = 1u << 1,
	GATE_FAIL_POSSIBLE = 1u << 2,
	GATE_FAIL_REACHABLE = 1u << 3,
	GATE_FAIL_HANDLES = 1u << 4,
	GATE_FAIL_CHILD_FDS = 1u << 5, /* handles an exec'd program inherits */
	GATE_FAIL_INHERITED = 1u << 6, /* a fork child's fds from its parent */
};

#define GATE_NO_LIMIT UINT64_MAX

struct gate_config {
	unsigned fail_on;
	uint64_t max_leaked_bytes, max_leaks, max_handles; /* GATE_NO_LIMIT: unset */
	/* the growth gate: live memory between the snapshots labelled
	 * between[0] and between[1] of each process (NULL: off) */
	const char *between[2];
	uint64_t max_growth, max_total_growth; /* GATE_NO_LIMIT: unset */
	int error_exitcode;
	/* Suppressions, --started-only and the output files alone only report:
	 * the exit code stays the program's until a threshold, a class list, an
	 * exit code or a baseline asks for a verdict (MARK_ARMS in options.inc). */
	bool armed;          /* an option that makes the verdict the exit code */
	bool wanted;         /* any gate option: a verdict is computed */
	bool started_only;   /* only the started process, not its tree */
	bool allow_killed;   /* a process killed without a snapshot does not fail it */
	uint64_t accept_incomplete; /* reasons that do not fail (incomplete.h) */
	bool no_builtin_handles; /* list bash's and make's by-design handles */
	const char **suppression_files;
	size_t suppression_file_count, suppression_file_capacity;
	const char *baseline_path, *write_baseline, *junit_path, *sarif_path;
	const char *suppressions_out; /* --print-suppressions FILE */
	struct suppress_rules rules;
	struct baseline baseline;
};

/* A failing or known site: a leak or a group of handles of one process. */
struct gate_site {
	const struct model_process *proc;
	const struct model_leak *leak;            /* NULL for handles */
	const struct model_handle_group *handles; /* NULL for a leak */
	uint64_t handle_count; /* handles in the group (0 for a leak) */
	const char *rule;      /* "leak/definite", "handle/open", ... */
	struct site_id id;     /* its identity across builds */
	enum baseline_match match; /* how the baseline knows it */
	bool known;            /* in the baseline (match is not NEW): does not fail */
	/* SARIF's partialFingerprints: the chain and the site's order among
	 * the sites of its chain in this run, so that an alert keeps its
	 * identity when lines move inside the function */
	uint64_t fingerprint;
};

struct gate_verdict {
	const struct gate_config *config;
	bool failed;
	bool sites_failed;     /* the leak and handle limits alone (not growth) */
	size_t process_count;  /* report->processes[0..n) were judged */
	struct gate_site *sites; /* sites of the chosen classes, suppressed excluded */
	size_t site_count, site_capacity;
	/* why the judged processes' reports are incomplete (not accepted):
	 * each one fails the gate */
	struct gate_incomplete {
		const struct model_process *proc;
		struct incomplete_reason reason;
	} *incomplete;
	size_t incomplete_count, incomplete_capacity;
	/* totals of the new sites (not known), compared with the limits */
	uint64_t leaked_bytes, leaked_blocks, leak_sites, handles, known_sites;
	size_t skipped_processes; /* of those judged: left out by --skip-exe, --only-exe */
	bool over_bytes, over_leaks, over_handles;
	struct growth_verdict growth; /* wanted: --between was given */
	uint64_t killed;       /* judged processes killed with no snapshot */
};

void gate_config_init(struct gate_config *config);
/* A --fail-on list ("definite,handles") into GATE_FAIL_* bits. 0, or
 * -EINVAL with the reason in `err`. */
int gate_parse_fail_on(const char *arg, unsigned *fail_on, struct errmsg *err);
/* Reads the suppression and baseline files. 0, or a negative errno with
 * the reason in `err`: a bad file must stop the gate, never pass it. */
int gate_load(struct gate_config *config, struct errmsg *err);
void gate_config_free(struct gate_config *config);

/* Applies the suppressions to `report` and judges it. The verdict points
 * into the report and travels beside it to the formats (out_json's gate
 * member, out_junit, out_sarif, out_gate_text). 0 or -ENOMEM. */
int gate_judge(struct gate_config *config, struct model_report *report,
	       struct gate_verdict *verdict);
void gate_verdict_free(struct gate_verdict *verdict);

/* The --fail-on list as text ("definite,indirect,handles"). */
void gate_fail_on_text(unsigned fail_on, char *buf, size_t size);

#endif
