/* SPDX-License-Identifier: MIT */
/* The snapshot file format (.lks): the only contract between the shim, which
 * writes it, and the reporter, which reads it. Described for humans in
 * docs/FORMAT.md; every record size is pinned below. */
#ifndef LEAKSCOPE_FORMAT_H
#define LEAKSCOPE_FORMAT_H

#include <stdint.h>

/* A file is: header, section table (section_count entries), then the
 * sections at the offsets the table gives, each 8-byte aligned. All integers
 * are little-endian (the writer's native order on every supported target). */

/* An end snapshot that could not be written may leave, in its place, an
 * empty file named LKS_UNWRITTEN_PREFIX PID "." WHY in the output
 * directory: "nofile-N", every fd in use (RLIMIT_NOFILE N); "failed-E-STEP",
 * STEP (a system call, or "collecting") failed with errno E (0: unknown). */
#define LKS_UNWRITTEN_PREFIX ".unwritten."
#define LKS_UNWRITTEN_NOFILE "nofile-"
#define LKS_UNWRITTEN_FAILED "failed-"
/* A child that a signal killed, as the process that reaped it saw it (the
 * shim in its parent, or `leakscope run`): an empty file named
 * LKS_KILLED_PREFIX PID "." SIGNAL ["." COMM] in the output directory, so
 * that one killed by SIGKILL, which wrote no snapshot, is still named. */
#define LKS_KILLED_PREFIX ".killed."

#define LKS_MAGIC "LKSNAP\r\n" /* \r\n catches text-mode mangling, as PNG's */
#define LKS_MAGIC_LEN 8
#define LKS_VERSION 2

/* Why a snapshot was taken: X(number, NAME, "name"). The reader refuses
 * any number not listed. */
#define LKS_REASONS(X)                                                     \
	X(1, EXIT, "exit")     /* exit() or return from main, after atexit */ \
	X(2, _EXIT, "_exit")   /* _exit / _Exit: no atexit handlers ran */   \
	X(3, SIGNAL, "signal") /* asked from outside (leakscope snapshot PID) */ \
	X(4, TIMER, "timer")   /* the interval option */                     \
	X(5, API, "api")       /* leakscope_snapshot() */                   \
	X(6, PYTHON_EXIT, "python-exit") /* CPython began to finalize (docs/PYTHON.md) */ \
	X(7, FATAL_SIGNAL, "fatal-signal") /* a signal about to end it (header.signal) */

enum lks_reason {
#define LKS_REASON_ENUM(number, NAME, name) LKS_REASON_##NAME = number,
	LKS_REASONS(LKS_REASON_ENUM)
#undef LKS_REASON_ENUM
};

/* Every section kind, written once: X(number, NAME, "name", record type).
 * The writer emits them in this order (shim/snapshot.c); the reader knows
 * them by number (report/snapread.c). The record types are defined below. */
#define LKS_SECTIONS(X)                                                    \
	X(1, STRINGS, "strings", char)      /* NUL-terminated; found by offset */ \
	X(2, COUNTERS, "counters", struct lks_counters) /* exactly one */      \
	X(3, MODULES, "modules", struct lks_module)                           \
	X(4, TRACES, "traces", struct lks_trace) /* sorted by id */            \
	X(5, FRAMES, "frames", uint64_t)    /* return addresses, leaf first */ \
	X(6, SITES, "sites", struct lks_site) /* live memory per stack */      \
	X(7, HANDLES, "handles", struct lks_handle) /* open handles */         \
	X(8, RETAINERS, "retainers", struct lks_retainer_step)                \
	X(9, PYTHON, "python", struct lks_python) /* at most one */            \
	X(10, PYCODES, "python code", struct lks_pycode) /* sorted by id */    \
	X(11, PYBYTES, "python line tables", uint8_t) /* the code copies' line tables */ \
	X(12, PYTYPES, "python types", struct lks_pytype) /* sorted by id */    \
	X(13, PYOBJECTS, "python objects", struct lks_pyobjects) /* per (site, type) */ \
	X(14, PYRETAINERS, "python retainers", struct lks_pyretainer) /* by step */ \
	X(15, PYUNCHAINED, "python sites without a chain", struct lks_pyunchained)

