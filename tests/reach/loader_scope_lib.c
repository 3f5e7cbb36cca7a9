/* SPDX-License-Identifier: MIT */
/* What loader_scope.c dlopens with RTLD_GLOBAL: any object not loaded
 * yet, which glibc adds to the global scope. */
int loader_scope_answer(void);

int loader_scope_answer(void)
{
	return 42;
}
