/* SPDX-License-Identifier: MIT */
/* The report model: what a snapshot says once it is symbolized and grouped.
 * Every output format, and later diffs and the CI gate, work from this,
 * never from the raw file. All strings belong to the process's pool. */
#ifndef LEAKSCOPE_MODEL_H
#define LEAKSCOPE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "errmsg.h"

struct snapshot;
struct pool;
struct gate_verdict;

struct model_frame {
	const char *function; /* NULL: no symbol */
	const char *file;     /* NULL: no line information */
	uint32_t line;        /* 0 when file is NULL */
	/* where the function starts (its DW_AT_decl_line), 0 when unknown:
	 * line - function_line places a call within its function whatever
	 * was inserted above it (the gate's site identity, siteid.h) */
	uint32_t function_line;
	const char *module;   /* NULL: the address is in no known module */
	uint64_t address;     /* the return address as recorded */
	uint64_t offset;      /* address - load bias: what addr2line takes */
	bool inlined;         /* inlined into the next frame (same address) */
	bool python;          /* a CPython frame: address is the tagged value */
};

struct model_stack {
	uint32_t trace; /* the snapshot's trace id; 0: no stack was captured */
	size_t count;
	struct model_frame *frames; /* innermost first */
};

struct model_leak {
	enum lks_class klass;
	enum lks_family family;
	enum lks_heuristic heuristic; /* reachable only through such pointers */
	uint64_t blocks, bytes;
	uint64_t indirect_blocks, indirect_bytes; /* reached only through these */
	uint64_t largest;
	uint32_t oldest_seq;
	const char *suppressed_by; /* the matching rule's name, or NULL */
	struct model_stack stack;
};

struct model_handle {
	int32_t fd;              /* -1 when the handle has none */
	const char *description; /* "" when the shim had none */
	uint64_t addr, size;     /* FILE*, DIR* or mapping; size: a mapping's
	                          * length, a DIR's heap bytes (0: unknown) */
	bool to_child;           /* survives exec (no CLOEXEC) */
};

/* Open handles of one type created at one stack. */
struct model_handle_group {
	enum lks_handle_type type;
	size_t count;
	struct model_handle *handles;
	struct model_stack stack;
	const char *suppressed_by; /* the matching rule's name, or NULL */
	uint64_t heap_bytes; /* DIR buffers: heap memory the handles hold */
	bool to_child; /* fds exec'd programs inherited, not open handles */
	bool inherited; /* a fork child's fds from its parent, still open */
};

/* One step of a retainer chain: a root, then each block on the way. */
struct model_retainer_step {
	enum lks_retainer_kind kind;
	uint64_t address;       /* the root word, or the block's start */
	uint64_t offset;        /* block: where its pointer to the next step is;
				 * register root: the register's index */
	uint64_t size;          /* block */
	uint32_t thread;        /* stack, register, TLS root (0: the exiting one) */
	const char *symbol;     /* global root: the symbol holding the word, or NULL */
	uint64_t symbol_offset; /* of the word inside that symbol */
	const char *module;     /* global root: its object, or NULL */
	struct model_stack frame; /* stack root: the frame holding the word */
	struct model_stack stack; /* block: where it was allocated */
	const char *pytype;     /* block: the Python type of the object it holds,
				 * or NULL (a buffer, or not proven an object) */
	const char *pymodule;   /* module root: its name ("" when unknown) */
	const char *pykey;      /* module root: its key in sys.modules; block:
				 * its key in the dict that holds it; or NULL */
};

/* What keeps a block of one reachable site alive, root first. */
struct model_retainer {
	const struct model_leak *site; /* NULL when the site is not in leaks */
	size_t step_count;
	struct model_retainer_step *steps;
};

/* A site the shim's walk from the modules chose and has no chain to. */
struct model_unchained {
	const struct model_leak *site; /* NULL when the site is not in leaks */
	uint32_t reason;               /* LKS_PYU_* */
	uint64_t walked;               /* blocks the walk read */
};

/* Live Python objects of one type made at one stack (pyobjects.c). */
struct model_pyobjects {
	const char *type;        /* tp_name: "dict", "MyListener" */
	enum lks_class klass;    /* as the site's */
	uint64_t blocks, bytes;
	struct model_stack stack;
};

/* All live objects of one Python type in a snapshot. */
struct model_pytype_total {
	const char *type;
	uint64_t blocks, bytes;
};

struct model_class_total {
	uint64_t blocks, bytes, sites;
};

struct model_process {
	int32_t pid, ppid, exit_status;
	int32_t signal;  /* LKS_REASON_FATAL_SIGNAL: the signal it died of */
	enum lks_reason reason;
	uint32_t seq, flags, max_depth;
	uint64_t time_ns, uptime_ns;
	const char *exe, *label;
	/* why the process is not judged ("--skip-exe GLOB", "not matched by
	 * --only-exe"): listed, nothing of it read; NULL when judged */
	const char *skipped;
	bool classified; /* LKS_HF_CLASSIFIED: classes come from a scan */
	struct lks_counters counters;

