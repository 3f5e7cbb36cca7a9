/* SPDX-License-Identifier: MIT */
/* Suppression rules. The built-in ones name allocations glibc makes once
 * and keeps on purpose, so that a program that frees all its own memory
 * reports nothing, and the handles bash, make, libuv and Go's runtime keep
 * open by design; the user's come from files in LSan's format, extended with
 * handle: lines. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "frame.h"
#include "readfile.h"
#include "suppress.h"

/* The dynamic loader: TLS blocks of cached thread stacks, dlopen's
 * bookkeeping, link maps. ld.so frees none of them before exit. */
static bool in_dynamic_loader(const struct model_frame *frame)
{
	return frame->module && strncmp(base_name(frame->module), "ld-linux", 8) == 0;
}

static bool ends_with(const char *text, const char *suffix)
{
	size_t text_len = strlen(text), suffix_len = strlen(suffix);

	return text_len >= suffix_len && !strcmp(text + text_len - suffix_len, suffix);
}

/* The buffer stdio gives stdin, stdout and stderr on first use: exit
 * flushes it but never frees it. (A FILE the program opened and never
 * closed is reported as an open handle, and its FILE as a leak at fopen.) */
static bool is_stdio_buffer(const struct model_frame *frame)
{
	return frame->function && ends_with(frame->function, "_IO_file_doallocate");
}

/* libstdc++'s own start-up (the emergency exception pool, 72 KiB): made
 * from its constructor, run by the loader's _dl_init before main. */
static bool is_cxx_runtime_init(const struct model_stack *stack)
{
	if (stack->count == 0 || !stack->frames[0].module ||
	    strncmp(base_name(stack->frames[0].module), "libstdc++.so", 12) != 0)
		return false;
	for (size_t i = 1; i < stack->count; i++)
		if (stack->frames[i].function &&
		    !strcmp(stack->frames[i].function, "_dl_init"))
			return true;
	return false;
}

const char *suppress_builtin(const struct model_stack *stack)
{
	if (stack->count > 0 && in_dynamic_loader(&stack->frames[0]))
		return "builtin:dynamic-loader";
	if (stack->count > 0 && is_stdio_buffer(&stack->frames[0]))
		return "builtin:stdio-buffer";
	if (is_cxx_runtime_init(stack))
		return "builtin:libstdc++-init";
	return NULL;
}

/* Handles common runtimes keep open until they exit, on purpose: each is
 * known by the function that made it, the stack's first frame (AT_SITE) in
 * the runtime's own executable, or a function the stack passes through
 * (THROUGH) in any object. */
enum handle_rule_match { AT_SITE, THROUGH };

static const struct {
	const char *module; /* base name of the executable; NULL for THROUGH */
	const char *function;
	enum handle_rule_match match;
	const char *name;
} handle_builtins[] = {
	/* the script bash reads, moved to fd 255 out of the script's way */
	{ "bash", "move_to_high_fd", AT_SITE, "builtin:bash-script-fd" },
	/* GNU make's jobserver pipe, handed to every sub-make on purpose */
	{ "make", "jobserver_setup", AT_SITE, "builtin:make-jobserver" },
	/* the pipe make gives jobs as stdin when they may not read its own */
	{ "make", "get_bad_stdin", AT_SITE, "builtin:make-bad-stdin" },
	/* libuv's default loop (node's event loop) lives as long as the
	 * process: its epoll fd, wake-up eventfd and signal pipe. A loop of
	 * the program's own is not covered: never closed, its fds are leaks. */
	{ NULL, "uv_default_loop", THROUGH, "builtin:libuv-default-loop" },
	/* Go's runtime maps its heap arenas and goroutine stacks and keeps
	 * them to the end: through x_cgo_mmap in a cgo program of Go's own
	 * toolchain, and runtime.mmap in gccgo's libgo */
	{ NULL, "x_cgo_mmap", THROUGH, "builtin:go-runtime-memory" },
	{ NULL, "runtime.mmap", THROUGH, "builtin:go-runtime-memory" },
	/* gccgo's network poller: its epoll fd and wake-up pipe */
	{ NULL, "runtime.netpollinit", THROUGH, "builtin:go-netpoller" },
};

