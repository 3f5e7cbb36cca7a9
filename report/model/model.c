/* SPDX-License-Identifier: MIT */
/* The words every format uses for the model's enums, and freeing a model. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pool.h"

const char *model_class_name(enum lks_class klass)
{
	static const char *const names[] = {
		[LKS_CLASS_UNFREED] = "unfreed",
		[LKS_CLASS_DEFINITE] = "definite",
		[LKS_CLASS_INDIRECT] = "indirect",
		[LKS_CLASS_POSSIBLE] = "possible",
		[LKS_CLASS_REACHABLE] = "reachable",
	};

	return (unsigned)klass <= LKS_CLASS_REACHABLE ? names[klass] : "unknown";
}

const char *model_heuristic_name(enum lks_heuristic heuristic)
{
	static const char *const names[] = {
		[LKS_HEUR_STDSTRING] = "std::string",
		[LKS_HEUR_LENGTH64] = "length prefix",
		[LKS_HEUR_NEWARRAY] = "new[] cookie",
		[LKS_HEUR_MULTIPLE_INHERITANCE] = "multiple inheritance",
		[LKS_HEUR_EMPTY_ARRAY] = "one past the end of new T[0]",
	};

	return (unsigned)heuristic <= LKS_HEUR_EMPTY_ARRAY ? names[heuristic] : NULL;
}

const char *model_family_name(enum lks_family family)
{
	static const char *const names[] = {
		[LKS_FAMILY_MALLOC] = "malloc",
		[LKS_FAMILY_NEW] = "new",
		[LKS_FAMILY_NEW_ARRAY] = "new[]",
	};

	return (unsigned)family <= LKS_FAMILY_NEW_ARRAY ? names[family] : "unknown";
}

const char *model_handle_type_name(enum lks_handle_type type)
{
	static const char *const names[] = {
		[LKS_HANDLE_FD] = "fd",
		[LKS_HANDLE_SOCKET] = "socket",
		[LKS_HANDLE_PIPE] = "pipe",
		[LKS_HANDLE_EVENTFD] = "eventfd",
		[LKS_HANDLE_TIMERFD] = "timerfd",
		[LKS_HANDLE_SIGNALFD] = "signalfd",
		[LKS_HANDLE_EPOLL] = "epoll",
		[LKS_HANDLE_INOTIFY] = "inotify",
		[LKS_HANDLE_MEMFD] = "memfd",
		[LKS_HANDLE_PIDFD] = "pidfd",
		[LKS_HANDLE_FILE] = "FILE",
		[LKS_HANDLE_DIR] = "DIR",
		[LKS_HANDLE_MMAP] = "mmap",
	};

	if (type < LKS_HANDLE_FD || type > LKS_HANDLE_MMAP)
		return "unknown";
	return names[type];
}

/* format.h's names, so a new reason needs no change here */
const char *model_reason_name(enum lks_reason reason)
{
	switch (reason) {
#define REASON_NAME(number, NAME, name) case LKS_REASON_##NAME: return name;
	LKS_REASONS(REASON_NAME)
#undef REASON_NAME
	}
	return "unknown";
}

/* "SIGTERM", or "" for a number the C library does not name. */
void model_signal_name(int signal, char *name, size_t size)
{
	const char *abbrev = sigabbrev_np(signal);

	snprintf(name, size, abbrev ? "SIG%s" : "", abbrev);
}

void model_no_data_why(const struct model_no_data *d, char *text, size_t size)
{
	const char *description = d->write_errno ? strerrordesc_np(d->write_errno) : NULL;

	if (d->fd_limit)
		snprintf(text, size, "every fd in use (RLIMIT_NOFILE %" PRId32 ")", d->fd_limit);
	else if (d->write_step[0])
		snprintf(text, size, "the shim could not write it (%s failed%s%s)", d->write_step,
			 description ? ": " : "", description ? description : "");
	else
		snprintf(text, size, "%s", "");
}

const char *model_root_name(enum lks_retainer_kind kind)
{
	static const char *const names[] = {
		[LKS_RK_GLOBAL] = "global",
		[LKS_RK_STACK] = "stack",
		[LKS_RK_TLS] = "tls",
		[LKS_RK_MMAP] = "mmap",
		[LKS_RK_BLOCK] = "block",
		[LKS_RK_REGISTER] = "register",
		[LKS_RK_FILE] = "file",
		[LKS_RK_RUNTIME] = "runtime",
		[LKS_RK_PYMODULE] = "pymodule",
	};

	if (kind < LKS_RK_GLOBAL || kind > LKS_RK_PYMODULE)
		return "unknown";
	return names[kind];
}

/* Reachable memory is still referenced at exit: counted, never a leak. */
bool model_class_is_leak(enum lks_class klass)
{
	return klass != LKS_CLASS_REACHABLE;
}

void model_free_process(struct model_process *proc)
{
	if (!proc)
		return;
	free(proc->leaks);
	free(proc->handle_groups);
	free(proc->child_groups);
	free(proc->inherited_groups);
	free(proc->held_groups);
	free(proc->retainers);
	free(proc->pyobjects);
	free(proc->pytypes);
	free(proc->warnings);
	pool_free(proc->pool);
	free(proc);
}

void model_free_report(struct model_report *report)
{
	for (size_t i = 0; i < report->count; i++)
		model_free_process(report->processes[i]);
	free(report->processes);
	report->processes = NULL;
	for (size_t i = 0; i < report->pair_count; i++) {
		model_free_process(report->pairs[i].from);
		model_free_process(report->pairs[i].to);
	}
	free(report->pairs);
	report->pairs = NULL;
	report->pair_count = report->pair_capacity = 0;
	report->count = 0;
	free(report->no_data);
	report->no_data = NULL;
	report->no_data_count = report->killed_count = 0;
}
