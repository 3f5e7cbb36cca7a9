/* SPDX-License-Identifier: MIT */
/* Which frame is the site and which the user's, and the spelling of a frame
 * in every text output (frame.h). */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "pyframes.h"

#define DIM "\033[2m"
#define UNDIM "\033[0m"

/* libc functions that hand the caller memory it owns, by their plain name:
 * glibc's internal aliases (__GI___strdup, __vasprintf_internal,
 * __libc_malloc) are reduced to it first. */
static const char *const alloc_family[] = {
	"malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "strdup", "strndup",
	"wcsdup", "asprintf", "vasprintf", "getline", "getdelim", "realpath",
	"fopen", "fopen64", "fdopen", "open_memstream", "opendir", "fdopendir",
};

static bool starts_with(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

static const char *skip_prefix(const char *name, const char *prefix)
{
	return starts_with(name, prefix) ? name + strlen(prefix) : name;
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

size_t frame_site(const struct model_stack *stack, const char *const *alloc_fns,
		  size_t alloc_fn_count)
{
	size_t i = 0;

	while (i + 1 < stack->count &&
	       is_wrapper(&stack->frames[i], alloc_fns, alloc_fn_count))
		i++;
	return i;
}

/* Distribution libraries and headers: code the program's authors did not
 * write, even when its debug information gives a line. */
static bool is_system(const struct model_frame *f)
{
	static const char *const dirs[] = { "/lib/", "/lib64/", "/usr/lib/",
					    "/usr/lib64/", "/usr/libexec/" };

	if (pyframes_is_system(f))
		return true;
	/* rustc names its standard library's sources /rustc/COMMIT/library/:
	 * Vec's and String's code, inlined into every Rust program */
	if (f->file && (starts_with(f->file, "/usr/include/") ||
			starts_with(f->file, "../sysdeps/") ||
			starts_with(f->file, "/rustc/")))
		return true;
	for (size_t i = 0; f->module && i < sizeof(dirs) / sizeof(*dirs); i++)
		if (starts_with(f->module, dirs[i]))
			return true;
	return false;
}

bool frame_in_user_code(const struct model_frame *frame)
{
	return frame->file && frame->line && !is_system(frame);
}

const struct model_frame *frame_user(const struct model_stack *stack)
{
	size_t site = frame_site(stack, NULL, 0);

	if (stack->count == 0)
		return NULL;
	for (size_t i = site; i < stack->count; i++)
		if (frame_in_user_code(&stack->frames[i]))
			return &stack->frames[i];
	return &stack->frames[site];
}

const struct model_frame *frame_with_source(const struct model_stack *stack)
{
	const struct model_frame *user = frame_user(stack);

	if (user && frame_in_user_code(user))
		return user;
	for (size_t i = frame_site(stack, NULL, 0); i < stack->count; i++)
		if (stack->frames[i].file && stack->frames[i].file[0] == '/' &&
		    stack->frames[i].line)
			return &stack->frames[i];
	return NULL;
}

const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Appends to buf, never past `size`: a cut name is still a name. */
__attribute__((format(printf, 4, 5)))
static void add(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, size - *used, fmt, ap);
	va_end(ap);
	*used = n < 0 ? size : *used + (size_t)n;
}

void frame_text(const struct model_frame *f, size_t index, unsigned flags,
		char *buf, size_t size)
{
	const char *(*name)(const char *) = flags & FRAME_BASENAME ? base_name : NULL;
	/* a module and offset name the place by themselves when no symbol does */
	bool named = f->function || f->file || !f->module;
	size_t used = 0;

	buf[0] = '\0';
	if (flags & FRAME_INDEX)
		add(buf, size, &used, "#%zu ", index);
	if (named)
		add(buf, size, &used, "%s ", f->function ? f->function : "??");
	if (f->file) {
		add(buf, size, &used, "(%s:%" PRIu32 ")", name ? name(f->file) : f->file,
		    f->line);
	} else {
		/* no source line: dimmed, as the less telling place */
		add(buf, size, &used, "%s%s", flags & FRAME_DIM ? DIM : "", named ? "(" : "");
		if (f->module)
			add(buf, size, &used, "%s+0x%" PRIx64, name ? name(f->module) : f->module,
			    f->offset);
		else
			add(buf, size, &used, "0x%" PRIx64, f->address);
		add(buf, size, &used, "%s%s", named ? ")" : "", flags & FRAME_DIM ? UNDIM : "");
	}
	if (flags & FRAME_INLINED && f->inlined)
		add(buf, size, &used, " [inlined]");
}

void frame_key_text(const struct model_frame *f, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	if (f->file) {
		add(buf, size, &used, "%s", f->file);
		if (f->line)
			add(buf, size, &used, ":%" PRIu32, f->line);
		if (f->function)
			add(buf, size, &used, " (%s)", f->function);
	} else if (f->function) {
		add(buf, size, &used, "%s", f->function);
		if (f->module && f->address)
			add(buf, size, &used, " (%s+0x%" PRIx64 ")", f->module, f->offset);
		else if (f->module)
			add(buf, size, &used, " (%s)", f->module);
	} else if (f->module) {
		add(buf, size, &used, "%s", f->module);
		if (f->address)
			add(buf, size, &used, "+0x%" PRIx64, f->offset);
	} else {
		add(buf, size, &used, "??");
	}
}
