/* SPDX-License-Identifier: MIT */
/* Statistics and compare_to ordering on hand-made models: tracemalloc's
 * rules (|size_diff|, size, |count_diff|, count; ties; negative diffs; new
 * and vanished sites), cumulative grouping, wrappers, filters, handles and
 * ASLR-proof keys. TAP output. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "diff.h"
#include "stats.h"
#include "tap.h"

#define MAX_SITES 16
#define MAX_FRAMES 4

/* A model with up to MAX_SITES sites, frames given as "function@file:line". */
struct fake {
	struct model_process proc;
	struct model_leak leaks[MAX_SITES];
	struct model_handle_group handles[MAX_SITES];
	struct model_frame frames[2 * MAX_SITES][MAX_FRAMES];
	char names[2 * MAX_SITES][MAX_FRAMES][2][64];
	size_t stacks;
};

static struct model_stack make_stack(struct fake *f, const char *const *spec)
{
	size_t s = f->stacks++, n = 0;

	for (; n < MAX_FRAMES && spec[n]; n++) {
		struct model_frame *fr = &f->frames[s][n];
		char *function = f->names[s][n][0], *file = f->names[s][n][1];
		unsigned line = 0;

		sscanf(spec[n], "%63[^@]@%63[^:]:%u", function, file, &line);
		*fr = (struct model_frame){ .function = function, .file = file,
					    .line = line, .module = "/usr/bin/prog",
					    .address = 0x1000 + line, .offset = line };
		if (strcmp(file, "-") == 0) /* no debug information */
			fr->file = NULL, fr->line = 0;
	}
	return (struct model_stack){ .trace = (uint32_t)s + 1, .count = n,
				     .frames = f->frames[s] };
}

static void site(struct fake *f, uint64_t bytes, uint64_t blocks, const char *a,
		 const char *b, const char *c)
{
	const char *spec[] = { a, b, c, NULL };
	struct model_leak *leak = &f->leaks[f->proc.leak_count++];

	*leak = (struct model_leak){ .bytes = bytes, .blocks = blocks };
	leak->stack = make_stack(f, spec);
	f->proc.leaks = f->leaks;
}

static void handles(struct fake *f, enum lks_handle_type type, size_t count,
		    const char *a)
{
	const char *spec[] = { a, NULL };
	struct model_handle_group *g = &f->handles[f->proc.handle_group_count++];

	*g = (struct model_handle_group){ .type = type, .count = count };
	g->stack = make_stack(f, spec);
	f->proc.handle_groups = f->handles;
}

static const char *first_file_line(const struct stats_entry *e, char *text)
{
	const struct model_frame *fr = &e->stack.frames[0];

	sprintf(text, "%s:%" PRIu32, fr->file ? fr->file : "?", fr->line);
	return text;
}

/* The diff of two fakes, as "file:line size_diff count_diff" lines. */
static void diff_of(struct fake *old_fake, struct fake *new_fake,
		    const struct stats_options *opts, char *out, size_t size)
{
	struct stats_table a, b, d;
	size_t used = 0;
	char where[160];

	stats_build(&old_fake->proc, opts, &a);
	stats_build(&new_fake->proc, opts, &b);
	diff_tables(&a, &b, &d);
	out[0] = '\0';
	for (size_t i = 0; i < d.memory_count; i++)
		used += (size_t)snprintf(out + used, size - used, "%s %" PRIu64 " %+" PRId64
					 " %" PRIu64 " %+" PRId64 "\n",
					 first_file_line(&d.memory[i], where), d.memory[i].size,
					 d.memory[i].size_diff, d.memory[i].count,
					 d.memory[i].count_diff);
	stats_free(&d);
	stats_free(&b);
	stats_free(&a);
}

static void check_text(const char *got, const char *want, const char *what)
{
	ok(strcmp(got, want) == 0, "%s", what);
	if (strcmp(got, want) != 0)
		printf("# got:\n%s# want:\n%s", got, want);
}

