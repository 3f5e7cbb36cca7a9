/* SPDX-License-Identifier: MIT */
/* Starting the program with the shim preloaded and waiting for it. The
 * environment is the user's with LD_PRELOAD and LEAKSCOPE_OPTIONS extended,
 * never replaced: the user's own preloads and options still apply. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

static volatile sig_atomic_t child_pid;

static void forward_signal(int signo)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, signo);
}

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

/* The user's options first: a later key wins, so output_dir and summary
 * are always ours. */
static int options_value(const struct run_options *opts, char **value)
{
	const char *user = getenv("LEAKSCOPE_OPTIONS");
	char depth[32] = "";
	int n;

	if (opts->depth)
		snprintf(depth, sizeof(depth), ":depth=%u", opts->depth);
	n = asprintf(value, "%s%soutput_dir=%s:summary=0%s", user ? user : "",
		     user && user[0] ? ":" : "", opts->snapshot_dir, depth);
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

static void free_environment(char **env)
{
	size_t count = 0;

	while (env[count])
		count++;
	/* only the last two entries are ours; the rest belong to environ */
	free(env[count - 1]);
	free(env[count - 2]);
	free(env);
}

/* The program gets the signal state leakscope was started with: what the
 * user ignored stays ignored (nohup), the rest is default. */
static int spawn(const struct run_options *opts, char **env,
		 const sigset_t *mask, bool int_ignored, bool quit_ignored,
		 pid_t *pid)
{
	posix_spawnattr_t attr;
	sigset_t defaults;
	int r;

	sigemptyset(&defaults);
	sigaddset(&defaults, SIGTERM);
	if (!int_ignored)
		sigaddset(&defaults, SIGINT);
	if (!quit_ignored)
		sigaddset(&defaults, SIGQUIT);
	r = posix_spawnattr_init(&attr);
	if (r)
		return r;
	r = posix_spawnattr_setsigdefault(&attr, &defaults);
	if (!r)
		r = posix_spawnattr_setsigmask(&attr, mask);
	if (!r)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
						    POSIX_SPAWN_SETSIGMASK);
	if (!r)
		r = posix_spawnp(pid, opts->argv[0], NULL, &attr, opts->argv, env);
	posix_spawnattr_destroy(&attr);
	return r;
}

struct saved_signals {
	sigset_t mask;
	struct sigaction int_action, quit_action, term_action;
};

static void ignore_terminal_signals(struct saved_signals *saved)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN };
	sigset_t term;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	/* until the child's pid is known, a SIGTERM waits */
	sigprocmask(SIG_BLOCK, &term, &saved->mask);
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGINT, &ignore, &saved->int_action);
	sigaction(SIGQUIT, &ignore, &saved->quit_action);
}

static void forward_term(struct saved_signals *saved, pid_t pid)
{
	struct sigaction forward = { .sa_handler = forward_signal,
				     .sa_flags = SA_RESTART };

	sigemptyset(&forward.sa_mask);
	child_pid = pid;
	sigaction(SIGTERM, &forward, &saved->term_action);
	sigprocmask(SIG_SETMASK, &saved->mask, NULL);
}

static void restore_signals(const struct saved_signals *saved, bool term_changed)
{
	if (term_changed)
		sigaction(SIGTERM, &saved->term_action, NULL);
	sigaction(SIGINT, &saved->int_action, NULL);
	sigaction(SIGQUIT, &saved->quit_action, NULL);
	sigprocmask(SIG_SETMASK, &saved->mask, NULL);
	child_pid = 0;
}

/* Orphans of the tree that end meanwhile are reaped too: as the subreaper
 * we are their parent, and a long run must not pile up zombies. */
static int wait_for(pid_t pid, int *status)
{
	for (;;) {
		int any_status;
		pid_t got = waitpid(-1, &any_status, 0);

		if (got == pid) {
			*status = any_status;
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

/* Reaps the descendants that ended; with wait_all, waits for every one
 * (Ctrl-C or SIGTERM then stop leakscope itself). */
static void settle_descendants(bool wait_all, struct run_outcome *out)
{
	int status;

	for (;;) {
		pid_t pid = waitpid(-1, &status, wait_all ? 0 : WNOHANG);

		if (pid > 0 || (pid < 0 && errno == EINTR))
			continue;
		if (pid == 0)
			count_running(out);
		return;  /* 0: some still run; -1 ECHILD: none left */
	}
}

int run_program(const struct run_options *opts, struct run_outcome *out,
		struct errmsg *err)
{
	struct saved_signals saved;
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
	prctl(PR_SET_CHILD_SUBREAPER, 1);  /* best effort: orphans then go to init */
	ignore_terminal_signals(&saved);
	out->spawn_error = spawn(opts, env, &saved.mask,
				 saved.int_action.sa_handler == SIG_IGN,
				 saved.quit_action.sa_handler == SIG_IGN, &out->pid);
	free_environment(env);
	if (out->spawn_error) {
		restore_signals(&saved, false);
		return 0;
	}
	forward_term(&saved, out->pid);
	r = wait_for(out->pid, &out->wait_status);
	restore_signals(&saved, true);
	if (r < 0) {
		errmsg_set(err, "waiting for pid %d: %s", (int)out->pid, strerror(-r));
		return r;
	}
	settle_descendants(opts->wait_children, out);
	return 0;
}

int run_exit_code(int wait_status)
{
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return WEXITSTATUS(wait_status);
}