enum lks_section_kind {
#define LKS_SECTION_ENUM(number, NAME, name, record) LKS_SEC_##NAME = number,
	LKS_SECTIONS(LKS_SECTION_ENUM)
#undef LKS_SECTION_ENUM
};

/* Leak class of a site. UNFREED is used when no reachability scan ran
 * (snapshots taken during the run, or scan disabled). */
enum lks_class {
	LKS_CLASS_UNFREED = 0,
	LKS_CLASS_DEFINITE = 1,
	LKS_CLASS_INDIRECT = 2,
	LKS_CLASS_POSSIBLE = 3,
	LKS_CLASS_REACHABLE = 4,
};

/* How a reachable site's blocks were reached when only an interior pointer
 * leads to them, one that C++ or a C library makes on purpose (Valgrind's
 * leak-check heuristics; blocks a start pointer reaches have NONE). */
enum lks_heuristic {
	LKS_HEUR_NONE = 0,
	LKS_HEUR_STDSTRING = 1,    /* to the characters of a reference-counted
	                            * std::string: length, capacity, count first */
	LKS_HEUR_LENGTH64 = 2,     /* 8 bytes in: the first 8 hold the length of
	                            * the rest (sqlite's allocations) */
	LKS_HEUR_NEWARRAY = 3,     /* 8 bytes in: new T[n]'s element count
	                            * ("cookie") of a T with a destructor */
	LKS_HEUR_MULTIPLE_INHERITANCE = 4, /* to a non-first base of an object:
	                            * vtable pointers at both places */
	LKS_HEUR_EMPTY_ARRAY = 5,  /* one past the end of new T[0]: the cookie
	                            * alone, holding 0 */
};

/* Why a lost site's blocks are not the program's own: the shim proved them
 * the runtime's at the exit scan (docs/FORMAT.md, "Sites"). */
enum lks_apart {
	LKS_APART_NONE = 0,
	LKS_APART_PY_IMMORTAL = 1, /* CPython 3.12 and 3.13's immortal str
	                            * objects, each proven by its header */
};

/* Allocator family: which release function a block must be given back to. */
enum lks_family {
	LKS_FAMILY_MALLOC = 0, /* malloc, calloc, realloc, memalign, ... */
	LKS_FAMILY_NEW = 1,    /* operator new (all forms) */
	LKS_FAMILY_NEW_ARRAY = 2,
};

enum lks_handle_type {
	LKS_HANDLE_FD = 1, /* a file or anything not listed below */
	LKS_HANDLE_SOCKET = 2,
	LKS_HANDLE_PIPE = 3,
	LKS_HANDLE_EVENTFD = 4,
	LKS_HANDLE_TIMERFD = 5,
	LKS_HANDLE_SIGNALFD = 6,
	LKS_HANDLE_EPOLL = 7,
	LKS_HANDLE_INOTIFY = 8,
	LKS_HANDLE_MEMFD = 9,
	LKS_HANDLE_PIDFD = 10,
	LKS_HANDLE_FILE = 11, /* FILE* */
	LKS_HANDLE_DIR = 12,  /* DIR* */
	LKS_HANDLE_MMAP = 13,
};

#define LKS_HEADER_LABEL_NONE 0 /* string offset 0 is always "" */
#define LKS_RUN_TOKEN_SIZE 16

/* What a writer never exceeds; the reader refuses more. */
#define LKS_DEPTH_MAX 256          /* native frames per trace (the depth option's maximum) */
#define LKS_TRACE_FRAMES_MAX 320   /* frames per trace, Python frames included */
#define LKS_STRING_MAX 4096        /* bytes per string, its NUL included */
#define LKS_RETAIN_CHAINS_MAX 16   /* retainer chains per snapshot */
#define LKS_RETAIN_BLOCKS_MAX 64   /* block steps per chain, after its root */

