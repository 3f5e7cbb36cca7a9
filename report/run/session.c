/* SPDX-License-Identifier: MIT */
/* From a program run under the shim to a report model: the run's token,
 * which snapshots belong to the report (those that carry it), and keeping
 * or removing the directory they were written to. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "session.h"
#include "diagnose.h"
#include "outdir.h"
#include "program.h"
#include "shimpath.h"
#include "snapread.h"
#include "snapset.h"
#include "symkeep.h"

/* Snapshots that stay after the run keep the symbols of their addresses
 * beside them, for reports made after the program is rebuilt. A failure
 * only makes those later reports less precise: it is told, not fatal. */
static void keep_symbols(const struct snapset *set, struct session_outcome *outcome)
{
	for (size_t i = 0; i < set->count; i++) {
		struct errmsg err = { "" };

		if (symkeep_write(set->snaps[i], &err) < 0 && !outcome->symbols_error[0])
			snprintf(outcome->symbols_error, sizeof(outcome->symbols_error), "%s",
				 err.text);
	}
}

/* The run's name: 128 random bits that only its processes are told (in
 * LEAKSCOPE_OPTIONS), so that a snapshot that carries them was written by
 * one of them, in this run. */
struct run_token {
	uint8_t bytes[LKS_RUN_TOKEN_SIZE];
	char hex[2 * LKS_RUN_TOKEN_SIZE + 1];
};

static int make_run_token(struct run_token *token, struct errmsg *err)
{
	ssize_t got;

	do
		got = getrandom(token->bytes, sizeof(token->bytes), 0);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(token->bytes)) {
		errmsg_set(err, "no random numbers for the run's token: %s",
			   got < 0 ? strerror(errno) : "short read");
		return got < 0 ? -errno : -EIO;
	}
	for (size_t i = 0; i < sizeof(token->bytes); i++)
		snprintf(token->hex + 2 * i, 3, "%02x", token->bytes[i]);
	return 0;
}

/* Keeps the snapshots of this run; counts the others (planted, stale, or
 * another run's that shares the directory) and names the first. */
static void keep_this_run(struct snapset *set, const struct run_token *token,
			  struct session_outcome *outcome)
{
	size_t kept = 0;

	for (size_t i = 0; i < set->count; i++) {
		struct snapshot *snap = set->snaps[i];

		if (!memcmp(snap->header.run_token, token->bytes, sizeof(token->bytes))) {
			set->snaps[kept++] = snap;
			continue;
		}
		if (outcome->ignored++ == 0)
			snprintf(outcome->ignored_name, sizeof(outcome->ignored_name), "%s",
				 snap->name);
		snap_free(snap);
	}
	set->count = kept;
}

/* The run's snapshots into a report; the started process first. */
static int report_run(const struct session_options *opts, const struct outdir *dir,
		      pid_t pid, const struct run_token *token, bool kept,
		      struct model_report *report, bool *found,
		      struct session_outcome *outcome, struct errmsg *err)
{
	struct snapset set = { .filter = opts->exe_filter,
			       .between = { opts->between[0], opts->between[1] } };
	struct namelist paths = { 0 };
	int r = outdir_new_snapshots(dir, &paths, err);

	if (r == -ENOENT) {
		/* removed by the program (a test suite's clean-up of $TMPDIR):
		 * nothing to report, said as a missing snapshot is */
		outcome->dir_removed = true;
		r = 0;
	}
	if (r == 0)
		r = snapset_add_paths(&set, &paths, err);
	if (r == 0)
		keep_this_run(&set, token, outcome);
	if (r == 0 && kept)
		keep_symbols(&set, outcome);
	if (r == 0)
		r = snapset_build_pairs(&set, report, err);
	if (r == 0) {
		snapset_select(&set, (int32_t)pid);
		*found = snapset_has_pid(&set, (int32_t)pid);
		r = snapset_build_report(&set, report, err);
	}
	namelist_free(&paths);
	snapset_free(&set);
	return r;
}

/* The loader only warns about a preload it cannot load and runs the
 * program anyway: refuse anything that is not an ELF file up front. */
