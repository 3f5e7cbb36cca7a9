/* SPDX-License-Identifier: MIT */
/* The native half of JniLeak.java. */
#include <jni.h>
#include <stdlib.h>
#include <string.h>

JNIEXPORT void JNICALL Java_JniLeak_leakBlock(JNIEnv *env, jclass cls, jint size,
					      jboolean clean);
JNIEXPORT jint JNICALL Java_JniLeak_churn(JNIEnv *env, jclass cls, jint count);

static void *volatile last_block;

JNIEXPORT void JNICALL Java_JniLeak_leakBlock(JNIEnv *env, jclass cls, jint size,
					      jboolean clean)
{
	char *block = malloc((size_t)size); /* expect-leak: fn=Java_JniLeak_leakBlock blocks=1 bytes=88 */

	(void)env;
	(void)cls;
	if (!block)
		return;
	memset(block, 2, (size_t)size);
	last_block = block;
	last_block = NULL;
	if (clean)
		free(block);
}

JNIEXPORT jint JNICALL Java_JniLeak_churn(JNIEnv *env, jclass cls, jint count)
{
	int sum = 0;

	(void)env;
	(void)cls;
	for (int i = 0; i < count; i++) {
		char *volatile block = malloc((size_t)(16 + i % 100));

		block[0] = (char)i;
		sum += block[0];
		free(block);
	}
	return sum;
}