struct lks_header {
	char magic[LKS_MAGIC_LEN];
	uint32_t version;
	uint32_t header_size;   /* sizeof(struct lks_header) */
	uint32_t section_count; /* lks_section entries right after the header */
	uint32_t reason;        /* enum lks_reason */
	int32_t pid;
	int32_t ppid;
	uint32_t seq;           /* snapshot number within the process, from 1 */
	int32_t exit_status;    /* status given to exit/_exit; -1 otherwise */
	uint64_t time_ns;       /* CLOCK_REALTIME when taken */
	uint64_t uptime_ns;     /* CLOCK_MONOTONIC since the shim started */
	uint32_t exe;           /* string: /proc/self/exe at start */
	uint32_t label;         /* string: snapshot label ("exit", user's, ...) */
	uint32_t flags;         /* LKS_HF_* */
	uint32_t max_depth;     /* stack depth option in force */
	int32_t signal;         /* LKS_REASON_FATAL_SIGNAL: the signal; else 0 */
	uint32_t reserved32;
	uint64_t reserved[5];
	/* Whose it is and whether it is whole (docs/TRUST.md). */
	uint64_t file_size;     /* bytes of the whole file */
	uint64_t checksum;      /* lks_checksum of the file, this field read as 0 */
	uint8_t run_token[LKS_RUN_TOKEN_SIZE]; /* the run_token option; 0: none */
	uint64_t instance;      /* random, drawn when the shim starts in a
	                         * process, again in a fork child */
	uint64_t start_ticks;   /* the process's start, /proc/self/stat field 22 */
};
_Static_assert(sizeof(struct lks_header) == 168, "lks_header size");

#define LKS_HF_CLASSIFIED 0x1u /* a reachability scan set the site classes */
#define LKS_HF_FORKED 0x2u     /* this process is a fork child of ppid */
#define LKS_HF_OWN_MALLOC 0x4u /* the program's own malloc won: not recorded */
#define LKS_HF_PYTHON 0x8u     /* a CPython runtime was found: see LKS_SEC_PYTHON */

struct lks_section {
	uint32_t kind;        /* enum lks_section_kind */
	uint32_t record_size; /* bytes per record, 1 for STRINGS */
	uint64_t offset;      /* from the start of the file */
	uint64_t count;       /* records */
};
_Static_assert(sizeof(struct lks_section) == 24, "lks_section size");

/* What the shim did and what it could not do, one list: X(name). A counter
 * whose name starts with missed_ counts what the shim could not record: above
 * zero, the report is incomplete by that much, the reporter says so and the
 * gate fails (report/gate/incomplete.c goes by the name). */
