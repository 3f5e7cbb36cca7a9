/* SPDX-License-Identifier: MIT */
/* The snapshot request protocol between `leakscope snapshot PID` (report/
 * snapcmd.c) and the shim's control thread (control.c); docs/SNAPSHOTS.md
 * tells it for humans. */
#ifndef LEAKSCOPE_REQUEST_H
#define LEAKSCOPE_REQUEST_H

/* The control thread is named this followed by the request signal's number
 * (0: requests are off), so the command finds the thread and the signal in
 * /proc/PID/task/TID/comm. */
#define LKS_CONTROL_NAME "leakscope-"

/* A request is the signal, queued to the control thread with si_code
 * SI_QUEUE and si_value = MAGIC << 32 | token; any other signal of that
 * number is the program's own. */
#define LKS_REQUEST_MAGIC 0x4c4b5351u /* "LKSQ" */

/* The command listens on the abstract unix socket "\0" PREFIX "PID.TOKEN"
 * (its own pid); the shim connects, checks that the peer is the sender,
 * reads a label line and answers "ok PATH\n" or "error ERRNO\n". */
#define LKS_REPLY_PREFIX "leakscope-reply."
#define LKS_LABEL_MAX 200
#define LKS_REPLY_TIMEOUT_MS 2000 /* the shim's wait for the label, and its writes */

#endif
