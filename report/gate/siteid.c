/* SPDX-License-Identifier: MIT */
/* Site identities (siteid.h): function names made the same whatever the
 * optimization level, and each frame's place within its function. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "siteid.h"

/* Copies GCC and clang make of a function for one optimization level and
 * not another: "parse.isra.0", "f.constprop.2", "g.part.0", "h.cold",
 * "k.lto_priv.0", "m.llvm.123", and C++'s demangled " [clone .isra.0]".
 * The function is the same; the name without them. */
static const char *const clone_marks[] = {
	" [clone ", ".isra.", ".constprop.", ".part.", ".cold", ".lto_priv.",
	".localalias", ".llvm.",
};

static size_t plain_length(const char *name)
{
	size_t length = strlen(name);

	for (size_t i = 0; i < sizeof(clone_marks) / sizeof(*clone_marks); i++) {
		const char *mark = strstr(name, clone_marks[i]);

		if (mark && (size_t)(mark - name) < length && mark != name)
			length = (size_t)(mark - name);
	}
	return length;
}

/* The frame's name in the chain: its function, else its file, else its
 * module (a frame with no symbol still says where it is, by name). */
static void put_name(FILE *out, const struct model_frame *f)
{
	if (f->function)
		fprintf(out, "|%.*s", (int)plain_length(f->function), f->function);
	else if (f->file)
		fprintf(out, "|%s", base_name(f->file));
	else
		fprintf(out, "|?%s", f->module ? base_name(f->module) : "");
}

/* Lines from the function's first to the call: the same when lines are
 * added above the function, or the checkout moves, or another -O level
 * builds it. Only the program's own code: a system library's lines
 * change with every update of it. */
static uint32_t position(const struct model_frame *f)
{
	if (!frame_in_user_code(f) || !f->function_line || f->line < f->function_line)
		return SITE_ID_NO_POSITION;
	return f->line - f->function_line;
}

/* Closes a memory stream; its text is dropped when it could not grow. */
static int finish(FILE *stream, char **text)
{
	bool failed = ferror(stream) != 0;

	if (fclose(stream) != 0 || failed) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

int site_id_make(const char *kind, const struct model_stack *stack, struct site_id *id)
{
	size_t key_size, chain_size, site = frame_site(stack, NULL, 0);
	FILE *key, *chain;
	int r;

	*id = (struct site_id){ 0 };
	for (size_t i = 0; i < SITE_ID_FRAMES; i++)
		id->positions[i] = SITE_ID_NO_POSITION;
	key = open_memstream(&id->key, &key_size);
	chain = open_memstream(&id->chain, &chain_size);
	if (!key || !chain) {
		if (key)
			finish(key, &id->key);
		if (chain)
			finish(chain, &id->chain);
		site_id_free(id);
		return -ENOMEM;
	}
	fputs(kind, key);
	fputs(kind, chain);
	if (stack->count == 0) {
		fputs("|(no stack)", key);
		fputs("|(no stack)", chain);
	}
	for (size_t i = site; i < stack->count && i < site + SITE_ID_FRAMES; i++) {
		const struct model_frame *f = &stack->frames[i];

		put_name(key, f);
		put_name(chain, f);
		id->positions[i - site] = position(f);
		if (id->positions[i - site] != SITE_ID_NO_POSITION)
			fprintf(key, "+%" PRIu32, id->positions[i - site]);
	}
	r = finish(key, &id->key);
	if (finish(chain, &id->chain) < 0 || r < 0) {
		site_id_free(id);
		return -ENOMEM;
	}
	return 0;
}

void site_id_free(struct site_id *id)
{
	free(id->key);
	free(id->chain);
	id->key = id->chain = NULL;
}

int site_id_compare_positions(const struct site_id *a, const struct site_id *b)
{
	for (size_t i = 0; i < SITE_ID_FRAMES; i++)
		if (a->positions[i] != b->positions[i])
			return a->positions[i] < b->positions[i] ? -1 : 1;
	return strcmp(a->key, b->key);
}