#define LKS_COUNTERS(X)                                                        \
	X(allocs)            /* recorded allocations (realloc counts once) */  \
	X(frees)             /* recorded releases */                            \
	X(live_blocks)       /* the sites' blocks, summed */                    \
	X(live_bytes)        /* the sites' bytes, summed */                     \
	X(tool_resident_bytes) /* of tool_bytes, in RAM (0: not measured) */    \
	X(missed_allocs)     /* not recorded: table full or shim disabled */    \
	X(missed_stacks)     /* recorded with trace 0: unwind or depot failed */ \
	X(unknown_frees)     /* free() of a pointer the table never had */      \
	X(mismatched_frees)  /* free of new'd block, delete of malloc'd... */   \
	X(bootstrap_allocs)  /* served from the static arena during dlsym */    \
	X(traces)            /* distinct stacks interned */                     \
	X(tool_bytes)        /* address space the shim mapped for its tables */ \
	X(handles_open)      /* handles without REFERENCED or TO_CHILD */      \
	X(missed_handles)                                                       \
	X(scanned_bytes)     /* bytes the reachability scan read */             \
	X(snapshot_ns)       /* time spent writing this snapshot */             \
	X(missed_threads)    /* not stopped for the scan: read conservatively */ \
	X(busy_allocs)       /* of missed_allocs: made while the shim was busy \
	                      * recording another (signal handlers) */          \
	X(recovered_scopes)  /* times a thread was found left inside the shim \
	                      * by a jump out of it (siglongjmp), and went on   \
	                      * recording */                                    \
	X(unwind_truncated)  /* stacks cut short: a frame could not be stepped */ \
	X(unwind_slow_frames) /* frames stepped by running their CFI program again */ \
	X(unwind_table_bytes) /* of tool_bytes: rows worked out from CFI */    \
	X(unwind_checked)    /* unwind_check=1: stacks also taken by libunwind */ \
	X(unwind_differences) /* ... and found different */                   \
	X(as_limit_bytes)    /* RLIMIT_AS that stopped the tables growing (0: none) */ \
	X(unreadable_root_bytes) /* of modules' writable segments, made        \
	                      * unreadable (PROT_NONE) by the program: not     \
	                      * scanned */                                      \
	X(closed_unseen)     /* recorded fds closed by a call the shim did not \
	                      * see (syscall(SYS_close)): not open handles */  \
	X(replaced_unseen)   /* of those, fds now holding another file */       \
	X(missed_children)   /* programs exec'd untraced (static, set-user-ID) */ \
	X(unmapped_unseen)   /* recorded mappings unmapped by a call the shim \
	                      * did not see: not open handles */               \
	X(opened_unseen)     /* fds above 2 open, neither open at start (or    \
	                      * fork) nor recorded: opened by calls the shim   \
	                      * did not see (syscall(), libc's own) */

#define LKS_COUNTER_SLOTS 32 /* the record's 64-bit words, reserved ones included */
enum {
#define LKS_COUNTER_ONE(name) +1
	LKS_COUNTER_COUNT = 0 LKS_COUNTERS(LKS_COUNTER_ONE)
#undef LKS_COUNTER_ONE
};

struct lks_counters {
#define LKS_COUNTER_FIELD(name) uint64_t name;
	LKS_COUNTERS(LKS_COUNTER_FIELD)
#undef LKS_COUNTER_FIELD
	uint64_t reserved[LKS_COUNTER_SLOTS - LKS_COUNTER_COUNT];
};
_Static_assert(sizeof(struct lks_counters) == 256, "lks_counters size");

#define LKS_BUILD_ID_MAX 40

struct lks_module {
	uint64_t bias;       /* load bias: runtime address - ELF virtual address */
	uint64_t start;      /* lowest mapped address of its PT_LOAD segments */
	uint64_t end;        /* one past the highest */
	uint32_t path;       /* string: path as the loader saw it */
	uint32_t flags;      /* LKS_MF_* */
	uint32_t build_id_len;
	uint8_t build_id[LKS_BUILD_ID_MAX];
};
_Static_assert(sizeof(struct lks_module) == 80, "lks_module size");

#define LKS_MF_MAIN 0x1u     /* the executable */
#define LKS_MF_UNLOADED 0x2u /* dlclose'd before the snapshot */
#define LKS_MF_SHIM 0x4u     /* libleakscope itself */
#define LKS_MF_VDSO 0x8u

struct lks_trace {
	uint32_t id;       /* 1.. ; 0 means "no stack" and has no record */
	uint32_t depth;    /* frames */
	uint64_t first;    /* index of the leaf frame in LKS_SEC_FRAMES */
};
_Static_assert(sizeof(struct lks_trace) == 16, "lks_trace size");

/* Live memory of one stack, one class and one family. For DEFINITE sites,
 * indirect_* is the memory reachable only through this site's blocks. */
