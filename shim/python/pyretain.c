/* SPDX-License-Identifier: MIT */
/* Retainer chains of the snapshots taken while CPython runs (in-run and
 * 'python-exit': docs/PYTHON.md, "Retainers"): from the dicts of the
 * module objects still alive, a breadth-first walk over the blocks the
 * typing read finds the shortest chain of references to a block of each
 * site Python code made that grew most since the last in-run snapshot
 * (python-exit, and the first: the largest), within a bound (64 levels,
 * python_retain_blocks blocks read); each site left without a chain is
 * written with why. A proven object is entered
 * only at its start (a word pointing at its GC header is the collector's
 * list, not a reference) and its GC header is never followed. The program
 * runs on, no thread is stopped: every read goes through process_vm_readv,
 * so a block freed meanwhile is a failed read, never a fault. */
#define _GNU_SOURCE
#include <unistd.h>

#include "../process.h"
#include "python.h"
#include "pygrowth.h"
#include "pynames.h"
#include "pyroom.h"
#include "pytypes.h"
#include "pywindow.h"

#define MD_DICT 16            /* PyModuleObject, 3.11 to 3.13 */
#define MD_NAME 48
#define SEED UINT32_MAX       /* parent of a module's dict */
#define TARGET_SLOTS 64      /* the targets' traces, open addressing */

struct target {
	uint32_t trace;
	uint32_t block;           /* index + 1 of its nearest block; 0: none */
};

struct walk {
	const struct pytype_block *blocks;
	const uint32_t *kinds;    /* per block (pytypes.h) */
	uint64_t count, lowest, highest;
	struct pytype_set *set;
	struct pywindows *windows;
	uint32_t *parent;         /* per block: index + 1 of the block that reached
	                           * it first, SEED for a module's dict, 0: not
	                           * reached */
	uint32_t *via;            /* where in its parent the word that reached it
	                           * is; for a seed, the module object's block */
	uint32_t *queue;
	uint64_t *marks;          /* a bit per block, clear between levels */
	uint32_t *granule_first;  /* per granule of [lowest, highest): the first
	                           * block ending past its start */
	uint64_t granules;
	int granule_shift;        /* about one block a granule */
	uint64_t head, tail;
	uint32_t flat[5];         /* str, bytes, int, float: data, no references;
	                           * code: its bytecode's caches hold borrowed,
	                           * maybe stale, pointers */
	uint32_t dict;            /* the type id of dict */
	uint64_t sys_modules;     /* the dict object sys.modules; 0: not found */
	struct target targets[LKS_RETAIN_CHAINS_MAX];
	struct {
		uint32_t trace;   /* 0: empty */
		uint32_t unfound; /* a bit per target of that trace not reached yet */
	} by_trace[TARGET_SLOTS];
	uint32_t target_count, found;
	uint64_t budget;          /* blocks the walk may read; 0: no bound */
	uint64_t unread;          /* blocks freed while the walk read them */
	uint32_t ended;           /* why sites were left unfound: LKS_PYU_* */
};

static uint64_t word(const uint8_t *bytes, size_t at)
{
	uint64_t value;

	__builtin_memcpy(&value, bytes + at, sizeof(value));
	return value;
}

static uint64_t block_addr(const struct walk *w, uint64_t i)
{
	return PYT_BLOCK_ADDR(&w->blocks[i]);
}

static uint32_t type_of(const struct walk *w, uint64_t i)
{
	return w->kinds[i] >> 2;
}

/* Where block i's object starts, past its GC header and pre-header. */
static uint64_t object_of(const struct walk *w, uint64_t i)
{
	return block_addr(w, i) + (w->kinds[i] & 3) * 16;
}

/* The block holding addr, or -1. Every word of every block reached comes
 * here: the granule index narrows the search to a block or two, which
 * stay in the cache, where a search of all of them missed it at every
 * step. */
