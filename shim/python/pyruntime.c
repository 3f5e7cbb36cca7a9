/* SPDX-License-Identifier: MIT */
/* Finding the CPython runtime of this process at start-up (its exported
 * symbols: the executable or a libpython), choosing and checking the layout
 * of its version, and what the environment did to its allocator. Anything
 * unexpected leaves the native stacks as they are and says why, once. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../shim.h"
#include "../sys.h"
#include "python.h"
#include "pyroom.h"

struct lks_py_runtime lks_pyrt;
int lks_py_exit_due;

/* process_vm_readv on ourselves: a bad address is an error, not a fault.
 * About 2 us a call, so only the rare paths use it (docs/PYTHON.md). */
bool lks_py_peek(void *dst, uint64_t src, size_t len)
{
	struct iovec local = { dst, len }, remote = { (void *)src, len };

	if (!src)
		return false;
	return syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L) ==
	       (long)len;
}

void lks_py_refuse(const char *reason)
{
	size_t len = strlen(reason);

	if (len >= sizeof(lks_pyrt.reason))
		len = sizeof(lks_pyrt.reason) - 1;
	memcpy(lks_pyrt.reason, reason, len);
	lks_pyrt.reason[len] = '\0';
	/* release: the reason is written before anyone sees the status or state */
	__atomic_store_n(&lks_pyrt.status, LKS_PY_UNSUPPORTED, __ATOMIC_RELEASE);
	__atomic_store_n(&lks_pyrt.state, PY_REFUSED, __ATOMIC_RELEASE);
}

/* An option of the interpreter's command line turning the environment off:
 * -E, -I, alone or among other one-letter flags, before the script. */
static bool flag_ignores_env(const char *arg, bool *stop)
{
	for (const char *c = arg + 1; *c; c++) {
		if (*c == 'E' || *c == 'I')
			return true;
		if (strchr("cmWX", *c)) {  /* the rest is that option's value */
			*stop = *c == 'c' || *c == 'm';
			return false;
		}
	}
	return false;
}

static bool command_ignores_env(void)
{
	char args[4096];
	int fd = lks_sys_openat(AT_FDCWD, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC, 0);
	ssize_t len = fd < 0 ? -1 : lks_sys_read(fd, args, sizeof(args) - 1);
	bool stop = false;

	if (fd >= 0)
		lks_sys_close(fd);
	if (len <= 0)
		return false;
	args[len] = '\0';
	/* argv[0], then options until the script, "-", "--", -c or -m */
	for (char *arg = args + strlen(args) + 1; arg < args + len && !stop;
	     arg += strlen(arg) + 1) {
		if (arg[0] != '-' || !arg[1] || !strcmp(arg, "--"))
			break;
		if (arg[1] != '-' && flag_ignores_env(arg, &stop))
			return true;
	}
	return false;
}

/* PYTHONMALLOC=malloc in the environment the program started with, read
 * by lks_py_init in the constructor: a libpython loaded later is found
 * inside a capture (pylate.c), where getenv would race with a setenv on
 * another thread. */
static bool env_raw_malloc;

/* An embedding program's command line is its own, not the interpreter's. */
static void note_allocator(bool embedded)
{
	if (env_raw_malloc)
		lks_pyrt.flags |= LKS_PYF_RAW_MALLOC;
	if (!embedded && command_ignores_env())
		lks_pyrt.flags |= LKS_PYF_ENV_IGNORED;
}

static const struct lks_py_symbols *symbols;  /* during lks_py_init_from only */

static uint64_t symbol(const char *name)
{
	return symbols->find(name, NULL);
}

/* _PyEval_EvalFrameDefault's extent, from its dynamic symbol's size. */
static bool find_eval_loop(void)
{
	const char *name = "_PyEval_EvalFrameDefault";
	uint64_t size = 0, eval = symbols->find(name, &size);

	if (!eval || size == 0)
		return false;
	lks_pyrt.eval_start = eval;
	lks_pyrt.eval_end = eval + size;
	if (symbols->path)
		lks_py_cold_range_in(symbols->path, name, eval, &lks_pyrt.cold_start,
		                     &lks_pyrt.cold_end);
	else
		lks_py_cold_range(eval, &lks_pyrt.cold_start, &lks_pyrt.cold_end);
	return true;
}