struct lks_site {
	uint32_t trace;
	uint8_t klass;       /* enum lks_class */
	uint8_t family;      /* enum lks_family */
	uint8_t heuristic;   /* enum lks_heuristic: reachable only that way */
	uint8_t apart;       /* enum lks_apart, on a definite, indirect or
	                      * possible site */
	uint64_t blocks;
	uint64_t bytes;
	uint64_t indirect_blocks;
	uint64_t indirect_bytes;
	uint64_t largest;    /* largest single block */
	uint32_t oldest_seq; /* allocation sequence number of the oldest block */
	uint32_t reserved2;
};
_Static_assert(sizeof(struct lks_site) == 56, "lks_site size");

struct lks_handle {
	int32_t fd;          /* -1 for mmaps and for a FILE or DIR without fd */
	uint16_t type;       /* enum lks_handle_type */
	uint16_t flags;      /* LKS_HDF_* */
	uint32_t trace;
	uint32_t description;/* string: path, socket addresses, pipe:[ino]... */
	uint64_t addr;       /* FILE*, DIR* or mapping address */
	uint64_t size;       /* mapping length; a DIR's heap bytes (0: unknown) */
};
_Static_assert(sizeof(struct lks_handle) == 32, "lks_handle size");

#define LKS_HDF_TO_CHILD 0x1u /* inherited by an exec'd program (no CLOEXEC) */
#define LKS_HDF_REFERENCED 0x2u /* a mapping memory still points into at exit */
#define LKS_HDF_INHERITED 0x4u  /* a fork child's fd from its parent, still open */

/* One step of a chain from a root to a block of a reachable site: steps of
 * one chain share `chain` and come in order, the root first, then each block
 * on the way; the last block belongs to the site the chain is for. */
struct lks_retainer_step {
	uint32_t chain;
	uint32_t kind;      /* LKS_RK_* */
	uint64_t addr;      /* root: the word's address; block: its start */
	uint64_t offset;    /* block: where in it the pointer to the next step is;
	                     * register root: the register's index */
	uint32_t trace;     /* block: allocation site */
	uint32_t thread;    /* stack, register, TLS root: thread (0 = exiting one;
	                     * LKS_THREAD_FINISHED: the TCB of a finished thread
	                     * whose stack glibc keeps for reuse) */
	uint64_t size;      /* block: its size */
	uint64_t frame_ip;  /* stack root: the first return address above the
	                     * word, into the caller of the function whose frame
	                     * holds it; 0 when none was found */
};
_Static_assert(sizeof(struct lks_retainer_step) == 48, "lks_retainer_step size");

#define LKS_THREAD_FINISHED 0xffffffffu

enum lks_retainer_kind {
	LKS_RK_GLOBAL = 1,  /* a word in a module's writable segment */
	LKS_RK_STACK = 2,   /* a word on a thread's stack */
	LKS_RK_TLS = 3,     /* a thread's dtv pointer, in its TCB */
	LKS_RK_MMAP = 4,    /* a word in an anonymous mapping of the program */
	LKS_RK_BLOCK = 5,   /* a heap block on the way */
	LKS_RK_REGISTER = 6,/* a register of a thread, saved when it was stopped */
	LKS_RK_FILE = 7,    /* a word in a writable file mapping of the program's
	                     * (a JVM's class-data archive, MAP_PRIVATE) */
	LKS_RK_RUNTIME = 8, /* a word in a block the C library allocated while
	                     * the shim worked (the FILE of fopen, the DIR of
	                     * opendir): never reported itself */
	LKS_RK_PYMODULE = 9,/* a Python module object (addr), whose dict is
	                     * the next step: chains of a snapshot without a
	                     * scan (docs/PYTHON.md, "Retainers") */
};

/* ---- CPython (docs/PYTHON.md) ---------------------------------------------
 * A Python frame is a tagged value in a trace's frames, never a real return
 * address (its top byte makes it non-canonical): the code object's copy id
 * and the byte offset of its current instruction. The shim puts the Python
 * frames run by one _PyEval_EvalFrameDefault call just inside that native
 * frame (leaf first, as every frame). Copy id 0: a frame whose code object
 * could not be copied. */
