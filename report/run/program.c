/* SPDX-License-Identifier: MIT */
/* Starting the program with the shim preloaded and waiting for it and its
 * tree. The environment is the user's with LD_PRELOAD and LEAKSCOPE_OPTIONS
 * extended, never replaced: the user's own preloads and options still
 * apply. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"
#include "marks.h"
#include "program.h"
#include "relay.h"

extern char **environ;

static bool names(const char *entry, const char *name)
{
	size_t len = strlen(name);

	return strncmp(entry, name, len) == 0 && entry[len] == '=';
}

/* "NAME=first" or "NAME=first:rest": the shim goes ahead of the user's own
 * preloads so that it sees their allocations too. */
static char *joined(const char *name, const char *first, const char *rest)
{
	char *entry;
	int n;

	if (rest && rest[0])
		n = asprintf(&entry, "%s=%s:%s", name, first, rest);
	else
		n = asprintf(&entry, "%s=%s", name, first);
	return n < 0 ? NULL : entry;
}

/* The user's options first: a later key wins, so output_dir, summary and
 * run_token are always ours. The token also makes the entry this run's
 * alone, for the watcher (guard.h). */
static int options_value(const struct run_options *opts, char **value)
{
	const char *user = getenv("LEAKSCOPE_OPTIONS");
	char depth[32] = "";
	int n;

	if (opts->depth)
		snprintf(depth, sizeof(depth), ":depth=%u", opts->depth);
	n = asprintf(value, "%s%soutput_dir=%s:summary=0%s:run_token=%s", user ? user : "",
		     user && user[0] ? ":" : "", opts->snapshot_dir, depth, opts->run_token);
	return n < 0 ? -ENOMEM : 0;
}

/* The loader splits LD_PRELOAD at ':' and ' ': a path holding either would
 * silently preload something else. */
static int check_preloadable(const char *shim, struct errmsg *err)
{
	if (!strpbrk(shim, ": ") && shim[0] == '/')
		return 0;
	errmsg_set(err, "%s: cannot go in LD_PRELOAD (must be absolute, without ':' or ' ')",
		   shim);
	return -EINVAL;
}

static char **build_environment(const struct run_options *opts)
{
	size_t count = 0, kept = 0;
	char **env, *options;

	while (environ[count])
		count++;
	env = calloc(count + 4, sizeof(*env));
	if (!env || options_value(opts, &options) < 0) {
		free(env);
		return NULL;
	}
	for (size_t i = 0; i < count; i++)
		if (!names(environ[i], "LD_PRELOAD") &&
		    !names(environ[i], "LEAKSCOPE_OPTIONS"))
			env[kept++] = environ[i];
	/* CPython's small objects come from pymalloc's arenas, which hide them
	 * from the shim: malloc, unless the user chose (docs/PYTHON.md) */
	if (!getenv("PYTHONMALLOC"))
		env[kept++] = (char *)"PYTHONMALLOC=malloc";
	env[kept] = joined("LD_PRELOAD", opts->shim, getenv("LD_PRELOAD"));
	env[kept + 1] = joined("LEAKSCOPE_OPTIONS", options, NULL);
	free(options);
	if (!env[kept] || !env[kept + 1]) {
		free(env[kept]);
		free(env[kept + 1]);
		free(env);
		return NULL;
	}
	return env;
}

static size_t environment_count(char **env)
{
	size_t count = 0;

	while (env[count])
		count++;
	return count;
}

static void free_environment(char **env)
{
	size_t count = environment_count(env);

	/* only the last two entries are ours; the rest belong to environ */
	free(env[count - 1]);
	free(env[count - 2]);
	free(env);
}