static bool passes_through(const struct model_stack *stack, const char *function)
{
	for (size_t i = 0; i < stack->count; i++)
		if (stack->frames[i].function && !strcmp(stack->frames[i].function, function))
			return true;
	return false;
}

static bool rule_matches(size_t rule, const struct model_stack *stack)
{
	const struct model_frame *site = &stack->frames[0];

	if (handle_builtins[rule].match == THROUGH)
		return passes_through(stack, handle_builtins[rule].function);
	return site->module && site->function &&
	       !strcmp(base_name(site->module), handle_builtins[rule].module) &&
	       !strcmp(site->function, handle_builtins[rule].function);
}

/* The /dev/null fd libuv holds in reserve, opened by a loop's first
 * stream and closed only when accept() fails with EMFILE, to make room to
 * refuse the connection. It is the only /dev/null libuv opens in its own
 * process. Debian's libuv.so has no names for its internal functions, so
 * the opener is known by its object or by libuv's uv_ prefix. */
static bool is_libuv_emfile_reserve(const struct model_handle_group *group)
{
	const struct model_frame *site = &group->stack.frames[0];
	bool in_libuv = (site->module && !strncmp(base_name(site->module), "libuv.so", 8)) ||
			(site->function && !strncmp(site->function, "uv_", 3));

	if (!in_libuv)
		return false;
	for (size_t i = 0; i < group->count; i++)
		if (strcmp(group->handles[i].description, "/dev/null") != 0)
			return false;
	return true;
}

static const char *handle_builtin(const struct model_handle_group *group)
{
	if (group->stack.count == 0)
		return NULL;
	for (size_t i = 0; i < sizeof(handle_builtins) / sizeof(handle_builtins[0]); i++)
		if (rule_matches(i, &group->stack))
			return handle_builtins[i].name;
	if (is_libuv_emfile_reserve(group))
		return "builtin:libuv-emfile-reserve";
	return NULL;
}

static void builtin_handles(struct model_handle_group *groups, size_t count,
			    size_t *handle_count, size_t *suppressed)
{
	for (size_t i = 0; i < count; i++) {
		if (groups[i].suppressed_by ||
		    !(groups[i].suppressed_by = handle_builtin(&groups[i])))
			continue;
		*handle_count -= groups[i].count;
		*suppressed += groups[i].count;
	}
}

void suppress_builtin_handles(struct model_report *report)
{
	for (size_t i = 0; i < report->count; i++) {
		struct model_process *p = report->processes[i];

		builtin_handles(p->handle_groups, p->handle_group_count, &p->handle_count,
				&p->suppressed_handles);
		builtin_handles(p->child_groups, p->child_group_count,
				&p->child_handle_count, &p->suppressed_handles);
		builtin_handles(p->inherited_groups, p->inherited_group_count,
				&p->inherited_handle_count, &p->suppressed_handles);
	}
}

/* LSan's pattern rules: a pattern matches anywhere in a name unless it
 * starts with ^ or ends with $; on top of that it is a glob (*, ?, [...]). */
static char *pattern_to_glob(const char *pattern, size_t len)
{
	bool at_start = pattern[0] == '^', at_end = len > 1 && pattern[len - 1] == '$';
	char *glob;

	if (at_start) {
		pattern++;
		len--;
	}
	if (at_end)
		len--;
	if (asprintf(&glob, "%s%.*s%s", at_start ? "" : "*", (int)len, pattern,
		     at_end ? "" : "*") < 0)
		return NULL;
	return glob;
}

static char *trim(char *text)
{
	size_t len;

	text += strspn(text, " \t\r\n");
	len = strlen(text);
	while (len && strchr(" \t\r\n", text[len - 1]))
		text[--len] = '\0';
	return text;
}

