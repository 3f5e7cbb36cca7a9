/* SPDX-License-Identifier: MIT */
#ifndef HOSTILE_NO_CFI_H
#define HOSTILE_NO_CFI_H
/* Calls fn from a frame without unwind information (no_cfi.S). */
void *call_without_cfi(void *(*fn)(void));
#endif