	struct model_leak *leaks; /* largest bytes first */
	size_t leak_count;
	struct model_handle_group *handle_groups; /* most handles first */
	size_t handle_group_count;
	size_t handle_count;
	/* fds without CLOEXEC that exec'd or spawned programs inherited */
	struct model_handle_group *child_groups; /* most handles first */
	size_t child_group_count;
	size_t child_handle_count;
	/* a fork child's fds from its parent, never closed: listed, not open
	 * handles of its own (--fail-on inherited judges them) */
	struct model_handle_group *inherited_groups; /* most handles first */
	size_t inherited_group_count;
	size_t inherited_handle_count;
	/* mappings still pointed into at exit (LKS_HDF_REFERENCED): held like
	 * reachable memory, not open handles; statistics count them */
	struct model_handle_group *held_groups; /* most mappings first */
	size_t held_group_count;
	size_t held_mappings;
	uint64_t held_mapping_bytes;

	/* leaked = every class but reachable, suppressed sites excluded */
	uint64_t leaked_blocks, leaked_bytes, leak_sites;
	struct model_class_total suppressed;
	/* of the suppressed, CPython's immortal strings the shim proved at exit */
	struct model_class_total python_immortal;
	size_t suppressed_handles; /* handles, child and inherited fds suppressed */
	struct model_class_total by_class[LKS_CLASS_REACHABLE + 1];
	/* of the reachable, what only a heuristic's pointers reach */
	struct model_class_total by_heuristic[LKS_HEUR_EMPTY_ARRAY + 1];

	struct model_retainer *retainers; /* in the shim's order: largest first */
	size_t retainer_count;
	struct model_unchained *unchained; /* in the shim's order */
	size_t unchained_count;

	const char **warnings; /* why some frames are not symbolized */
	size_t warning_count, warning_capacity;

	/* CPython in the process (pyframes.c): what the shim did with it */
	bool has_python;
	struct lks_python python;
	const char *python_reason; /* "" when Python frames are on */
	/* typed objects (python.flags has LKS_PYF_TYPED): largest bytes first */
	struct model_pyobjects *pyobjects;
	size_t pyobject_count;
	struct model_pytype_total *pytypes; /* per type, largest bytes first */
	size_t pytype_count;

	struct pool *pool;
};

/* The "version" of the JSON report (docs/JSON.md): out_json.c writes it, a
 * baseline of any other version is refused. */
#define MODEL_JSON_VERSION 1

/* Two snapshots of one process, for the growth gate (--between A,B). */
struct model_pair {
	struct model_process *from, *to;
};

/* A process of the tree known to have ended without a snapshot: killed by
 * a signal no handler sees (SIGKILL) or ended before the shim ran, as
 * `leakscope run` saw it die; or one whose shim could not write it. */
struct model_no_data {
	int32_t pid;
	int32_t signal;    /* what killed it; 0: it ended otherwise */
	int32_t fd_limit;  /* > 0: every fd in use, RLIMIT_NOFILE this */
	int32_t write_errno;    /* with write_step: its errno, 0 when unknown */
	char write_step[16];    /* not "": the shim's write failed at this step */
	char name[32];     /* its command name (comm), or "" */
};

struct model_report {
	struct model_process **processes; /* the started process first */
	size_t count;
	/* with --between A,B: per process, its first snapshot labelled A and
	 * its last labelled B after it, in pid order */
	struct model_pair *pairs;
	size_t pair_count, pair_capacity;
	struct model_no_data *no_data;    /* by pid */
	size_t no_data_count;
	size_t killed_count;              /* of no_data: those with a signal */
	int32_t started_pid;              /* the tree's root when known (it may
					   * be in no_data), else 0 */
};

/* Symbolizes and groups one snapshot (model_build.c). 0 or a negative errno. */
int model_build_process(const struct snapshot *snap, struct model_process **out,
			struct errmsg *err);
/* A process that --skip-exe or --only-exe leaves out (exefilter.h): its
 * header only, nothing symbolized; `glob` is the matching --skip-exe glob,
 * or "" for --only-exe. It is never incomplete: its counters stay zero. */
int model_build_skipped(const struct snapshot *snap, const char *glob,
			struct model_process **out, struct errmsg *err);
/* The same for a snapshot file, read and released here. */
int model_read_process(const char *path, struct model_process **out,
		       struct errmsg *err);
void model_free_process(struct model_process *proc);
void model_free_report(struct model_report *report);

/* Names used by every format (model.c). */
const char *model_class_name(enum lks_class klass);
const char *model_family_name(enum lks_family family);
const char *model_handle_type_name(enum lks_handle_type type);
const char *model_reason_name(enum lks_reason reason);
const char *model_root_name(enum lks_retainer_kind kind);
/* "new[] cookie", "multiple inheritance"...; NULL for LKS_HEUR_NONE */
const char *model_heuristic_name(enum lks_heuristic heuristic);
void model_signal_name(int signal, char *name, size_t size); /* "SIGTERM" or "" */
/* Why the shim wrote no snapshot, when it left word: "every fd in use
 * (RLIMIT_NOFILE 16)", "the shim could not write it (renameat2 failed:
 * Operation not permitted)"; "" when it did not. */
void model_no_data_why(const struct model_no_data *d, char *text, size_t size);
bool model_class_is_leak(enum lks_class klass);

#endif