#define LKS_PYFRAME_TAG 0xfe00000000000000ull
#define LKS_PYFRAME_TAG_MASK 0xff00000000000000ull
#define LKS_PYFRAME(code_id, byte_offset) \
	(LKS_PYFRAME_TAG | ((uint64_t)(code_id) << 32) | (uint32_t)(byte_offset))
#define LKS_PYFRAME_IS(frame) (((frame) & LKS_PYFRAME_TAG_MASK) == LKS_PYFRAME_TAG)
#define LKS_PYFRAME_CODE(frame) ((uint32_t)(((frame) >> 32) & 0xffffffu))
#define LKS_PYFRAME_OFFSET(frame) ((uint32_t)(frame))
#define LKS_PYCODE_MAX_ID 0xffffffu

enum lks_py_status {
	LKS_PY_ON = 1,          /* Python frames are in the stacks */
	LKS_PY_OFF = 2,         /* turned off by the python=0 option */
	LKS_PY_UNSUPPORTED = 3, /* version or layout not understood: see reason */
	LKS_PY_NOT_STARTED = 4, /* found, but no thread ran Python code yet */
};

/* python_gc=1: whether a full collection ran before this snapshot, and
 * if not, why (docs/PYTHON.md). NONE for snapshots it does not apply to. */
#define LKS_PY_GCS(X)                                                       \
	X(0, NONE, "none")             /* python_gc=0, or an end snapshot */ \
	X(1, COLLECTED, "collected")   /* gc_collected holds the count */    \
	X(2, UNAVAILABLE, "unavailable") /* the interpreter lacks a function */ \
	X(3, NOT_STARTED, "not started") /* Py_Initialize has not finished */ \
	X(4, FINALIZING, "finalizing") /* Py_Finalize under way */           \
	X(5, NOT_PYTHON_THREAD, "not a Python thread") /* the API caller has \
	                                  * no thread state of CPython's */   \
	X(6, QUEUE_FULL, "pending calls full") /* Py_AddPendingCall refused */ \
	X(7, MAIN_AWAY, "main thread ran no Python for 1 s") /* in C, asleep */\
	X(8, SHIM_BUSY, "shim busy")   /* asked from inside the shim (signal) */

enum lks_py_gc {
#define LKS_PY_GC_ENUM(number, NAME, name) LKS_PYGC_##NAME = number,
	LKS_PY_GCS(LKS_PY_GC_ENUM)
#undef LKS_PY_GC_ENUM
	LKS_PYGC_LAST = LKS_PYGC_SHIM_BUSY
};

#define LKS_PYF_RAW_MALLOC 0x1u  /* PYTHONMALLOC=malloc: objects are malloc'd */
#define LKS_PYF_ENV_IGNORED 0x2u /* -E or -I: PYTHONMALLOC was not read */
#define LKS_PYF_TYPED 0x4u       /* live blocks were typed: see typed_blocks */

/* What the shim knew of the interpreter in this process. */
struct lks_python {
	uint32_t version;      /* PY_VERSION_HEX (Py_Version), 0 when unknown */
	uint32_t status;       /* enum lks_py_status */
	uint32_t reason;       /* string: why Python frames are off ("" when on) */
	uint32_t flags;        /* LKS_PYF_* */
	uint64_t codes;        /* code objects copied during the run */
	uint64_t missed_codes; /* Python frames left as copy id 0: not copied */
	uint64_t bad_frames;   /* walks stopped at a frame that failed a check */
	uint64_t unpaired;     /* stacks with more Python runs than native
	                        * _PyEval_EvalFrameDefault frames: the rest dropped */
	uint64_t gc_collected; /* LKS_PYGC_COLLECTED: what PyGC_Collect returned */
	uint32_t gc;           /* enum lks_py_gc: the collection before this snapshot */
	uint32_t reserved32;
	/* LKS_PYF_TYPED: the snapshot's live blocks, read at its time */
	uint64_t typed_blocks;      /* Python objects of a proven type */
	uint64_t untyped_blocks;    /* not shown to be one: buffers, and objects
	                             * whose type could not be proven */
	uint64_t unreadable_blocks; /* freed while the snapshot read them */
	uint64_t typing_ns;         /* time spent typing them */
	uint64_t reserved[2];
};
_Static_assert(sizeof(struct lks_python) == 112, "lks_python size");