static int check_shared_object(const char *path, struct errmsg *err)
{
	static const char elf_magic[4] = { 0x7f, 'E', 'L', 'F' };
	char magic[4] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	bool is_elf = fd >= 0 && read(fd, magic, sizeof(magic)) == sizeof(magic) &&
		      memcmp(magic, elf_magic, sizeof(magic)) == 0;

	if (fd >= 0)
		close(fd);
	if (is_elf)
		return 0;
	errmsg_set(err, "%s: not a shared library (give the path of libleakscope.so)", path);
	return -ENOEXEC;
}

static int find_shim(const struct session_options *opts, char *path, size_t size,
		     struct errmsg *err)
{
	if (!opts->shim)
		return shim_locate(path, size, err);
	if (!realpath(opts->shim, path)) {
		int r = -errno;

		errmsg_set(err, "%s: %s", opts->shim, strerror(-r));
		return r;
	}
	return check_shared_object(path, err);
}

/* The shim may have said why (marks.h): every fd in use, a step refused. */
static const struct model_no_data *no_data_of(const struct model_report *report, pid_t pid)
{
	for (size_t i = 0; i < report->no_data_count; i++)
		if (report->no_data[i].pid == pid)
			return &report->no_data[i];
	return NULL;
}

/* Why the started process left no exit snapshot, into buf. */
static void explain(const char *command, int wait_status, const struct model_no_data *known,
		    bool dir_removed, char *buf, size_t size, bool *killed)
{
	if (known && (known->fd_limit || known->write_step[0]))
		model_no_data_why(known, buf, size);
	else if ((*killed = WIFSIGNALED(wait_status)))
		snprintf(buf, size, "killed by signal %d (%s) before it could write one",
			 WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status)));
	else if (dir_removed)
		snprintf(buf, size, "the snapshot directory was removed while it ran");
	else
		snprintf(buf, size, "%s", diagnose_no_snapshot(command));
}

/* Its last snapshot was taken while it ran, and it has ended since. */
static bool ended_without_exit_snapshot(const struct model_report *report, pid_t pid)
{
	const struct model_process *last = report->count ? report->processes[0] : NULL;

	return last && last->pid == pid && last->reason != LKS_REASON_EXIT &&
	       last->reason != LKS_REASON__EXIT && last->reason != LKS_REASON_FATAL_SIGNAL;
}

int session_run(const struct session_options *opts, struct model_report *report,
		struct session_outcome *outcome, struct errmsg *err)
{
	char shim[PATH_MAX];
	struct outdir dir = { 0 };
	struct run_outcome ran = { 0 };
	struct guard guard;
	struct run_token token;
	bool found = false, keep;
	int r;

	*outcome = (struct session_outcome){ 0 };
	guard_start(&guard);  /* first: it has the time until the run to get going */
	r = find_shim(opts, shim, sizeof(shim), err);
	if (r == 0)
		r = make_run_token(&token, err);
	if (r == 0)
		r = outdir_open(opts->snapshot_dir, opts->shared_dir, &dir, err);
	if (r < 0) {
		guard_end(&guard);
		return r;
	}
	r = run_program(&(struct run_options){ .argv = opts->argv, .shim = shim,
					       .snapshot_dir = dir.path,
					       .run_token = token.hex,
					       .depth = opts->depth,
					       .wait_children = opts->wait_children,
					       .guard = &guard },
			&ran, err);
	outcome->spawn_error = ran.spawn_error;
	outcome->still_running = ran.still_running;
	outcome->first_running = ran.first_running;
	outcome->exit_code = run_exit_code(ran.wait_status);
	keep = opts->keep_snapshots || ran.still_running;
	if (r == 0 && !ran.spawn_error)
		r = report_run(opts, &dir, ran.pid, &token, keep || !dir.temporary, report,
			       &found, outcome, err);
	if (r == 0 && !ran.spawn_error && !found)
		explain(opts->argv[0], ran.wait_status, no_data_of(report, ran.pid),
			outcome->dir_removed, outcome->missing, sizeof(outcome->missing),
			&outcome->killed);
	else if (r == 0 && !ran.spawn_error && ended_without_exit_snapshot(report, ran.pid))
		explain(opts->argv[0], ran.wait_status, NULL, false, outcome->no_exit,
			sizeof(outcome->no_exit), &(bool){ false });
	guard_end(&guard);  /* released by run_program; it had the report's time to exit */
	if (dir.temporary && keep)
		outcome->kept_dir = strdup(dir.path);
	outdir_close(&dir, keep, NULL);
	return r;
}