static const struct stats_options by_line = { .key = STATS_KEY_LINENO };

static void test_order_by_size_diff(void)
{
	static struct fake old_fake, new_fake;
	char got[1024];

	/* a: +100 bytes; b: -300 bytes (|-300| ranks first); c: unchanged */
	site(&old_fake, 100, 1, "fa@a.c:1", NULL, NULL);
	site(&old_fake, 500, 5, "fb@b.c:2", NULL, NULL);
	site(&old_fake, 50, 1, "fc@c.c:3", NULL, NULL);
	site(&new_fake, 200, 2, "fa@a.c:1", NULL, NULL);
	site(&new_fake, 200, 2, "fb@b.c:2", NULL, NULL);
	site(&new_fake, 50, 1, "fc@c.c:3", NULL, NULL);
	diff_of(&old_fake, &new_fake, &by_line, got, sizeof(got));
	check_text(got, "b.c:2 200 -300 2 -3\na.c:1 200 +100 2 +1\nc.c:3 50 +0 1 +0\n",
		   "a shrinking site ranks by |size_diff| above a smaller growth");
}

static void test_ties(void)
{
	static struct fake old_fake, new_fake;
	char got[1024];

	/* equal |size_diff| 100: bigger size first (e: 400 before d: 300) */
	site(&old_fake, 200, 2, "fd@d.c:1", NULL, NULL);
	site(&old_fake, 500, 2, "fe@e.c:1", NULL, NULL);
	site(&new_fake, 300, 2, "fd@d.c:1", NULL, NULL);
	site(&new_fake, 400, 2, "fe@e.c:1", NULL, NULL);
	/* equal |size_diff| 50 and size 250: |count_diff| 3 before 1 */
	site(&old_fake, 200, 1, "ff@f.c:1", NULL, NULL);
	site(&old_fake, 300, 4, "fg@g.c:1", NULL, NULL);
	site(&new_fake, 250, 2, "ff@f.c:1", NULL, NULL);
	site(&new_fake, 250, 1, "fg@g.c:1", NULL, NULL);
	/* equal up to |count_diff| 1: count 7 before count 5 */
	site(&old_fake, 10, 4, "fh@h.c:1", NULL, NULL);
	site(&old_fake, 10, 6, "fi@i.c:1", NULL, NULL);
	site(&new_fake, 30, 5, "fh@h.c:1", NULL, NULL);
	site(&new_fake, 30, 7, "fi@i.c:1", NULL, NULL);
	/* equal in every number: by key */
	site(&old_fake, 1, 1, "fk@k.c:1", NULL, NULL);
	site(&old_fake, 1, 1, "fj@j.c:1", NULL, NULL);
	site(&new_fake, 1, 1, "fk@k.c:1", NULL, NULL);
	site(&new_fake, 1, 1, "fj@j.c:1", NULL, NULL);
	diff_of(&old_fake, &new_fake, &by_line, got, sizeof(got));
	check_text(got,
		   "e.c:1 400 -100 2 +0\nd.c:1 300 +100 2 +0\n"
		   "g.c:1 250 -50 1 -3\nf.c:1 250 +50 2 +1\n"
		   "i.c:1 30 +20 7 +1\nh.c:1 30 +20 5 +1\n"
		   "j.c:1 1 +0 1 +0\nk.c:1 1 +0 1 +0\n",
		   "ties fall to size, then |count_diff|, then count, then key");
}

static void test_new_and_vanished(void)
{
	static struct fake old_fake, new_fake;
	char got[1024];

	site(&old_fake, 64, 2, "gone@v.c:9", NULL, NULL);
	site(&old_fake, 10, 1, "kept@k.c:1", NULL, NULL);
	site(&new_fake, 10, 1, "kept@k.c:1", NULL, NULL);
	site(&new_fake, 48, 3, "born@n.c:4", NULL, NULL);
	diff_of(&old_fake, &new_fake, &by_line, got, sizeof(got));
	check_text(got, "v.c:9 0 -64 0 -2\nn.c:4 48 +48 3 +3\nk.c:1 10 +0 1 +0\n",
		   "a vanished site has size 0 and a negative diff, a new one diffs from 0");
}