/* A copy of one code object, made the first time a stack held it. */
struct lks_pycode {
	uint32_t id;           /* 1.. as in LKS_PYFRAME; strictly increasing */
	uint32_t qualname;     /* string: co_qualname */
	uint32_t filename;     /* string: co_filename */
	int32_t firstlineno;   /* co_firstlineno */
	uint64_t linetable;    /* offset of co_linetable in LKS_SEC_PYBYTES */
	uint32_t linetable_len;
	uint32_t code_bytes;   /* bytecode length: frame offsets lie below it */
};
_Static_assert(sizeof(struct lks_pycode) == 32, "lks_pycode size");

/* A type object that live objects of this snapshot have (docs/PYTHON.md
 * says how it was proven to be one). */
struct lks_pytype {
	uint32_t id;           /* 1.. ; strictly increasing */
	uint32_t name;         /* string: tp_name ("dict", "MyListener") */
	uint64_t address;      /* of the type object in the process */
	uint32_t flags;        /* LKS_PYTF_* */
	uint32_t reserved;
};
_Static_assert(sizeof(struct lks_pytype) == 24, "lks_pytype size");

#define LKS_PYTF_HEAP 0x1u /* a heap type (a class): a live block itself */
#define LKS_PYTF_GC 0x2u   /* its objects start with the GC header */

/* Live Python objects of one type allocated at one stack, in one class. */
struct lks_pyobjects {
	uint32_t trace;
	uint32_t type;         /* lks_pytype id */
	uint8_t klass;         /* enum lks_class, as the site's */
	uint8_t reserved[7];
	uint64_t blocks;
	uint64_t bytes;
};
_Static_assert(sizeof(struct lks_pyobjects) == 32, "lks_pyobjects size");

/* What a retainer step is in Python terms: one record per step that is a
 * proven Python object or a module root, in step order. */
struct lks_pyretainer {
	uint32_t step;         /* index in LKS_SEC_RETAINERS; strictly increasing */
	uint32_t type;         /* string: the object's tp_name; "" for a root */
	uint32_t module;       /* string: a LKS_RK_PYMODULE root's module name
	                        * ("" when its md_name is not a compact str) */
	uint32_t key;          /* string: a root's key in sys.modules; a block's
	                        * key in the dict two steps before it, which
	                        * holds it in its keys block; "" when none */
};
_Static_assert(sizeof(struct lks_pyretainer) == 16, "lks_pyretainer size");

/* A site the retainer walk of a snapshot without a scan chose and has no
 * chain to, and why (docs/PYTHON.md, "Retainers"). */
struct lks_pyunchained {
	uint32_t trace;        /* the site's stack */
	uint32_t reason;       /* LKS_PYU_* */
	uint64_t walked;       /* blocks the walk had read when it ended */
};
_Static_assert(sizeof(struct lks_pyunchained) == 16, "lks_pyunchained size");

enum lks_pyunchained_reason {
	LKS_PYU_UNREACHED = 1, /* the walk read every block the modules reach:
	                        * none is the site's */
	LKS_PYU_BUDGET = 2,    /* the walk stopped at its budget
	                        * (python_retain_blocks) before reaching one */
	LKS_PYU_DEEP = 3,      /* its nearest block is more than
	                        * LKS_RETAIN_BLOCKS_MAX blocks from a module */
	LKS_PYU_FREED = 4,     /* not reached, and blocks on the way were freed
	                        * while the walk read them (in-run) */
};

#endif
