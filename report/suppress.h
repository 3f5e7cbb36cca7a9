/* SPDX-License-Identifier: MIT */
/* Leaks that are not the program's to fix: the C runtime's own one-time
 * allocations, matched on the stack, counted apart and never reported as
 * leaked (Valgrind's default.supp and LSan's built-in list do the same). */
#ifndef LEAKSCOPE_SUPPRESS_H
#define LEAKSCOPE_SUPPRESS_H

#include "model.h"

/* The name of the built-in rule that matches `stack`, or NULL. */
const char *suppress_builtin(const struct model_stack *stack);

#endif
