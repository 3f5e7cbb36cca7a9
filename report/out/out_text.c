/* SPDX-License-Identifier: MIT */
/* The human report: per process a header, one block per leak site and per
 * group of open handles, then its totals and summary (out_text_totals.c);
 * a line for each clean, skipped or unreported process. */
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "frame.h"
#include "out.h"
#include "out_text.h"
#include "pyframes.h"

/* Longer lists of handles from one stack are cut, the rest only counted. */
#define HANDLES_LISTED 10

static const struct style plain = { "", "", "", 0 };
static const struct style ansi = { "\033[1m", "\033[1;31m", "\033[0m", FRAME_DIM };

static void print_frame(FILE *out, const struct style *st, size_t index,
			const struct model_frame *f)
{
	char text[2048];

	frame_text(f, index, FRAME_INDEX | FRAME_INLINED | st->frame_flags, text, sizeof(text));
	fprintf(out, "    %s\n", text);
}

static void print_stack(FILE *out, const struct style *st,
			const struct model_stack *stack)
{
	if (stack->trace == 0)
		fprintf(out, "    (no stack: the shim could not capture one here)\n");
	else if (stack->count == 0)
		fprintf(out, "    (empty stack)\n");
	for (size_t i = 0; i < stack->count; i++)
		print_frame(out, st, i, &stack->frames[i]);
}

static void print_leak(FILE *out, const struct style *st,
		       const struct model_leak *leak)
{
	fprintf(out, "%s", st->alert);
	if (leak->indirect_blocks) /* as Valgrind words it */
		fprintf(out, "%" PRIu64 " (%" PRIu64 " direct, %" PRIu64 " indirect) bytes "
			"in %" PRIu64 " %s", leak->bytes + leak->indirect_bytes, leak->bytes,
			leak->indirect_bytes, leak->blocks,
			plural(leak->blocks, "block", "blocks"));
	else
		print_amount(out, leak->bytes, leak->blocks);
	fprintf(out, "%s (%s", st->reset, model_class_name(leak->klass));
	if (leak->heuristic)
		fprintf(out, " via %s", model_heuristic_name(leak->heuristic));
	fprintf(out, ") allocated at:\n");
	print_stack(out, st, &leak->stack);
	fprintf(out, "\n");
}

static void print_handle(FILE *out, enum lks_handle_type type,
			 const struct model_handle *h)
{
	fprintf(out, "    ");
	if (type == LKS_HANDLE_MMAP)  /* the description gives size and file */
		fprintf(out, "mapping 0x%" PRIx64, h->addr);
	else if (type == LKS_HANDLE_FILE || type == LKS_HANDLE_DIR)
		fprintf(out, "%s* 0x%" PRIx64, model_handle_type_name(type), h->addr);
	if (h->fd >= 0)
		fprintf(out, "%sfd %" PRId32, type == LKS_HANDLE_FILE ||
			type == LKS_HANDLE_DIR || type == LKS_HANDLE_MMAP ? ", " : "", h->fd);
	if (h->description[0])
		fprintf(out, ": %s", h->description);
	fprintf(out, "\n");
}

static void print_handle_group(FILE *out, const struct style *st,
			       const struct model_handle_group *g)
{
	if (g->to_child)
		fprintf(out, "%s%zu %s leaked into child programs (%s, no close-on-exec)%s "
			"opened at:\n", st->alert, g->count, plural(g->count, "fd", "fds"),
			model_handle_type_name(g->type), st->reset);
	else if (g->inherited)
		fprintf(out, "%s%zu %s inherited from the parent, never closed (%s)%s "
			"opened by the parent at:\n", st->bold, g->count,
			plural(g->count, "fd", "fds"), model_handle_type_name(g->type), st->reset);
	else if (g->heap_bytes)
		fprintf(out, "%s%zu open %s (%s, %" PRIu64 " bytes of heap)%s created at:\n",
			st->alert, g->count, plural(g->count, "handle", "handles"),
			model_handle_type_name(g->type), g->heap_bytes, st->reset);
	else
		fprintf(out, "%s%zu open %s (%s)%s created at:\n", st->alert, g->count,
			plural(g->count, "handle", "handles"),
			model_handle_type_name(g->type), st->reset);
	for (size_t i = 0; i < g->count && i < HANDLES_LISTED; i++)
		print_handle(out, g->type, &g->handles[i]);
	if (g->count > HANDLES_LISTED)
		fprintf(out, "    ... and %zu more\n", g->count - HANDLES_LISTED);
	print_stack(out, st, &g->stack);
	fprintf(out, "\n");
}

