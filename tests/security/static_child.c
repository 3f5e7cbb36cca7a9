/* SPDX-License-Identifier: MIT */
/* Linked statically: no loader reads LD_PRELOAD for it. */
int main(void)
{
	return 0;
}
