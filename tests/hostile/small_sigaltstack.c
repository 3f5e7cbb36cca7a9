// SPDX-License-Identifier: MIT
/* issue 10 item 7: a signal handler on an 8 KiB sigaltstack calls malloc
 * (a crash handler that formats a message, say). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALT_STACK 8192

static char *message;

static void on_signal(int signo)
{
	message = malloc(64);
	if (message)
		strcpy(message, "handler on the alternate stack allocated");
}

int main(void)
{
	stack_t alt = { .ss_sp = malloc(ALT_STACK), .ss_size = ALT_STACK };
	struct sigaction action = { .sa_handler = on_signal, .sa_flags = SA_ONSTACK };

	if (!alt.ss_sp || sigaltstack(&alt, NULL))
		return 1;
	sigemptyset(&action.sa_mask);
	sigaction(SIGUSR1, &action, NULL);
	raise(SIGUSR1);
	puts(message ? message : "no message");
	free(message);
	return 0;
}