/* ---- retainers: what keeps reachable memory alive ---- */

static void print_frame_place(FILE *out, const struct model_frame *f)
{
	char text[2048];

	if (f)
		frame_text(f, 0, 0, text, sizeof(text));
	fputs(f ? text : "an unknown place", out);
}

/* Where a stack is: its innermost frame (a root's frame). */
static void print_place(FILE *out, const struct model_stack *stack)
{
	print_frame_place(out, stack->count ? &stack->frames[0] : NULL);
}

/* Where a block was allocated, on one line: the first frame of the
 * program's own code, not the inlined std::allocator<T>::allocate. */
static void print_site_place(FILE *out, const struct model_stack *stack)
{
	print_frame_place(out, frame_user(stack));
}

static void print_root(FILE *out, const struct model_retainer_step *step)
{
	switch (step->kind) {
	case LKS_RK_GLOBAL:
		if (step->symbol && step->symbol_offset)
			fprintf(out, "global %s+%" PRIu64, step->symbol, step->symbol_offset);
		else if (step->symbol)
			fprintf(out, "global %s", step->symbol);
		else
			fprintf(out, "global data at 0x%" PRIx64, step->address);
		fprintf(out, " in %s", step->module ? step->module : "an unknown object");
		break;
	case LKS_RK_STACK:
		fprintf(out, "stack of thread %" PRIu32 ", ", step->thread);
		if (step->frame.count) {
			fprintf(out, "a frame called from ");
			print_place(out, &step->frame);
		} else {
			fprintf(out, "word at 0x%" PRIx64, step->address);
		}
		break;
	case LKS_RK_REGISTER:
		fprintf(out, "register #%" PRIu64 " of thread %" PRIu32, step->offset,
			step->thread);
		break;
	case LKS_RK_TLS:
		if (step->thread == LKS_THREAD_FINISHED)
			fprintf(out, "thread-local storage of a finished thread "
				"(its stack kept by glibc for reuse)");
		else
			fprintf(out, "thread-local storage of thread %" PRIu32, step->thread);
		break;
	case LKS_RK_FILE:
		fprintf(out, "writable file mapping, word at 0x%" PRIx64, step->address);
		break;
	case LKS_RK_PYMODULE:
		fprintf(out, "module %s", step->pymodule && step->pymodule[0] ?
			step->pymodule : "(unnamed)");
		if (step->pykey)
			fprintf(out, " (sys.modules['%s'])", step->pykey);
		fprintf(out, ", its dict:");
		break;
	case LKS_RK_RUNTIME:
		fprintf(out, "a block the C library allocated while leakscope worked (such "
			"as the FILE of a stream opened with fopen), word at 0x%" PRIx64, step->address);
		break;
	default:
		fprintf(out, "anonymous mapping, word at 0x%" PRIx64, step->address);
		break;
	}
	fprintf(out, "\n");
}

/* A Python object's step: its type and the Python line that made it. */
static void print_python_step(FILE *out, const struct model_retainer_step *step)
{
	const struct model_frame *f = NULL;

	for (size_t i = 0; i < step->stack.count && !f; i++)
		if (step->stack.frames[i].python && step->stack.frames[i].file)
			f = &step->stack.frames[i];
	fprintf(out, "%s", step->pytype);
	if (f)
		fprintf(out, " (%s:%" PRIu32 " %s())", base_name(f->file), f->line,
			f->function ? f->function : "?");
}

/* A chain from a module's dict, its Python objects only (the buffers
 * between them, a dict's keys or a list's items, left out), each with the
 * key its dict holds it under: sys.modules['app'].__dict__['listeners']
 * -> list (app.py:3 <module>()) -> MyListener (app.py:9 subscribe()). */
static void print_python_path(FILE *out, const struct model_retainer *chain)
{
	const struct model_retainer_step *root = &chain->steps[0];

	/* the first block is the module's dict (the shim checked md_dict) */
	if (root->pykey)
		fprintf(out, "    sys.modules['%s'].__dict__", root->pykey);
	else
		fprintf(out, "    module %s.__dict__", root->pymodule && root->pymodule[0] ?
			root->pymodule : "(unnamed)");
	for (size_t i = 2; i < chain->step_count; i++) {
		const struct model_retainer_step *step = &chain->steps[i];

		if (!step->pytype)
			continue;
		if (step->pykey)
			fprintf(out, "['%s']", step->pykey);
		fprintf(out, " -> ");
		print_python_step(out, step);
	}
	fprintf(out, "\n");
}