static const struct stats_entry *find(const struct stats_table *t, const char *key)
{
	for (size_t i = 0; i < t->memory_count; i++)
		if (strcmp(t->memory[i].key, key) == 0)
			return &t->memory[i];
	return NULL;
}

static void expect_entry(const struct stats_table *t, const char *key, uint64_t size,
			 uint64_t count)
{
	const struct stats_entry *e = find(t, key);

	ok(e && e->size == size && e->count == count, "%s: size %" PRIu64 " count %"
	   PRIu64 " (got %" PRIu64 ", %" PRIu64 ")", key, size, count,
	   e ? e->size : 0, e ? e->count : 0);
}

static void test_cumulative(void)
{
	static struct fake f;
	struct stats_options opts = { .key = STATS_KEY_LINENO, .cumulative = true };
	struct stats_table t;

	site(&f, 100, 1, "leaf1@a.c:10", "mid@a.c:20", "main@m.c:30");
	site(&f, 40, 2, "leaf2@a.c:11", "mid@a.c:20", "main@m.c:30");
	site(&f, 7, 1, "rec@r.c:5", "rec@r.c:5", "main@m.c:31");
	stats_build(&f.proc, &opts, &t);
	expect_entry(&t, "a.c:10", 100, 1);
	expect_entry(&t, "a.c:20", 140, 3);
	expect_entry(&t, "m.c:30", 140, 3);
	expect_entry(&t, "r.c:5", 7, 1); /* recursion counts once */
	ok(t.total_size == 147 && t.total_count == 4,
	   "cumulative totals count each block once");
	ok(t.memory_count == 6 && strcmp(t.memory[0].key, "a.c:20") == 0,
	   "cumulative entries sorted by size, key on ties");
	stats_free(&t);

	opts.key = STATS_KEY_FUNCTION;
	stats_build(&f.proc, &opts, &t);
	expect_entry(&t, "main\tprog", 147, 4);
	stats_free(&t);
}

static void test_keys(void)
{
	static struct fake f;
	struct stats_options opts = { .key = STATS_KEY_FUNCTION };
	struct stats_table t;

	site(&f, 10, 1, "work@w.c:1", NULL, NULL);
	site(&f, 20, 1, "work@w.c:2", NULL, NULL);
	site(&f, 5, 1, "other@o.c:3", NULL, NULL);
	stats_build(&f.proc, &opts, &t);
	expect_entry(&t, "work\tprog", 30, 2);
	stats_free(&t);
	opts.key = STATS_KEY_FILE;
	stats_build(&f.proc, &opts, &t);
	expect_entry(&t, "w.c", 30, 2);
	stats_free(&t);
	opts.key = STATS_KEY_MODULE;
	stats_build(&f.proc, &opts, &t);
	expect_entry(&t, "prog", 35, 3);
	stats_free(&t);
}

/* Two runs: other addresses, same module offset, no debug information. */
static void test_aslr(void)
{
	static struct fake old_fake, new_fake;
	char got[1024];

	site(&old_fake, 16, 1, "fn@-:7", NULL, NULL);
	site(&new_fake, 48, 3, "fn@-:7", NULL, NULL);
	new_fake.frames[0][0].address += 0x7f0000000000;
	diff_of(&old_fake, &new_fake, &by_line, got, sizeof(got));
	check_text(got, "?:0 48 +32 3 +2\n",
		   "module+offset keys match across runs with other addresses");
}

