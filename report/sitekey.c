/* SPDX-License-Identifier: MIT */
/* Allocation sites and their symbolic keys. A key never holds a runtime
 * address, only names, file:line and module basename + offset, so that two
 * runs of one binary (ASLR moves every address) give equal keys. */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "pyframes.h"
#include "sitekey.h"

/* libc functions that hand the caller memory it owns, by their plain name:
 * glibc's internal aliases (__GI___strdup, __vasprintf_internal,
 * __libc_malloc) are reduced to it first. */
static const char *const alloc_family[] = {
	"malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "strdup", "strndup",
	"wcsdup", "asprintf", "vasprintf", "getline", "getdelim", "realpath",
	"fopen", "fopen64", "fdopen", "open_memstream", "opendir", "fdopendir",
};

static const char *skip_prefix(const char *name, const char *prefix)
{
	size_t len = strlen(prefix);

	return strncmp(name, prefix, len) == 0 ? name + len : name;
}

/* "__GI___strdup" -> "strdup", "xalloc(unsigned long)" -> "xalloc". */
static void plain_name(const char *name, char *out, size_t size)
{
	size_t len;

	name = skip_prefix(name, "__GI_");
	name += strspn(name, "_");
	name = skip_prefix(name, "libc_");
	len = strcspn(name, "(");
	if (len >= size)
		len = size - 1;
	memcpy(out, name, len);
	out[len] = '\0';
	if (len > 9 && strcmp(out + len - 9, "_internal") == 0)
		out[len - 9] = '\0';
}

static bool is_wrapper(const struct model_frame *frame, const char *const *alloc_fns,
		       size_t alloc_fn_count)
{
	char plain[256];

	if (!frame->function)
		return false;
	if (strncmp(frame->function, "operator new", 12) == 0)
		return true;
	plain_name(frame->function, plain, sizeof(plain));
	for (size_t i = 0; i < sizeof(alloc_family) / sizeof(*alloc_family); i++)
		if (strcmp(plain, alloc_family[i]) == 0)
			return true;
	for (size_t i = 0; i < alloc_fn_count; i++)
		if (fnmatch(alloc_fns[i], frame->function, 0) == 0 ||
		    fnmatch(alloc_fns[i], plain, 0) == 0)
			return true;
	return false;
}

size_t sitekey_site(const struct model_stack *stack, const char *const *alloc_fns,
		    size_t alloc_fn_count)
{
	size_t i = 0;

	while (i + 1 < stack->count &&
	       is_wrapper(&stack->frames[i], alloc_fns, alloc_fn_count))
		i++;
	return i;
}

__attribute__((format(printf, 2, 3)))
static int append(struct sitekey_buffer *buffer, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -EINVAL;
	if (buffer->length + (size_t)len + 1 > buffer->capacity) {
		size_t capacity = (buffer->length + (size_t)len + 1) * 2;
		char *grown = realloc(buffer->text, capacity);

		if (!grown)
			return -ENOMEM;
		buffer->text = grown;
		buffer->capacity = capacity;
	}
	va_start(ap, fmt);
	vsnprintf(buffer->text + buffer->length, buffer->capacity - buffer->length,
		  fmt, ap);
	va_end(ap);
	buffer->length += (size_t)len;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Where the code is without debug information: module basename + offset. */
static int append_location(struct sitekey_buffer *b, const struct model_frame *f)
{
	if (!f->module)
		return append(b, "??");
	return append(b, "%s+0x%" PRIx64, base_name(f->module), f->offset);
}

static int append_traceback(struct sitekey_buffer *b, const struct model_frame *frames,
			    size_t count)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < count; i++) {
		const struct model_frame *f = &frames[i];

		r = append(b, "%s|%s:%" PRIu32 "|%s|", f->function ? f->function : "",
			   f->file ? f->file : "", f->line, f->inlined ? "i" : "");
		if (r == 0)
			r = append_location(b, f);
		if (r == 0)
			r = append(b, "\n");
	}
	return r;
}

/* The key of one frame, and which of its fields a report shows. */
static int append_frame_key(struct sitekey_buffer *b, enum stats_key key,
			    const struct model_frame *f, struct model_frame *shown)
{
	switch (key) {
	case STATS_KEY_LINENO:
		if (!f->file)
			break;
		*shown = (struct model_frame){ .function = f->function, .file = f->file,
					       .line = f->line, .module = f->module,
					       .inlined = f->inlined };
		return append(b, "%s:%" PRIu32, f->file, f->line);
	case STATS_KEY_FUNCTION:
		if (!f->function)
			break;
		*shown = (struct model_frame){ .function = f->function, .module = f->module };
		return append(b, "%s\t%s", f->function,
			      f->module ? base_name(f->module) : "??");
	case STATS_KEY_FILE:
		if (!f->file)
			break;
		*shown = (struct model_frame){ .file = f->file };
		return append(b, "%s", f->file);
	default:
		break;
	}
	if (key == STATS_KEY_LINENO || key == STATS_KEY_FUNCTION) {
		*shown = *f; /* the exact code address stands for the line */
		return append_location(b, f);
	}
	*shown = (struct model_frame){ .module = f->module };
	return append(b, "%s", f->module ? base_name(f->module) : "??");
}

int sitekey_make(enum stats_key key, const struct model_frame *frames, size_t count,
		 struct sitekey_buffer *buffer, struct pool *pool,
		 struct model_stack *shown)
{
	struct model_frame *frame;
	int r = pyframes_narrow(&key, &frames, &count, pool);

	if (r < 0)
		return r;
	buffer->length = 0;
	*shown = (struct model_stack){ 0 };
	if (count == 0)
		return append(buffer, "(no stack)");
	if (key == STATS_KEY_TRACEBACK) {
		shown->frames = (struct model_frame *)frames;
		shown->count = count;
		return append_traceback(buffer, frames, count);
	}
	frame = pool_alloc(pool, sizeof(*frame));
	if (!frame)
		return -ENOMEM;
	shown->frames = frame;
	shown->count = 1;
	return append_frame_key(buffer, key, &frames[0], frame);
}

void sitekey_buffer_free(struct sitekey_buffer *buffer)
{
	free(buffer->text);
	*buffer = (struct sitekey_buffer){ 0 };
}
