/* SPDX-License-Identifier: MIT */
/* C++ operator new and delete in every standard form, by their mangled
 * names. Built with -fexceptions: a throwing operator new unwinds through
 * these frames, and the cleanup below must still restore lks_busy. */

#include "enter.h"

static void restore_on_unwind(const unsigned char *busy_before)
{
	lks_quiet_end(*busy_before);
}

/* What lks_busy was on entry, put back on return and on unwinding. */
#define BUSY_RESTORED \
	unsigned char busy_before __attribute__((cleanup(restore_on_unwind)))

/* libstdc++ may arrive after start-up (a C program dlopens a C++ plugin):
 * the names are looked up on use rather than a NULL pointer called. The
 * real operator delete frees through our free(): the quiet scope tells it
 * the block is already un-recorded. delete is noexcept: no unwinding here. */
#define CALL_REAL_DELETE(field, args)                                   \
	do {                                                             \
		unsigned char quiet;                                     \
		lks_real_get(&lks_real.field);                           \
		quiet = lks_quiet_begin();                               \
		lks_real.field args;                                     \
		lks_quiet_end(quiet);                                    \
	} while (0)

/* NEW(name, family, params, args): records after the real one returns.
 * The real one's own malloc comes back to us in an INNER scope: it is this
 * block (or, when we forward, a block we do not record), never counted. */
#define NEW(symbol, field, family, params, args)                         \
	LKS_EXPORT void *symbol params;                                  \
	LKS_EXPORT void *symbol params                                   \
	{                                                                \
		BUSY_RESTORED = LKS_BUSY_NONE;                           \
		void *ptr;                                               \
		lks_real_get(&lks_real.field);                           \
		if (!lks_enter()) {                                      \
			busy_before = lks_scope_begin(LKS_BUSY_INNER);   \
			return lks_real.field args;                      \
		}                                                        \
		lks_busy = LKS_BUSY_INNER;                               \
		ptr = lks_real.field args;                               \
		lks_busy = LKS_BUSY_RECORDING;                           \
		if (ptr != NULL)                                         \
			lks_record(ptr, size, family);                   \
		return ptr;                                              \
	}

#define DELETE(symbol, field, family, params, args)                      \
	LKS_EXPORT void symbol params;                                   \
	LKS_EXPORT void symbol params                                    \
	{                                                                \
		if (ptr != NULL)                                         \
			lks_unrecord(ptr, family);                       \
		CALL_REAL_DELETE(field, args);                           \
	}

#define N LKS_FAMILY_NEW
#define A LKS_FAMILY_NEW_ARRAY
typedef const void *nothrow_ref; /* const std::nothrow_t & */

NEW(_Znwm, new_, N, (size_t size), (size))
NEW(_Znam, new_array, A, (size_t size), (size))
NEW(_ZnwmRKSt9nothrow_t, new_nothrow, N, (size_t size, nothrow_ref nt), (size, nt))
NEW(_ZnamRKSt9nothrow_t, new_array_nothrow, A, (size_t size, nothrow_ref nt), (size, nt))
NEW(_ZnwmSt11align_val_t, new_aligned, N, (size_t size, size_t al), (size, al))
NEW(_ZnamSt11align_val_t, new_array_aligned, A, (size_t size, size_t al), (size, al))
NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, new_aligned_nothrow, N,
    (size_t size, size_t al, nothrow_ref nt), (size, al, nt))
NEW(_ZnamSt11align_val_tRKSt9nothrow_t, new_array_aligned_nothrow, A,
    (size_t size, size_t al, nothrow_ref nt), (size, al, nt))

DELETE(_ZdlPv, delete_, N, (void *ptr), (ptr))
DELETE(_ZdaPv, delete_array, A, (void *ptr), (ptr))
DELETE(_ZdlPvm, delete_sized, N, (void *ptr, size_t size), (ptr, size))
DELETE(_ZdaPvm, delete_array_sized, A, (void *ptr, size_t size), (ptr, size))
DELETE(_ZdlPvRKSt9nothrow_t, delete_nothrow, N, (void *ptr, nothrow_ref nt), (ptr, nt))
DELETE(_ZdaPvRKSt9nothrow_t, delete_array_nothrow, A, (void *ptr, nothrow_ref nt), (ptr, nt))
DELETE(_ZdlPvSt11align_val_t, delete_aligned, N, (void *ptr, size_t al), (ptr, al))
DELETE(_ZdaPvSt11align_val_t, delete_array_aligned, A, (void *ptr, size_t al), (ptr, al))
DELETE(_ZdlPvmSt11align_val_t, delete_sized_aligned, N,
       (void *ptr, size_t size, size_t al), (ptr, size, al))
DELETE(_ZdaPvmSt11align_val_t, delete_array_sized_aligned, A,
       (void *ptr, size_t size, size_t al), (ptr, size, al))
DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, delete_aligned_nothrow, N,
       (void *ptr, size_t al, nothrow_ref nt), (ptr, al, nt))
DELETE(_ZdaPvSt11align_val_tRKSt9nothrow_t, delete_array_aligned_nothrow, A,
       (void *ptr, size_t al, nothrow_ref nt), (ptr, al, nt))