static void test_wrappers(void)
{
	static struct fake f;
	const char *wrappers[] = { "xmal*" };
	struct stats_options opts = { .key = STATS_KEY_LINENO };
	struct stats_table t;

	site(&f, 13, 1, "__GI___strdup@strdup.c:42", "user@u.c:5", NULL);
	site(&f, 8, 1, "xmalloc@x.c:3", "caller1@u.c:10", NULL);
	site(&f, 8, 1, "xmalloc@x.c:3", "caller2@u.c:20", NULL);
	site(&f, 8, 1, "operator new(unsigned long)@new_op.cc:50", "obj@u.c:30", NULL);
	stats_build(&f.proc, &opts, &t);
	expect_entry(&t, "u.c:5", 13, 1);
	expect_entry(&t, "x.c:3", 16, 2);
	expect_entry(&t, "u.c:30", 8, 1);
	stats_free(&t);
	opts.alloc_fns = wrappers;
	opts.alloc_fn_count = 1;
	stats_build(&f.proc, &opts, &t);
	expect_entry(&t, "u.c:10", 8, 1);
	expect_entry(&t, "u.c:20", 8, 1);
	ok(!find(&t, "x.c:3"), "--alloc-fn: the wrapper's own line is gone");
	stats_free(&t);
}

static void test_filters(void)
{
	static struct fake f;
	struct stats_options opts = { .key = STATS_KEY_LINENO };
	struct stats_table t;

	site(&f, 10, 1, "keep@src/a.c:1", NULL, NULL);
	site(&f, 20, 1, "drop@src/b.c:2", NULL, NULL);
	site(&f, 30, 1, "other@lib/c.c:3", NULL, NULL);
	filter_add(&opts.filters, true, "src/*");
	filter_add(&opts.filters, false, "drop");
	stats_build(&f.proc, &opts, &t);
	ok(t.memory_count == 1 && strcmp(t.memory[0].key, "src/a.c:1") == 0 &&
	   t.total_size == 10, "--include src/* --exclude drop keeps a.c only");
	stats_free(&t);
	filter_free(&opts.filters);
	filter_add(&opts.filters, true, "c.c");
	filter_add(&opts.filters, true, "prog");
	stats_build(&f.proc, &opts, &t);
	ok(t.memory_count == 3, "a module's basename matches (prog)");
	stats_free(&t);
	filter_free(&opts.filters);
}

/* How many of a list a listing shows, and the sum of what it left out. */
static size_t list(const struct stats_entry *entries, size_t count,
		   struct stats_listing listing, struct stats_left_out *left)
{
	size_t listed = 0, shown = 0;

	*left = (struct stats_left_out){ 0 };
	for (size_t i = 0; i < count; i++)
		shown += stats_listed(&listing, &entries[i], &listed, left);
	return shown == listed ? shown : (size_t)-1;
}

static void test_listing(void)
{
	static struct fake old_fake, new_fake;
	struct stats_table a, b, d;
	struct stats_left_out left;

	site(&old_fake, 100, 1, "same@a.c:1", NULL, NULL);
	site(&old_fake, 50, 5, "shrink@a.c:2", NULL, NULL);
	site(&old_fake, 999, 9, "still@a.c:3", NULL, NULL);
	site(&new_fake, 100, 1, "same@a.c:1", NULL, NULL);
	site(&new_fake, 10, 1, "shrink@a.c:2", NULL, NULL);
	site(&new_fake, 999, 9, "still@a.c:3", NULL, NULL);
	site(&new_fake, 300, 3, "grow@a.c:4", NULL, NULL);
	site(&new_fake, 20, 2, "new@a.c:5", NULL, NULL);
	stats_build(&old_fake.proc, &by_line, &a);
	stats_build(&new_fake.proc, &by_line, &b);
	ok(list(b.memory, b.memory_count, (struct stats_listing){ 2, false }, &left) == 2 &&
	   left.entries == 3 && left.size == 100 + 20 + 10 && left.count == 4 &&
	   !left.unchanged, "statistics --top 2: two listed, the other three summed up");
	diff_tables(&a, &b, &d);
	/* d: grow +300, shrink -40, new +20, then still and same at +0 */
	ok(list(d.memory, d.memory_count, (struct stats_listing){ 2, true }, &left) == 2 &&
	   left.entries == 1 && left.size_diff == 20 && left.count_diff == 2 &&
	   left.unchanged == 2, "diff --top 2: the two largest changes; one change and the "
	   "two unchanged sites left out, counted apart");
	ok(list(d.memory, d.memory_count, (struct stats_listing){ 20, true }, &left) == 3 &&
	   !left.entries && left.unchanged == 2,
	   "diff with room to spare: every change listed, unchanged sites still left out");
	ok(list(d.memory, d.memory_count, (struct stats_listing){ 0, false }, &left) == 5 &&
	   !left.entries && !left.unchanged, "--top 0: every site, unchanged ones too");
	ok(d.memory_count == 5 && d.total_size_diff == 300 - 40 + 20,
	   "the table and its totals keep every site whatever is listed");
	stats_free(&d);
	stats_free(&b);
	stats_free(&a);
}