static void print_chain(FILE *out, const struct style *st,
			const struct model_retainer *chain)
{
	fprintf(out, "  %s", st->bold);
	print_amount(out, chain->site->bytes, chain->site->blocks);
	fprintf(out, "%s allocated at ", st->reset);
	print_site_place(out, &chain->site->stack);
	fprintf(out, " is held by:\n");
	if (chain->steps[0].kind == LKS_RK_PYMODULE)
		print_python_path(out, chain);
	fprintf(out, "    ");
	print_root(out, &chain->steps[0]);
	for (size_t i = 1; i < chain->step_count; i++) {
		const struct model_retainer_step *step = &chain->steps[i];

		fprintf(out, "    -> ");
		if (step->pytype)
			fprintf(out, "%s, ", step->pytype);
		if (step->pykey)
			fprintf(out, "key '%s', ", step->pykey);
		fprintf(out, "%" PRIu64 "-byte block from ", step->size);
		print_site_place(out, &step->stack);
		if (i + 1 < chain->step_count)
			fprintf(out, ", pointer at offset %" PRIu64 "\n", step->offset);
		else
			fprintf(out, " (this site)\n");
	}
}

void out_text_chain(FILE *out, const struct model_retainer *chain)
{
	print_chain(out, &plain, chain);
}

/* Objects CPython takes from its free lists (3.11 to 3.13) keep the site
 * their block was first allocated at. */
