/* SPDX-License-Identifier: MIT */
/* The busy flag's scopes alone (shim/process.c). A call below the scope's
 * frame is nested in it; one at or above it, or a jump there, finds the
 * scope's frames gone: the scope ends and is counted. On the alternate
 * signal stack, a handler that interrupted a scope on another stack is
 * nested wherever that stack lies, and leaving a scope that was on the
 * alternate stack ends it. Addresses are made up: only their order and the
 * alternate stack's range matter.
 * Usage: test_scope (TAP output) */
#include <signal.h>

#include "shim.h"
#include "tap.h"

static char alternate[64 * 1024];

static void scope_at(uintptr_t frame)
{
	lks_busy = LKS_BUSY_RECORDING;
	lks_busy_frame = frame;
}

static void on_one_stack(void)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uint64_t recovered = lks_busy_recovered();

	scope_at(here);
	ok(!lks_busy_abandoned(here - 256) && lks_busy == LKS_BUSY_RECORDING,
	   "a call below the scope's frame is nested in it");
	ok(lks_busy_abandoned(here) && lks_busy == LKS_BUSY_NONE &&
	   lks_busy_recovered() == recovered + 1,
	   "a call at the scope's frame finds it gone: cleared and counted");
	scope_at(here);
	lks_busy_jump(here - 64);
	ok(lks_busy == LKS_BUSY_RECORDING, "a jump to below the scope's frame keeps it");
	lks_busy_jump(here + 64);
	ok(lks_busy == LKS_BUSY_NONE && lks_busy_recovered() == recovered + 2,
	   "a jump above it ends it, counted");
}

static void with_alternate_stack(void)
{
	stack_t stack = { .ss_sp = alternate, .ss_size = sizeof(alternate) };
	uintptr_t low = (uintptr_t)alternate - 4096, high = (uintptr_t)alternate + sizeof(alternate);
	uintptr_t inside = (uintptr_t)alternate + sizeof(alternate) / 2;

	ok(sigaltstack(&stack, NULL) == 0, "an alternate signal stack");
	scope_at(low);
	ok(!lks_busy_abandoned(inside) && lks_busy == LKS_BUSY_RECORDING,
	   "a handler on it, above a scope on another stack, is nested");
	lks_busy_jump(inside);
	ok(lks_busy == LKS_BUSY_RECORDING, "a jump within that handler keeps the scope");
	scope_at(inside);
	ok(lks_busy_abandoned(high + 4096) && lks_busy == LKS_BUSY_NONE,
	   "a call off it, above a scope that was on it, finds the scope gone");
	scope_at(inside);
	lks_busy_jump(low);
	ok(lks_busy == LKS_BUSY_NONE, "a jump off it, even to lower addresses, ends the scope");
	scope_at(inside);
	lks_busy_jump(inside - 512);
	ok(lks_busy == LKS_BUSY_RECORDING, "a jump within it, below the scope, keeps it");
	lks_busy = LKS_BUSY_NONE;
}

int main(void)
{
	on_one_stack();
	with_alternate_stack();
	return tap_done();
}