static int add_rule(struct suppress_rules *rules, enum suppress_kind kind,
		    const char *where, const char *pattern)
{
	struct suppress_rule *rule;
	int r = ARRAY_RESERVE(rules->rules, rules->capacity, rules->count, 1);

	if (r < 0)
		return r;
	rule = &rules->rules[rules->count];
	*rule = (struct suppress_rule){ .kind = kind };
	rule->glob = pattern_to_glob(pattern, strlen(pattern));
	if (!rule->glob || asprintf(&rule->name, "%s: %s:%s", where,
				    kind == SUPPRESS_LEAK ? "leak" : "handle", pattern) < 0) {
		free(rule->glob);
		return -ENOMEM;
	}
	rules->count++;
	return 0;
}

/* One line: blank, a # comment, or TYPE:PATTERN. */
static int parse_line(struct suppress_rules *rules, const char *where, char *raw,
		      struct errmsg *err)
{
	char *line = trim(raw), *colon, *type, *pattern;
	enum suppress_kind kind;

	if (!*line || *line == '#')
		return 0;
	colon = strchr(line, ':');
	if (!colon) {
		errmsg_set(err, "%s: not a suppression (TYPE:PATTERN, TYPE leak or handle)",
			   where);
		return -EINVAL;
	}
	*colon = '\0';
	type = trim(line);
	pattern = trim(colon + 1);
	if (!strcmp(type, "leak")) {
		kind = SUPPRESS_LEAK;
	} else if (!strcmp(type, "handle")) {
		kind = SUPPRESS_HANDLE;
	} else {
		errmsg_set(err, "%s: unknown suppression type '%s' (leak or handle)",
			   where, type);
		return -EINVAL;
	}
	if (!*pattern || !strcmp(pattern, "^") || !strcmp(pattern, "$")) {
		errmsg_set(err, "%s: %s: with no pattern", where, type);
		return -EINVAL;
	}
	return add_rule(rules, kind, where, pattern);
}

/* A suppression file bigger than this is not one (LSan's own lists are a
 * few KiB). */
#define MAX_SUPPRESSIONS_SIZE (16u * 1024u * 1024u)

static int read_suppressions(const char *path, char **text, size_t *size,
			     struct errmsg *err)
{
	int r = read_whole_file(path, MAX_SUPPRESSIONS_SIZE, text, size);

	if (r == -EINVAL || r == -EFBIG)
		errmsg_set(err, "suppressions %s: not a regular file of at most 16 MiB", path);
	else if (r < 0)
		errmsg_set(err, "suppressions %s: %s", path, strerror(-r));
	return r;
}

/* Regular files only: a FIFO would wait for a writer for ever, /dev/zero
 * grow one line to the memory limit. */
int suppress_load_file(struct suppress_rules *rules, const char *path,
		       struct errmsg *err)
{
	char *text, *line, *end, where[600];
	size_t size;
	unsigned number = 0;
	int r = read_suppressions(path, &text, &size, err);

	if (r < 0)
		return r;
	for (line = text; r == 0 && line < text + size; line = end + 1) {
		end = memchr(line, '\n', (size_t)(text + size - line));
		if (!end)
			end = text + size;  /* the NUL read_whole_file put after the text */
		*end = '\0';
		snprintf(where, sizeof(where), "%s:%u", path, ++number);
		if (strlen(line) < (size_t)(end - line)) {
			errmsg_set(err, "%s: a NUL byte: not a suppression file", where);
			r = -EINVAL;
		} else {
			r = parse_line(rules, where, line, err);
		}
	}
	if (r == -ENOMEM)
		errmsg_set(err, "out of memory");
	free(text);
	return r;
}

static bool name_matches(const char *glob, const char *name)
{
	return name && (fnmatch(glob, name, 0) == 0 ||
			fnmatch(glob, base_name(name), 0) == 0);
}

