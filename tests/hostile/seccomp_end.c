// SPDX-License-Identifier: MIT
/* A sandboxed program: after its start it puts itself under a seccomp
 * filter that refuses, with an errno, one system call the shim's exit
 * snapshot needs (argv[1]): renameat2 (publishing the file), an openat that
 * creates (the temporary file; as a read-only sandbox would), getpid
 * (telling a vfork child from its parent). The program runs on unchanged;
 * the shim cannot write its snapshot and says which call failed and why,
 * and `leakscope run` says the same instead of a guess. With
 * read refused, the snapshot is written without its reachability scan
 * (/proc/self/maps unread), and the shim says so. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

static void *volatile sink;

__attribute__((noinline)) static void leak_before_sandbox(void)
{
	sink = malloc(48);
	memset(sink, 0, 48);
	sink = NULL;
}

/* Refuses call nr with error when its argument arg has a bit of mask set
 * (mask 0: always); everything else is allowed. */
static int refuse(int nr, int arg, unsigned int mask, int error)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 2),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[arg])),
		/* mask 0: "argument >= 0", always */
		BPF_JUMP(BPF_JMP | (mask ? BPF_JSET : BPF_JGE) | BPF_K, mask, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)error),
	};
	struct sock_fprog program = { sizeof(filter) / sizeof(filter[0]), filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program);
}

int main(int argc, char **argv)
{
	const char *call = argc > 1 ? argv[1] : "";
	int failed;

	leak_before_sandbox();
	if (strcmp(call, "renameat2") == 0)
		failed = refuse(SYS_renameat2, 0, 0, EPERM);
	else if (strcmp(call, "creat") == 0)
		failed = refuse(SYS_openat, 2, O_CREAT, EACCES);
	else if (strcmp(call, "getpid") == 0)
		failed = refuse(SYS_getpid, 0, 0, EPERM);
	else if (strcmp(call, "read") == 0)
		failed = refuse(SYS_read, 0, 0, EPERM);
	else
		return 2;
	if (failed) {
		perror("seccomp");
		return 3;
	}
	/* what the sandbox does to the program itself, the same with the shim */
	printf("fopen for writing: %s\n", fopen("sandboxed.out", "w") ? "allowed" : strerror(errno));
	printf("getpid: %s\n", getpid() > 0 ? "allowed" : "refused");
	return 0;
}