static void test_handles(void)
{
	static struct fake old_fake, new_fake;
	struct stats_table a, b, d;

	handles(&old_fake, LKS_HANDLE_SOCKET, 2, "accept_one@srv.c:40");
	handles(&old_fake, LKS_HANDLE_FILE, 1, "log_open@log.c:7");
	handles(&new_fake, LKS_HANDLE_SOCKET, 5, "accept_one@srv.c:40");
	handles(&new_fake, LKS_HANDLE_PIPE, 1, "accept_one@srv.c:40");
	stats_build(&old_fake.proc, &by_line, &a);
	stats_build(&new_fake.proc, &by_line, &b);
	diff_tables(&a, &b, &d);
	ok(d.handle_count == 3, "three handle entries (socket, pipe, vanished FILE)");
	ok(d.handles[0].type == LKS_HANDLE_SOCKET && d.handles[0].count == 5 &&
	   d.handles[0].count_diff == 3, "sockets at srv.c:40 first: 5 open, +3");
	/* |count_diff| ties at 1: the one with more open comes first */
	ok(d.handles[1].type == LKS_HANDLE_PIPE && d.handles[1].count_diff == 1,
	   "the new pipe at the same line is its own entry, before the FILE");
	ok(d.handles[2].type == LKS_HANDLE_FILE && d.handles[2].count == 0 &&
	   d.handles[2].count_diff == -1, "the closed FILE: 0 open, -1");
	ok(d.total_handles == 6 && d.total_handles_diff == 3, "handle totals 6, +3");
	stats_free(&d);
	stats_free(&b);
	stats_free(&a);
}

/* An arena an exit scan found held is not an open handle in the report,
 * but it is open: statistics count it, so a growing arena shows. */
static void test_held_mappings(void)
{
	static struct fake old_fake, new_fake;
	struct stats_table a, b, d;

	handles(&old_fake, LKS_HANDLE_MMAP, 2, "new_arena@pool.c:12");
	handles(&new_fake, LKS_HANDLE_MMAP, 6, "new_arena@pool.c:12");
	new_fake.proc.held_groups = new_fake.proc.handle_groups;
	new_fake.proc.held_group_count = new_fake.proc.handle_group_count;
	new_fake.proc.handle_groups = NULL;
	new_fake.proc.handle_group_count = 0;
	stats_build(&old_fake.proc, &by_line, &a);
	stats_build(&new_fake.proc, &by_line, &b);
	diff_tables(&a, &b, &d);
	ok(d.handle_count == 1 && d.handles[0].count == 6 && d.handles[0].count_diff == 4,
	   "held mappings at pool.c:12 count: 6 open, +4");
	stats_free(&d);
	stats_free(&b);
	stats_free(&a);
}

int main(void)
{
	test_order_by_size_diff();
	test_ties();
	test_new_and_vanished();
	test_cumulative();
	test_keys();
	test_aslr();
	test_wrappers();
	test_filters();
	test_listing();
	test_handles();
	test_held_mappings();
	return tap_done();
}