static bool stack_matches(const char *glob, const struct model_stack *stack)
{
	for (size_t i = 0; i < stack->count; i++) {
		const struct model_frame *f = &stack->frames[i];

		if (name_matches(glob, f->function) || name_matches(glob, f->file) ||
		    name_matches(glob, f->module))
			return true;
	}
	return false;
}

static struct suppress_rule *first_match(struct suppress_rules *rules,
					 enum suppress_kind kind,
					 const struct model_stack *stack)
{
	for (size_t i = 0; i < rules->count; i++)
		if (rules->rules[i].kind == kind &&
		    stack_matches(rules->rules[i].glob, stack))
			return &rules->rules[i];
	return NULL;
}

static void subtract(struct model_class_total *total, const struct model_leak *leak)
{
	total->blocks -= leak->blocks;
	total->bytes -= leak->bytes;
	total->sites--;
}

/* The opposite of model_build.c's count_leak, then counted as suppressed. */
static void suppress_leak(struct model_process *proc, struct model_leak *leak,
			  struct suppress_rule *rule)
{
	subtract(&proc->by_class[leak->klass], leak);
	if (leak->heuristic)
		subtract(&proc->by_heuristic[leak->heuristic], leak);
	if (model_class_is_leak(leak->klass)) {
		proc->leaked_blocks -= leak->blocks;
		proc->leaked_bytes -= leak->bytes;
		proc->leak_sites--;
	}
	proc->suppressed.blocks += leak->blocks;
	proc->suppressed.bytes += leak->bytes;
	proc->suppressed.sites++;
	leak->suppressed_by = rule->name;
	rule->sites++;
	rule->blocks += leak->blocks;
	rule->bytes += leak->bytes;
}

static void suppress_handles(struct suppress_rules *rules,
			     struct model_handle_group *groups, size_t count,
			     size_t *handle_count, size_t *suppressed)
{
	for (size_t i = 0; i < count; i++) {
		struct suppress_rule *rule;

		if (groups[i].suppressed_by ||
		    !(rule = first_match(rules, SUPPRESS_HANDLE, &groups[i].stack)))
			continue;
		groups[i].suppressed_by = rule->name;
		*handle_count -= groups[i].count;
		*suppressed += groups[i].count;
		rule->sites++;
		rule->handles += groups[i].count;
	}
}

static void apply_process(struct suppress_rules *rules, struct model_process *proc)
{
	for (size_t i = 0; i < proc->leak_count; i++) {
		struct model_leak *leak = &proc->leaks[i];
		struct suppress_rule *rule;

		if (!leak->suppressed_by &&
		    (rule = first_match(rules, SUPPRESS_LEAK, &leak->stack)))
			suppress_leak(proc, leak, rule);
	}
	suppress_handles(rules, proc->handle_groups, proc->handle_group_count,
			 &proc->handle_count, &proc->suppressed_handles);
	suppress_handles(rules, proc->child_groups, proc->child_group_count,
			 &proc->child_handle_count, &proc->suppressed_handles);
	suppress_handles(rules, proc->inherited_groups, proc->inherited_group_count,
			 &proc->inherited_handle_count, &proc->suppressed_handles);
}

void suppress_apply(struct suppress_rules *rules, struct model_report *report)
{
	for (size_t i = 0; rules->count && i < report->count; i++)
		apply_process(rules, report->processes[i]);
}

const char *suppress_leak_rule(const struct suppress_rules *rules,
			       const struct model_stack *stack)
{
	const struct suppress_rule *rule =
		first_match((struct suppress_rules *)rules, SUPPRESS_LEAK, stack);

	return rule ? rule->name : NULL;
}

void suppress_free(struct suppress_rules *rules)
{
	for (size_t i = 0; i < rules->count; i++) {
		free(rules->rules[i].name);
		free(rules->rules[i].glob);
	}
	free(rules->rules);
	*rules = (struct suppress_rules){ 0 };
}