static bool find_runtime(void)
{
	uint64_t version = symbol("Py_Version");
	char *reason = lks_pyrt.reason;
	size_t size = sizeof(lks_pyrt.reason);

	if (!version) {
		lks_py_refuse("CPython without Py_Version (before 3.11): frames are not read");
		return false;
	}
	lks_pyrt.version = *(const uint32_t *)version;  /* in a loaded object */
	if (!lks_py_peek(&lks_pyrt.version, version, sizeof(uint32_t))) {
		lks_py_refuse("process_vm_readv on itself is refused (a seccomp filter?)");
		return false;
	}
	if (!find_eval_loop()) {
		lks_py_refuse("_PyEval_EvalFrameDefault has no symbol with a size");
		return false;
	}
	lks_pyrt.code_type = symbol("PyCode_Type");
	lks_pyrt.type_type = symbol("PyType_Type");
	lks_pyrt.str_type = symbol("PyUnicode_Type");
	if (!lks_py_layout_for(lks_pyrt.version, lks_pyrt.runtime, &lks_pyrt.layout,
	                       reason, size) ||
	    !lks_py_layout_check_types(&lks_pyrt.layout, lks_pyrt.code_type,
	                               symbol("PyUnicode_Type"), symbol("PyBytes_Type"),
	                               reason, size)) {
		lks_py_refuse(reason);
		return false;
	}
	return true;
}

static bool python_named(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strncmp(base, "python", 6) == 0 || strncmp(base, "libpython", 9) == 0;
}

static int find_python_module(struct dl_phdr_info *info, size_t size, void *found)
{
	(void)size;
	*(bool *)found |= info->dlpi_name && python_named(info->dlpi_name);
	return *(bool *)found;
}

/* Only a process with an object named python* or libpython* is asked for
 * CPython's symbols: a dlsym that fails makes glibc allocate this thread's
 * dlerror state on our behalf, unrecorded, and a dlerror() message the
 * program later keeps there would look lost (tests/reach runtime.c). */
static bool may_hold_python(void)
{
	bool found = python_named(lks_exe_path());

	if (!found)
		dl_iterate_phdr(find_python_module, &found);
	return found;
}

static uint64_t dl_find(const char *name, uint64_t *size)
{
	void *addr = dlsym(RTLD_DEFAULT, name);
	const ElfW(Sym) *sym = NULL;
	Dl_info info;

	if (addr && size)
		*size = dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) && sym ?
		        sym->st_size : 0;
	return (uint64_t)addr;
}

void lks_py_init_from(const struct lks_py_symbols *found)
{
	uint32_t status = LKS_PY_NOT_STARTED;

	symbols = found;
	lks_pyrt.runtime = symbol("_PyRuntime");
	if (!lks_pyrt.runtime)
		return;  /* not a CPython process */
	note_allocator(found->path != NULL);
	lks_pyrt.symbols = found;  /* for pygc.c, which resolves its own on first use */
	if (!lks_opt.python)
		status = LKS_PY_OFF;
	else if (!find_runtime())
		return;
	else if (!lks_pycode_init() || !lks_pymerged_init()) {
		lks_py_refuse("no memory for the code object table");
		return;
	}
	/* release: a snapshot that sees the status sees the rest */
	__atomic_store_n(&lks_pyrt.status, status, __ATOMIC_RELEASE);
	if (status == LKS_PY_NOT_STARTED)
		__atomic_store_n(&lks_pyrt.state, PY_WAITING, __ATOMIC_RELEASE);
}

void lks_py_init(void)
{
	static const struct lks_py_symbols loader = { dl_find, NULL };
	const char *chosen = getenv("PYTHONMALLOC");

	env_raw_malloc = chosen && !strcmp(chosen, "malloc");
	if (may_hold_python()) {
		lks_py_init_from(&loader);
		if (lks_pyrt.runtime && lks_opt.python)
			lks_pychain_learn_static(lks_pyrt.runtime);
	}
}