static int64_t find(const struct walk *w, uint64_t addr)
{
	uint64_t lo, hi, granule;

	if (addr < w->lowest || addr >= w->highest)
		return -1;
	granule = (addr - w->lowest) >> w->granule_shift;
	lo = w->granule_first[granule];
	hi = granule + 1 < w->granules ? w->granule_first[granule + 1] + 1 : w->count;
	hi = hi < w->count ? hi : w->count;
	if (lo >= hi)
		return -1;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (block_addr(w, mid) <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return addr - block_addr(w, lo) < w->blocks[lo].size ? (int64_t)lo : -1;
}

/* The slot of `trace` in by_trace, or the empty one it would take. */
static uint32_t trace_slot(const struct walk *w, uint32_t trace)
{
	uint32_t at = (uint32_t)(trace * 0x9e3779b97f4a7c15u >> 58);  /* 6 bits */

	while (w->by_trace[at].trace && w->by_trace[at].trace != trace)
		at = (at + 1) % TARGET_SLOTS;
	return at;
}

static uint32_t type_named(struct pytype_set *set, const char *name)
{
	uint32_t count = (uint32_t)(set->types.len / sizeof(struct pytype_info));

	for (uint32_t id = 1; id <= count; id++) {
		const char *have = (const char *)set->names.bytes + pytype_set_info(set, id)->name_at;
		size_t k = 0;

		while (have[k] && have[k] == name[k])
			k++;
		if (have[k] == name[k])
			return id;
	}
	return 0;
}

/* ---- the walk ------------------------------------------------------------ */

static void reached(struct walk *w, uint32_t parent, uint64_t offset, uint64_t value)
{
	uint32_t at;
	int64_t j;

	/* what CPython points at, an object or a slot of references, is
	 * 8-byte aligned */
	if (value & 7 || (j = find(w, value)) < 0 || w->parent[j])
		return;
	/* an object only at its start; a buffer anywhere (3.11's split-dict
	 * values are pointed at past a prefix) */
	if (type_of(w, (uint64_t)j) && value != object_of(w, (uint64_t)j))
		return;
	w->parent[j] = parent;
	w->via[j] = (uint32_t)offset;
	w->queue[w->tail++] = (uint32_t)j;
	/* in a heap made of a few large sites most blocks are a target's, and
	 * most of those a target reached already: one probe says so */
	at = trace_slot(w, w->blocks[j].trace);
	for (uint32_t bits = w->by_trace[at].unfound; bits; bits &= bits - 1) {
		w->targets[__builtin_ctz(bits)].block = (uint32_t)j + 1;
		w->found++;
	}
	w->by_trace[at].unfound = 0;
}

/* pywindows_read's give: the words of block i from `from` on, its GC
 * header left out. */
static void scan(void *ctx, uint64_t i, uint64_t from, const uint8_t *bytes, uint64_t len)
{
	struct walk *w = ctx;
	uint32_t type = type_of(w, i);
	uint64_t gc_lo = 0, gc_hi = 0;

	if (!bytes) {
		w->unread++;
		return;  /* freed since: that part of the walk ends here */
	}
	for (uint32_t k = 0; k < sizeof(w->flat) / sizeof(w->flat[0]); k++)
		if (type && type == w->flat[k])
			return;  /* text and numbers that may look like pointers */
	if (type && pytype_set_info(w->set, type)->flags & PYTF_HAVE_GC) {
		gc_hi = object_of(w, i) - block_addr(w, i);
		gc_lo = gc_hi - PYT_GC_HEAD;
	}
	for (uint64_t off = 0; off + 8 <= len; off += 8) {
		uint64_t offset = from + off;

		if (offset < gc_lo || offset >= gc_hi)
			reached(w, (uint32_t)i + 1, offset, word(bytes, off));
	}
}

/* A level's block indices ascending, so addresses are: each marked in a
 * bitmap of all blocks, then read back in order (a level is a good part
 * of the heap, and a comparison sort of it missed the cache at every
 * step). Indices are unique: a block enters the queue once. */
static void sort_level(struct walk *w, uint32_t *list, uint64_t count)
{
	uint64_t low = UINT64_MAX, high = 0, at = 0;

	for (uint64_t i = 0; i < count; i++) {
		w->marks[list[i] >> 6] |= 1ull << (list[i] & 63);
		low = list[i] < low ? list[i] : low;
		high = list[i] > high ? list[i] : high;
	}
	for (uint64_t word = low >> 6; count && word <= high >> 6; word++)
		for (uint64_t bits = w->marks[word]; bits; bits &= bits - 1)
			list[at++] = (uint32_t)(word << 6 | (uint64_t)__builtin_ctzll(bits));
	for (uint64_t word = low >> 6; count && word <= high >> 6; word++)
		w->marks[word] = 0;
}

/* Breadth first, one level at a time: a level's blocks are read in
 * address order, where the heap's blocks lie close together. A block of
 * level L would be the L + 2nd of its chain: no chain is written longer
 * than LKS_RETAIN_BLOCKS_MAX, so the walk ends there. With a budget, it
 * reads that many blocks at most, the last level in address order up to
 * it: which sites it reaches depends on the heap alone, and those it did
 * not are said, with why (LKS_PYU_*). */
static void walk(struct walk *w)
{
	for (uint32_t level = 0; w->head < w->tail && w->found < w->target_count; level++) {
		uint64_t level_end = w->tail, count = level_end - w->head;

		if (level + 1 >= LKS_RETAIN_BLOCKS_MAX) {
			w->ended = LKS_PYU_DEEP;
			return;
		}
		if (w->budget && w->head >= w->budget) {
			w->ended = LKS_PYU_BUDGET;
			return;
		}
		sort_level(w, w->queue + w->head, count);
		if (w->budget && count > w->budget - w->head)
			count = w->budget - w->head;
		pywindows_read(w->windows, &(struct pywindow_list){
			.blocks = w->blocks, .list = w->queue + w->head,
			.count = count, .whole = true, .give = scan, .ctx = w });
		w->head += count;
	}
	if (w->found < w->target_count)
		w->ended = w->unread ? LKS_PYU_FREED : LKS_PYU_UNREACHED;
}

/* Every live module object's dict starts the walk. */
static void seed_modules(struct walk *w)
{
	uint32_t module = type_named(w->set, "module"), dict = type_named(w->set, "dict");

	for (uint64_t i = 0; module && dict && i < w->count; i++) {
		uint64_t md_dict;
		int64_t j;

		if (type_of(w, i) != module || !lks_py_peek(&md_dict, object_of(w, i) + MD_DICT, 8))
			continue;
		j = find(w, md_dict);
		if (j < 0 || type_of(w, (uint64_t)j) != dict ||
		    md_dict != object_of(w, (uint64_t)j) || w->parent[j])
			continue;
		w->parent[j] = SEED;
		w->via[j] = (uint32_t)i;
		w->queue[w->tail++] = (uint32_t)j;
	}
}

/* ---- which sites, and their chains ------------------------------------- */

static bool made_by_python(uint32_t trace)
{
	uint32_t depth = 0;
	const uint64_t *frames = lks_depot_frames(trace, &depth);

	for (uint32_t i = 0; frames && i < depth; i++)
		if (LKS_PYFRAME_IS(frames[i]))
			return true;
	return false;
}

/* What a site is worth a chain: its growth since the snapshot `since`
 * kept, or without one its size. */
static uint64_t site_weight(const struct pygrowth *since, const struct lks_site *site)
{
	uint64_t before;

	if (!since)
		return site->bytes;
	before = pygrowth_before(since, site);
	return site->bytes > before ? site->bytes - before : 0;
}

/* The sites with a Python frame in their stack worth most, most first:
 * a site that did not grow has no chain in an in-run snapshot. */
static void pick_sites(struct walk *w, const struct lks_site *sites, size_t count,
                       const struct pygrowth *since)
{
	uint64_t weights[LKS_RETAIN_CHAINS_MAX];
	uint32_t traces[LKS_RETAIN_CHAINS_MAX], n = 0;

	for (size_t i = 0; i < count; i++) {
		uint64_t weight = site_weight(since, &sites[i]);
		uint32_t at;

		if (!weight || (n == LKS_RETAIN_CHAINS_MAX && weights[n - 1] >= weight) ||
		    !made_by_python(sites[i].trace))
			continue;
		at = n < LKS_RETAIN_CHAINS_MAX ? n++ : n - 1;  /* full: the last one goes */
		for (; at > 0 && weights[at - 1] < weight; at--) {
			weights[at] = weights[at - 1];
			traces[at] = traces[at - 1];
		}
		weights[at] = weight;
		traces[at] = sites[i].trace;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t at = trace_slot(w, traces[i]);

		w->by_trace[at].trace = traces[i];
		w->by_trace[at].unfound |= 1u << w->target_count;
		w->targets[w->target_count++] = (struct target){ .trace = traces[i] };
	}
}

/* The dict that sys.modules is: the sys module's dict's "modules". */
static void find_sys_modules(struct walk *w)
{
	uint32_t module = type_named(w->set, "module");
	char name[PYN_TEXT_MAX];
	uint64_t str, md_dict, modules;
	int64_t j;

	for (uint64_t i = 0; module && i < w->count && !w->sys_modules; i++) {
		if (type_of(w, i) != module || !lks_py_peek(&str, object_of(w, i) + MD_NAME, 8) ||
		    !lks_pyname_str(str, name) || __builtin_strcmp(name, "sys") != 0 ||
		    !lks_py_peek(&md_dict, object_of(w, i) + MD_DICT, 8))
			continue;
		modules = lks_pyname_get(md_dict, "modules");
		j = find(w, modules);
		if (j >= 0 && type_of(w, (uint64_t)j) == w->dict &&
		    modules == object_of(w, (uint64_t)j))
			w->sys_modules = modules;
	}
}

/* A module root's record: its md_name, and the key sys.modules holds it
 * under ("" when it does not). */
static void module_step(struct walk *w, uint32_t step, uint64_t module,
                        struct lks_buf *pysteps, struct lks_strtab *strings)
{
	struct lks_pyretainer record = { .step = step };
	char name[PYN_TEXT_MAX];
	uint64_t str;

	if (!lks_py_peek(&str, module + MD_NAME, 8) || !lks_pyname_str(str, name))
		name[0] = '\0';
	record.module = lks_strtab_add(strings, name);
	if (w->sys_modules && lks_pyname_key_of(w->sys_modules, module, name))
		record.key = lks_strtab_add(strings, name);
	lks_buf_append(pysteps, &record, sizeof(record));
}

/* The key of the dict two steps up the path whose keys block (the step
 * between) holds path[i]; "" when path[i] is not held that way. */
static void key_of_step(struct walk *w, const uint32_t *path, uint32_t depth, uint32_t i,
                        char *key)
{
	uint32_t holder, keys;

	key[0] = '\0';
	if (i + 2 >= depth)
		return;
	holder = path[i + 2];
	keys = path[i + 1];
	if (type_of(w, holder) != w->dict || type_of(w, keys) ||
	    w->via[keys] != object_of(w, holder) - block_addr(w, holder) + PYN_MA_KEYS)
		return;
	lks_pyname_key_at(object_of(w, holder), block_addr(w, keys) + w->via[path[i]], key);
}

/* A block's record, when it is a proven object: its type, and the key
 * of the dict that holds it. */
static void block_step(struct walk *w, uint32_t step, const uint32_t *path, uint32_t depth,
                       uint32_t i, struct lks_buf *pysteps, struct lks_strtab *strings)
{
	struct lks_pyretainer record = { .step = step };
	uint32_t type = type_of(w, path[i]);
	char key[PYN_TEXT_MAX];

	if (!type)
		return;
	record.type = lks_strtab_add(strings, (const char *)w->set->names.bytes +
	                                      pytype_set_info(w->set, type)->name_at);
	key_of_step(w, path, depth, i, key);
	if (key[0])
		record.key = lks_strtab_add(strings, key);
	lks_buf_append(pysteps, &record, sizeof(record));
}

static bool write_chain(struct walk *w, uint32_t chain, uint32_t target, struct lks_buf *steps,
                        struct lks_buf *pysteps, struct lks_strtab *strings)
{
	uint32_t path[LKS_RETAIN_BLOCKS_MAX], depth = 0, at = target;
	struct lks_retainer_step step;
	uint64_t module;

	for (; depth < LKS_RETAIN_BLOCKS_MAX; at = w->parent[at] - 1) {
		path[depth++] = at;
		if (w->parent[at] == SEED)
			break;
	}
	if (w->parent[at] != SEED)
		return false;  /* too long to show whole: no chain rather than half a one */
	module = object_of(w, w->via[at]);
	step = (struct lks_retainer_step){ .chain = chain, .kind = LKS_RK_PYMODULE, .addr = module };
	module_step(w, (uint32_t)(steps->len / sizeof(step)), module, pysteps, strings);
	lks_buf_append(steps, &step, sizeof(step));
	for (uint32_t i = depth; i-- > 0; ) {
		step = (struct lks_retainer_step){ .chain = chain, .kind = LKS_RK_BLOCK,
			.addr = block_addr(w, path[i]), .trace = w->blocks[path[i]].trace,
			.size = w->blocks[path[i]].size };
		if (i > 0)
			step.offset = w->via[path[i - 1]];
		block_step(w, (uint32_t)(steps->len / sizeof(step)), path, depth, i, pysteps,
		           strings);
		lks_buf_append(steps, &step, sizeof(step));
	}
	return true;
}

/* Each chosen site's chain, or why it has none. */
static uint32_t write_chains(struct walk *w, const struct lks_py_parts *parts,
                             struct lks_strtab *strings)
{
	uint32_t chain = 0;

	for (uint32_t t = 0; t < w->target_count; t++) {
		struct lks_pyunchained none = { .trace = w->targets[t].trace, .reason = w->ended,
		                                .walked = w->head };

		if (w->targets[t].block &&
		    write_chain(w, chain, w->targets[t].block - 1, parts->retainers,
		                parts->pyretainers, strings)) {
			chain++;
			continue;
		}
		if (w->targets[t].block)
			none.reason = LKS_PYU_DEEP;
		lks_buf_append(parts->unchained, &none, sizeof(none));
	}
	return chain;
}

/* Each granule's first block ending past its start (blocks are sorted by
 * address and do not overlap, so their ends are sorted too). */
static void index_granules(struct walk *w)
{
	uint64_t i = 0;

	for (uint64_t granule = 0; granule < w->granules; granule++) {
		uint64_t start = w->lowest + (granule << w->granule_shift);

		while (i < w->count && block_addr(w, i) + w->blocks[i].size <= start)
			i++;
		w->granule_first[granule] = (uint32_t)i;
	}
}

/* The walk's arrays, kept with the typing's state; only `parent` must
 * start zeroed (the others are written before they are read). Granules
 * of at least 16 bytes, about as many as blocks: a heap's take a block
 * or two each, blocks spread over the address space wider ones. */
static bool arrays(struct walk *w, struct lks_pytypes *types)
{
	uint64_t words = w->count / 64 + 1, room;
	uint64_t *bytes;
	uint32_t *arrays;

	w->granule_shift = 4;
	while (((w->highest - w->lowest) >> w->granule_shift) >= w->count)
		w->granule_shift++;
	w->granules = ((w->highest - w->lowest) >> w->granule_shift) + 1;
	room = words * 8 + (w->count * 3 + w->granules) * sizeof(uint32_t);
	if (!(bytes = lks_pytypes_scratch(types, room)))
		return false;
	w->marks = bytes;
	arrays = (uint32_t *)(bytes + words);
	w->parent = arrays;
	w->via = arrays + w->count;
	w->queue = arrays + 2 * w->count;
	w->granule_first = arrays + 3 * w->count;
	__builtin_memset(w->marks, 0, words * 8);
	__builtin_memset(w->parent, 0, w->count * sizeof(*w->parent));
	index_granules(w);
	return true;
}

/* verbose=1: what the chains cost. */
static void say_cost(const struct walk *w, uint32_t chains, uint64_t started)
{
	struct lks_line line = { .len = 0 };

	lks_line_str(&line, "python retainers: ");
	lks_line_count(&line, chains, " chains, ");
	lks_line_count(&line, w->head, " of ");
	lks_line_count(&line, w->count, " blocks walked, ");
	lks_line_count(&line, (lks_uptime_ns() - started) / 1000, " us");
	lks_say(&line);
}

int lks_py_retainers(struct lks_pytypes *types, const struct lks_py_parts *parts,
                     struct lks_strtab *strings)
{
	uint64_t started = lks_uptime_ns();
	struct walk w = { .kinds = lks_pytypes_kinds(types), .set = lks_pytypes_set(types),
	                  .windows = lks_pytypes_windows(types),
	                  .budget = (uint64_t)lks_opt.python_retain_blocks };
	struct pygrowth *growth = lks_pytypes_growth(types);
	uint32_t chains;

	w.blocks = lks_pytypes_blocks(types, &w.count);
	pick_sites(&w, parts->sites, parts->site_count,
	           parts->to_growth && growth->kept ? growth : NULL);
	if (parts->to_growth)
		pygrowth_keep(growth, parts->sites, parts->site_count);
	if (!w.kinds || !w.count || w.count >= SEED || !w.target_count)
		return 0;  /* no chains: nothing claims there are */
	w.lowest = block_addr(&w, 0);
	w.highest = block_addr(&w, w.count - 1) + w.blocks[w.count - 1].size;
	if (!arrays(&w, types))
		return 0;
	w.flat[0] = type_named(w.set, "str");
	w.flat[1] = type_named(w.set, "bytes");
	w.flat[2] = type_named(w.set, "int");
	w.flat[3] = type_named(w.set, "float");
	w.flat[4] = type_named(w.set, "code");
	w.dict = type_named(w.set, "dict");
	w.windows->pid = getpid();
	seed_modules(&w);
	walk(&w);
	if (w.found)
		find_sys_modules(&w);
	chains = write_chains(&w, parts, strings);
	if (lks_opt.verbose)
		say_cost(&w, chains, started);
	return parts->retainers->failed || parts->pyretainers->failed ||
	       parts->unchained->failed ? -1 : 0;
}
