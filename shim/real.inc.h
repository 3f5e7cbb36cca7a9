/* SPDX-License-Identifier: MIT */
/* The next definition (RTLD_NEXT) of every function the shim interposes:
 * LKS_REAL(field, "symbol", return type, parameter types). */
#ifndef LEAKSCOPE_REAL_INC_H
#define LEAKSCOPE_REAL_INC_H

#include <stddef.h>
#include <sys/types.h>

#include "real_handles.inc.h"
#include "real_signals.inc.h"

/* Looked up at start-up, so that no interposer has to look one up later
 * (a signal handler's close() must not meet dlsym): names libc always has,
 * whose lookups succeed and allocate nothing. */
#define LKS_REAL_AT_START(X)                                                \
	X(malloc, "malloc", void *, (size_t))                                   \
	X(calloc, "calloc", void *, (size_t, size_t))                           \
	X(realloc, "realloc", void *, (void *, size_t))                         \
	X(free, "free", void, (void *))                                         \
	X(posix_memalign, "posix_memalign", int, (void **, size_t, size_t))    \
	X(aligned_alloc, "aligned_alloc", void *, (size_t, size_t))             \
	X(memalign, "memalign", void *, (size_t, size_t))                       \
	X(valloc, "valloc", void *, (size_t))                                   \
	X(pvalloc, "pvalloc", void *, (size_t))                                 \
	X(malloc_usable_size, "malloc_usable_size", size_t, (void *))           \
	X(dlclose, "dlclose", int, (void *))                                    \
	X(_exit, "_exit", void, (int))                                          \
	X(_Exit, "_Exit", void, (int))                                          \
	X(wait, "wait", pid_t, (int *))                                         \
	X(waitpid, "waitpid", pid_t, (pid_t, int *, int))                       \
	X(wait3, "wait3", pid_t, (int *, int, void *))                          \
	X(wait4, "wait4", pid_t, (pid_t, int *, int, void *))                   \
	X(waitid, "waitid", int, (int, id_t, void *, int))                      \
	LKS_REAL_HANDLES(X)                                                     \
	LKS_REAL_SIGNALS(X)                                                     \
	LKS_REAL_JUMPS(X)

/* The longjmp family (jump.c): jmp_buf and sigjmp_buf as void *. Called
 * from signal handlers: never looked up there. */
#define LKS_REAL_JUMPS(X)                                                   \
	X(longjmp, "longjmp", void, (void *, int))                              \
	X(_longjmp, "_longjmp", void, (void *, int))                            \
	X(siglongjmp, "siglongjmp", void, (void *, int))                        \
	X(longjmp_chk, "__longjmp_chk", void, (void *, int))

/* C++'s operators, looked up on first use: libstdc++ may not be loaded at
 * start-up (a C program), or only later (a C++ plugin it dlopens). */
#define LKS_REAL_CXX(X)                                                     \
	X(new_, "_Znwm", void *, (size_t))                                      \
	X(new_array, "_Znam", void *, (size_t))                                 \
	X(new_nothrow, "_ZnwmRKSt9nothrow_t", void *, (size_t, const void *))   \
	X(new_array_nothrow, "_ZnamRKSt9nothrow_t", void *, (size_t, const void *)) \
	X(new_aligned, "_ZnwmSt11align_val_t", void *, (size_t, size_t))        \
	X(new_array_aligned, "_ZnamSt11align_val_t", void *, (size_t, size_t))  \
	X(new_aligned_nothrow, "_ZnwmSt11align_val_tRKSt9nothrow_t", void *,    \
	  (size_t, size_t, const void *))                                       \
	X(new_array_aligned_nothrow, "_ZnamSt11align_val_tRKSt9nothrow_t",      \
	  void *, (size_t, size_t, const void *))                               \
	X(delete_, "_ZdlPv", void, (void *))                                    \
	X(delete_array, "_ZdaPv", void, (void *))                               \
	X(delete_sized, "_ZdlPvm", void, (void *, size_t))                      \
	X(delete_array_sized, "_ZdaPvm", void, (void *, size_t))                \
	X(delete_nothrow, "_ZdlPvRKSt9nothrow_t", void, (void *, const void *)) \
	X(delete_array_nothrow, "_ZdaPvRKSt9nothrow_t", void,                   \
	  (void *, const void *))                                               \
	X(delete_aligned, "_ZdlPvSt11align_val_t", void, (void *, size_t))      \
	X(delete_array_aligned, "_ZdaPvSt11align_val_t", void, (void *, size_t)) \
	X(delete_sized_aligned, "_ZdlPvmSt11align_val_t", void,                 \
	  (void *, size_t, size_t))                                             \
	X(delete_array_sized_aligned, "_ZdaPvmSt11align_val_t", void,           \
	  (void *, size_t, size_t))                                             \
	X(delete_aligned_nothrow, "_ZdlPvSt11align_val_tRKSt9nothrow_t", void,  \
	  (void *, size_t, const void *))                                       \
	X(delete_array_aligned_nothrow, "_ZdaPvSt11align_val_tRKSt9nothrow_t",  \
	  void, (void *, size_t, const void *))

#define LKS_REAL_TABLE(X) LKS_REAL_AT_START(X) LKS_REAL_CXX(X)

struct lks_real_fns {
#define LKS_REAL_FIELD(field, symbol, ret, params) ret(*field) params;
	LKS_REAL_TABLE(LKS_REAL_FIELD)
#undef LKS_REAL_FIELD
};

#endif