static bool reused_type(const char *type)
{
	static const char *const types[] = { "list", "dict", "tuple", "float" };

	for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

static bool has_reused_step(const struct model_retainer *chain)
{
	for (size_t i = 2; i < chain->step_count; i++)
		if (reused_type(chain->steps[i].pytype))
			return true;
	return false;
}

/* A site the walk from the modules chose and found no chain to, and why:
 * a chain missing for want of budget must not read as one that is not. */
static void print_unchained(FILE *out, const struct style *st, const struct model_unchained *none)
{
	fprintf(out, "  %s", st->bold);
	print_amount(out, none->site->bytes, none->site->blocks);
	fprintf(out, "%s allocated at ", st->reset);
	print_site_place(out, &none->site->stack);
	fprintf(out, " has no chain: ");
	if (none->reason == LKS_PYU_UNREACHED)
		fprintf(out, "no module reaches it (the walk read all %" PRIu64
			" blocks they reach)\n", none->walked);
	else if (none->reason == LKS_PYU_BUDGET)
		fprintf(out, "the walk stopped at its budget of %" PRIu64 " blocks before "
			"reaching it (python_retain_blocks)\n", none->walked);
	else if (none->reason == LKS_PYU_DEEP)
		fprintf(out, "it is more than %d blocks from a module\n", LKS_RETAIN_BLOCKS_MAX);
	else
		fprintf(out, "not reached, and blocks on the way were freed while the walk "
			"read them\n");
}

void out_text_unchained(FILE *out, const struct model_unchained *none)
{
	print_unchained(out, &plain, none);
}

/* The runtime's own sites are left out, as in the leak list. */
static void print_retainers(FILE *out, const struct style *st,
			    const struct model_process *p)
{
	/* without a scan, a Python program's snapshot has chains from modules */
	bool from_modules = !p->classified && p->has_python;
	size_t shown = 0;
	bool reused = false;

	fprintf(out, "%s\n", from_modules ?
		"what keeps the largest sites of Python code alive, from the modules:" :
		"what keeps the largest reachable sites alive:");
	for (size_t i = 0; i < p->retainer_count; i++) {
		const struct model_retainer *chain = &p->retainers[i];

		if (!chain->site || chain->site->suppressed_by)
			continue;
		print_chain(out, st, chain);
		reused |= from_modules && has_reused_step(chain);
		shown++;
	}
	for (size_t i = 0; i < p->unchained_count; i++)
		if (p->unchained[i].site && !p->unchained[i].site->suppressed_by) {
			print_unchained(out, st, &p->unchained[i]);
			shown++;
		}
	if (!shown)
		fprintf(out, "  %s\n", p->classified || from_modules ?
			"no chain to a site of the program's"
			: "nothing: this snapshot was taken without a reachability scan");
	if (reused)
		fprintf(out, "  (a list, dict, tuple or float shows where its block was first "
			"allocated: CPython reuses them from free lists)\n");
	fprintf(out, "\n");
}

static void print_title(FILE *out, const struct style *st,
			const struct model_process *p)
{
	char name[32];

	fprintf(out, "%sleakscope: %s (pid %" PRId32 ", parent %" PRId32 "%s): ",
		st->bold, p->exe[0] ? p->exe : "?", p->pid, p->ppid,
		p->flags & LKS_HF_FORKED ? ", forked" : "");
	switch (p->reason) {
	case LKS_REASON_EXIT:
		if (p->exit_status >= 0)
			fprintf(out, "exited with status %" PRId32, p->exit_status);
		else
			fprintf(out, "exited");
		break;
	case LKS_REASON__EXIT:
		fprintf(out, "left through _exit(%" PRId32 ") (no atexit handlers ran)",
			p->exit_status);
		break;
	case LKS_REASON_FATAL_SIGNAL:
		model_signal_name(p->signal, name, sizeof(name));
		fprintf(out, "killed by signal %" PRId32 "%s%s%s", p->signal, name[0] ? " (" : "",
			name, name[0] ? ")" : "");
		break;
	default:
		fprintf(out, "snapshot %" PRIu32 " \"%s\" (%s), still running", p->seq,
			p->label, model_reason_name(p->reason));
		break;
	}
	fprintf(out, "%s", st->reset);
}

/* One line on the interpreter ("python: CPython 3.11.2, Python frames on,
 * objects malloc'd one by one"), into buf. */
static const char *python_status(const struct model_process *proc, char *buf, size_t size)
{
	const struct lks_python *py = &proc->python;

	char version[32];
	int len = snprintf(buf, size, "python: CPython %s, Python frames %s, %s",
			   pyframes_version(py, version, sizeof(version)) ?: "(version unknown)",
			   pyframes_status_name(py->status),
			   py->flags & LKS_PYF_RAW_MALLOC && !(py->flags & LKS_PYF_ENV_IGNORED) ?
			   "objects malloc'd one by one (PYTHONMALLOC=malloc)" :
			   "small objects inside pymalloc's arenas");

	if (py->gc == LKS_PYGC_COLLECTED && len > 0 && (size_t)len < size)
		snprintf(buf + len, size - (size_t)len, ", gc before it collected %" PRIu64
			 " objects", py->gc_collected);
	return buf;
}

static void print_header(FILE *out, const struct style *st,
			 const struct model_process *p)
{
	char python[160];

	print_title(out, st, p);
	fprintf(out, "\n");
	if (p->has_python)
		fprintf(out, "%s\n", python_status(p, python, sizeof(python)));
	for (size_t i = 0; i < p->warning_count; i++)
		fprintf(out, "warning: %s\n", p->warnings[i]);
	fprintf(out, "\n");
}

/* Whether the gate failed and `leak` is one of the sites it failed on. */
static bool failed_on(const struct gate_verdict *verdict, const struct model_leak *leak)
{
	for (size_t i = 0; verdict && verdict->failed && i < verdict->site_count; i++)
		if (verdict->sites[i].leak == leak && !verdict->sites[i].known)
			return true;
	return false;
}

/* Possibly lost and still reachable sites come by the hundred (a Python
 * program's importlib keeps its code objects through interior pointers)
 * and are rarely acted on: past the first `top` of each class the others
 * are summed up in a line, as LSan's max_leaks does ("Omitting 12 more
 * leaks"), unless the gate failed on them. Definite and indirect leaks are
 * all listed. */
static void print_leaks(FILE *out, const struct style *st, const struct model_process *p,
			const struct out_text_options *opts)
{
	static const struct list_nouns possible = {
		"possibly lost site", "possibly lost sites", "", "blocks" },
		reachable = { "still reachable site", "still reachable sites", "", "blocks" };
	const struct stats_listing listing = { opts->top, false };
	struct stats_left_out left[2] = { { 0 } }; /* possibly lost, still reachable */
	size_t listed[2] = { 0 };

	for (size_t i = 0; i < p->leak_count; i++) {
		const struct model_leak *leak = &p->leaks[i];
		bool summed_up = leak->klass == LKS_CLASS_POSSIBLE ||
				 leak->klass == LKS_CLASS_REACHABLE;
		size_t k = leak->klass == LKS_CLASS_REACHABLE;

		if (leak->suppressed_by || (!model_class_is_leak(leak->klass) &&
					    !opts->show_reachable))
			continue;
		if (!summed_up || failed_on(opts->verdict, leak) ||
		    stats_listed(&listing, &(struct stats_entry){ .size = leak->bytes,
								.count = leak->blocks },
				 &listed[k], &left[k]))
			print_leak(out, st, leak);
	}
	out_left_out(out, &left[0], false, &possible);
	out_left_out(out, &left[1], false, &reachable);
	if (left[0].entries || left[1].entries)
		fprintf(out, "\n");
}

static void print_process(FILE *out, const struct style *st,
			  const struct model_process *p, const struct out_text_options *opts)
{
	print_header(out, st, p);
	print_leaks(out, st, p, opts);
	for (size_t i = 0; i < p->handle_group_count; i++)
		if (!p->handle_groups[i].suppressed_by)
			print_handle_group(out, st, &p->handle_groups[i]);
	for (size_t i = 0; i < p->child_group_count; i++)
		if (!p->child_groups[i].suppressed_by)
			print_handle_group(out, st, &p->child_groups[i]);
	for (size_t i = 0; i < p->inherited_group_count; i++)
		if (!p->inherited_groups[i].suppressed_by)
			print_handle_group(out, st, &p->inherited_groups[i]);
	if (opts->retainers)
		print_retainers(out, st, p);
	print_totals(out, p, opts->show_reachable);
	print_summary(out, st, p);
}

/* Nothing to show but totals, and the totals are complete. */
static bool is_clean(const struct model_process *p)
{
	const struct lks_counters *c = &p->counters;

	return p->leak_sites == 0 && p->handle_count == 0 &&
	       p->child_handle_count == 0 && p->inherited_handle_count == 0 &&
	       p->warning_count == 0 &&
	       !c->missed_allocs && !c->missed_stacks && !c->missed_handles &&
	       !c->missed_threads && !c->missed_children && !c->opened_unseen &&
	       !(p->flags & LKS_HF_OWN_MALLOC);
}

/* A build or a test script starts hundreds of clean helper processes:
 * each gets one line, so the ones with findings stand out. */
static void print_clean_line(FILE *out, const struct style *st,
			     const struct model_process *p)
{
	print_title(out, st, p);
	fprintf(out, ": no leaks, no open handles");
	if (p->classified) {
		fprintf(out, " (");
		print_amount(out, p->by_class[LKS_CLASS_REACHABLE].bytes,
			     p->by_class[LKS_CLASS_REACHABLE].blocks);
		fprintf(out, " still reachable)");
	}
	if (p->suppressed_handles) {
		fprintf(out, ", %zu %s suppressed by ", p->suppressed_handles,
			plural(p->suppressed_handles, "handle", "handles"));
		print_rule_names(out, p);
	}
	fprintf(out, "\n");
}

/* --skip-exe, --only-exe: listed, so that nobody takes its absence for a
 * clean run, and nothing else (nothing of it was read). */
static void print_skipped_line(FILE *out, const struct style *st,
			       const struct model_process *p)
{
	print_title(out, st, p);
	fprintf(out, ": skipped (%s), not judged\n", p->skipped);
}

/* A process that ended without a snapshot: nothing of it is reported. */
static void print_no_data(FILE *out, const struct style *st, const struct model_no_data *d)
{
	char name[32];

	fprintf(out, "%sleakscope: pid %" PRId32 "%s%s%s: ", st->bold, d->pid,
		d->name[0] ? " (" : "", d->name, d->name[0] ? ")" : "");
	if (d->signal) {
		model_signal_name(d->signal, name, sizeof(name));
		fprintf(out, "killed by signal %" PRId32 "%s%s%s, no snapshot%s\n", d->signal,
			name[0] ? " (" : "", name, name[0] ? ")" : "",
			d->signal == SIGKILL ? " (no handler can see SIGKILL)" : "");
	} else {
		char why[256];

		model_no_data_why(d, why, sizeof(why));
		fprintf(out, "no snapshot: %s\n", why);
	}
	fprintf(out, "%s", st->reset);
}

int out_text(FILE *out, const struct model_report *report,
	     const struct out_text_options *opts)
{
	const struct style *st = opts->colour ? &ansi : &plain;
	bool previous_one_line = false;

	for (size_t i = 0; i < report->count; i++) {
		const struct model_process *p = report->processes[i];

		bool one_line = p->skipped || (i > 0 && is_clean(p) && !opts->show_reachable &&
						!opts->retainers);

		/* a blank line around every full report, none between one-liners */
		if (i > 0 && (!one_line || !previous_one_line))
			fprintf(out, "\n");
		if (one_line && p->skipped)
			print_skipped_line(out, st, p);
		else if (one_line)
			print_clean_line(out, st, p);
		else
			print_process(out, st, p, opts);
		previous_one_line = one_line;
	}
	if (report->no_data_count && report->count)
		fprintf(out, "\n");
	for (size_t i = 0; i < report->no_data_count; i++)
		print_no_data(out, st, &report->no_data[i]);
	return 0;
}