/* The command name of a zombie, still kept by the kernel until reaped. */
static void zombie_name(pid_t pid, char *name, size_t size)
{
	char path[64];
	FILE *comm;

	name[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	comm = fopen(path, "re");
	if (!comm)
		return;
	if (fgets(name, (int)size, comm))
		name[strcspn(name, "\n")] = '\0';
	fclose(comm);
}

/* Reaps one child that ended (none: 0 with WNOHANG). One a signal killed
 * is marked in the snapshot directory first (marks.h): SIGKILL leaves no
 * snapshot, and the report must still name it. */
static pid_t reap(const char *snapshot_dir, int options, int *status)
{
	siginfo_t info = { 0 };
	char name[32];

	if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT | options) < 0)
		return -1;
	if (info.si_pid == 0)
		return 0;
	if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) {
		zombie_name(info.si_pid, name, sizeof(name));
		marks_write_killed(snapshot_dir, info.si_pid, info.si_status, name);
	}
	return waitpid(info.si_pid, status, 0);
}

/* Orphans of the tree that end meanwhile are reaped too: as the subreaper
 * we are their parent, and a long run must not pile up zombies. */
static int wait_for(const struct relay *relay, const char *snapshot_dir, pid_t pid,
		    int *status)
{
	for (;;) {
		int any_status;
		pid_t got = reap(snapshot_dir, 0, &any_status);

		if (got == pid) {
			*status = any_status;
			relay_to(relay, 0);
			return 0;
		}
		if (got < 0 && errno != EINTR)
			return -errno;
	}
}

/* The pids in /proc/self/task/PID/children: descendants orphaned to us. */
static void count_running(struct run_outcome *out)
{
	char path[64];
	FILE *children;
	int pid;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	children = fopen(path, "re");
	if (!children) {
		out->still_running = 1;  /* some, we cannot tell which */
		return;
	}
	while (fscanf(children, "%d", &pid) == 1)
		if (out->still_running++ == 0)
			out->first_running = pid;
	fclose(children);
}

/* Reaps the descendants that ended; with wait_all, waits for every one,
 * until a signal (Ctrl-C, SIGTERM, ...) says to stop. */
static void settle_descendants(const struct relay *relay, const char *snapshot_dir,
			       bool wait_all, struct run_outcome *out)
{
	int status;

	relay_hold(relay);
	for (;;) {
		pid_t pid = reap(snapshot_dir, WNOHANG, &status);

		if (pid > 0 || (pid < 0 && errno == EINTR))
			continue;
		if (pid < 0)
			return;  /* ECHILD: none left */
		if (!wait_all || relay_interrupted()) {
			count_running(out);
			return;
		}
		relay_wait(relay);
	}
}

/* The program and its tree, from start to end; the environment is freed. */
static int run_tree(const struct run_options *opts, char **env, struct run_outcome *out,
		    struct errmsg *err)
{
	struct relay relay;
	sigset_t defaults;
	int r = 0;

	prctl(PR_SET_CHILD_SUBREAPER, 1);  /* best effort: orphans then go to init */
	relay_start(&relay, &defaults);
	out->spawn_error = launch_program(opts->argv, env, &relay.mask, &defaults, &out->pid);
	free_environment(env);
	if (!out->spawn_error) {
		relay_to(&relay, out->pid);
		/* for a later `leakscope report DIR`: forks tie on start time */
		marks_write_started(opts->snapshot_dir, out->pid);
		r = wait_for(&relay, opts->snapshot_dir, out->pid, &out->wait_status);
	}
	if (r < 0)
		errmsg_set(err, "waiting for pid %d: %s", (int)out->pid, strerror(-r));
	else if (!out->spawn_error)
		settle_descendants(&relay, opts->snapshot_dir, opts->wait_children, out);
	relay_stop(&relay);
	return r;
}

int run_program(const struct run_options *opts, struct run_outcome *out,
		struct errmsg *err)
{
	char **env;
	int r;

	*out = (struct run_outcome){ 0 };
	r = check_preloadable(opts->shim, err);
	if (r < 0)
		return r;
	env = build_environment(opts);
	if (!env) {
		errmsg_set(err, "out of memory");
		return -ENOMEM;
	}
	/* the tree carries this run's LEAKSCOPE_OPTIONS entry (the last one) */
	if (opts->guard)
		guard_arm(opts->guard, env[environment_count(env) - 1]);
	r = run_tree(opts, env, out, err);
	if (opts->guard)
		guard_release(opts->guard);
	return r;
}

int run_exit_code(int wait_status)
{
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return WEXITSTATUS(wait_status);
}
