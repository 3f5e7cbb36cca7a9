/* SPDX-License-Identifier: MIT */
/* The signal-disposition functions sigchain.c interposes, in the form of
 * real.inc.h: LKS_REAL(field, "symbol", return type, parameter types). */
#ifndef LEAKSCOPE_REAL_SIGNALS_INC_H
#define LEAKSCOPE_REAL_SIGNALS_INC_H

#include <signal.h>

#define LKS_REAL_SIGNALS(X)                                                  \
	X(sigaction, "sigaction", int,                                           \
	  (int, const struct sigaction *, struct sigaction *))                   \
	X(signal, "signal", __sighandler_t, (int, __sighandler_t))               \
	X(sysv_signal, "sysv_signal", __sighandler_t, (int, __sighandler_t))     \
	X(sigset, "sigset", __sighandler_t, (int, __sighandler_t))

#endif
