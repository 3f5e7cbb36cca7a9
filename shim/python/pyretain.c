/* SPDX-License-Identifier: MIT */
/* Retainer chains of the 'python-exit' snapshot (docs/PYTHON.md,
 * "Retainers"): from the dicts of the module objects still alive, a
 * breadth-first walk over the blocks the typing read finds the shortest
 * chain of references to a block of each of the largest sites Python code
 * made. A proven object is entered only at its start (a word pointing at
 * its GC header is the collector's list, not a reference) and its GC
 * header is never followed. The program runs on, no thread is stopped:
 * every read goes through process_vm_readv, so a block freed meanwhile is
 * a failed read, never a fault. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../process.h"
#include "python.h"
#include "pyroom.h"
#include "pytypes.h"

#define HEAD_BYTES 48         /* pre-header, GC header, refcount, type */
#define WINDOW (64u << 10)    /* bytes of heap read in one piece */
#define WINDOWS 16            /* pieces per system call */
#define GAP_MAX 1024          /* farther apart, two blocks are read apart */
#define MODULE_NAME_MAX 128
#define MD_DICT 16            /* PyModuleObject, 3.11 to 3.13 */
#define MD_NAME 48
#define SEED UINT32_MAX       /* parent of a module's dict */

struct target {
	uint32_t trace;
	uint32_t block;           /* index + 1 of its nearest block; 0: none */
};

struct window {
	uint64_t first, end;      /* the listed blocks [first, end) */
	uint64_t start, len;      /* the bytes read */
};

struct walk {
	const struct pytype_block *blocks;
	uint64_t count, lowest, highest;
	struct pytype_set *set;
	pid_t pid;
	uint32_t *type;           /* per block: type id, 0 when not an object */
	uint8_t *at;              /* per block: where its object starts */
	uint32_t *parent;         /* index + 1 of the block that reached it first,
	                           * SEED for a module's dict, 0: not reached */
	uint64_t *via;            /* the word that reached it; for a seed, the
	                           * module object's address */
	uint32_t *queue;
	uint64_t head, tail;
	size_t arrays_bytes;
	uint32_t flat[4];         /* str, bytes, int, float: data, no references */
	struct target targets[LKS_RETAIN_CHAINS_MAX];
	uint32_t target_count, found;
	struct window windows[WINDOWS];
	struct iovec local[WINDOWS], remote[WINDOWS];
	uint8_t buffer[WINDOWS][WINDOW];
};

typedef void block_fn(struct walk *w, uint64_t i, const uint8_t *bytes, uint64_t len);

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

/* The block holding addr, or -1. */
static int64_t find(const struct walk *w, uint64_t addr)
{
	uint64_t lo = 0, hi = w->count;

	if (addr < w->lowest || addr >= w->highest)
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

/* The pieces in local/remote read at once; how many came whole (the one
 * after them could not be read: freed since). */
static uint32_t read_pieces(struct walk *w, uint32_t pieces)
{
	long got = syscall(SYS_process_vm_readv, (long)w->pid, w->local, (unsigned long)pieces,
	                   w->remote, (unsigned long)pieces, 0L);
	uint32_t whole = 0;

	for (uint64_t left = got > 0 ? (uint64_t)got : 0;
	     whole < pieces && left >= w->remote[whole].iov_len; whole++)
		left -= w->remote[whole].iov_len;
	return whole;
}

/* ---- which blocks are objects, and of what type ------------------------ */

/* As the typing decides: a live count and a proven type at the offset
 * that type puts its objects at. */
static void classify(struct walk *w, uint64_t i, const uint8_t *head, uint64_t len)
{
	uint32_t at, id = pytype_set_classify(w->set, head, len, w->blocks[i].size, &at);

	if (id) {
		w->type[i] = id;
		w->at[i] = (uint8_t)at;
	}
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

static void reached(struct walk *w, uint32_t parent, uint64_t where, uint64_t value)
{
	int64_t j = find(w, value);

	if (j < 0 || w->parent[j])
		return;
	/* an object only at its start; a buffer anywhere (3.11's split-dict
	 * values are pointed at past a prefix) */
	if (w->type[j] && value != block_addr(w, (uint64_t)j) + w->at[j])
		return;
	w->parent[j] = parent;
	w->via[j] = where;
	w->queue[w->tail++] = (uint32_t)j;
	for (uint32_t t = 0; t < w->target_count; t++)
		if (!w->targets[t].block && w->targets[t].trace == w->blocks[j].trace) {
			w->targets[t].block = (uint32_t)j + 1;
			w->found++;
		}
}

/* The words of block i from `from` on, its GC header left out. */
static void scan(struct walk *w, uint64_t i, const uint8_t *bytes, uint64_t from, uint64_t len)
{
	uint64_t addr = block_addr(w, i), gc_lo = 0, gc_hi = 0;

	for (uint32_t k = 0; k < 4; k++)
		if (w->type[i] && w->type[i] == w->flat[k])
			return;  /* text and numbers that may look like pointers */
	if (w->type[i] && pytype_set_info(w->set, w->type[i])->flags & PYTF_HAVE_GC) {
		gc_lo = addr + w->at[i] - PYT_GC_HEAD;
		gc_hi = addr + w->at[i];
	}
	for (uint64_t off = 0; off + 8 <= len; off += 8) {
		uint64_t where = addr + from + off;

		if (where < gc_lo || where >= gc_hi)
			reached(w, (uint32_t)i + 1, where, word(bytes, off));
	}
}

static void scan_block(struct walk *w, uint64_t i, const uint8_t *bytes, uint64_t len)
{
	scan(w, i, bytes, 0, len);
}

/* A block larger than a window, alone, piece by piece. */
static void scan_large(struct walk *w, uint64_t i)
{
	for (uint64_t from = 0; from < w->blocks[i].size; from += WINDOW) {
		uint64_t len = w->blocks[i].size - from;

		len = len < WINDOW ? len : WINDOW;
		w->local[0] = (struct iovec){ w->buffer[0], len };
		w->remote[0] = (struct iovec){ (void *)(block_addr(w, i) + from), len };
		if (read_pieces(w, 1) != 1)
			return;
		scan(w, i, w->buffer[0], from, len);
	}
}

/* ---- reading listed blocks, in address order --------------------------- */

static uint64_t span(const struct walk *w, uint64_t i, block_fn *fn)
{
	uint64_t size = w->blocks[i].size;

	return fn == scan_block || size < HEAD_BYTES ? size : HEAD_BYTES;
}

/* Listed blocks close together are read as one piece, up to WINDOW. */
static uint64_t plan(const struct walk *w, const uint32_t *list, uint64_t count, uint64_t at,
                     block_fn *fn, struct window *window)
{
	uint64_t start = block_addr(w, list[at]), end = start + span(w, list[at], fn);

	window->first = at;
	for (at++; at < count; at++) {
		uint64_t addr = block_addr(w, list[at]), last = addr + span(w, list[at], fn);

		if (addr > end + GAP_MAX || last - start > WINDOW)
			break;
		end = last > end ? last : end;
	}
	window->end = at;
	window->start = start;
	window->len = end - start;
	return at;
}

static void give_window(struct walk *w, const uint32_t *list, const struct window *window,
                        const uint8_t *bytes, block_fn *fn)
{
	for (uint64_t k = window->first; k < window->end; k++)
		fn(w, list[k], bytes + block_addr(w, list[k]) - window->start,
		   span(w, list[k], fn));
}

/* A piece that could not be read whole (part of it freed since): each of
 * its blocks alone; one that cannot be read is left out. */
static void give_one_by_one(struct walk *w, const uint32_t *list, const struct window *window,
                            block_fn *fn)
{
	for (uint64_t k = window->first; k < window->end; k++) {
		uint64_t len = span(w, list[k], fn);

		w->local[0] = (struct iovec){ w->buffer[0], len };
		w->remote[0] = (struct iovec){ (void *)block_addr(w, list[k]), len };
		if (read_pieces(w, 1) == 1)
			fn(w, list[k], w->buffer[0], len);
	}
}

/* fn for each listed block (by ascending address) with its bytes: its
 * head, or all of it for scan_block. Up to WINDOWS pieces per call. */
static void read_listed(struct walk *w, const uint32_t *list, uint64_t count, block_fn *fn)
{
	uint64_t at = 0;

	while (at < count) {
		uint32_t planned = 0, done;

		if (span(w, list[at], fn) > WINDOW) {
			scan_large(w, list[at++]);
			continue;
		}
		for (uint64_t next = at; planned < WINDOWS && next < count &&
		     span(w, list[next], fn) <= WINDOW; planned++) {
			struct window *window = &w->windows[planned];

			next = plan(w, list, count, next, fn, window);
			w->local[planned] = (struct iovec){ w->buffer[planned], window->len };
			w->remote[planned] = (struct iovec){ (void *)window->start, window->len };
		}
		done = read_pieces(w, planned);
		for (uint32_t k = 0; k < done; k++)
			give_window(w, list, &w->windows[k], w->buffer[k], fn);
		if (done < planned)
			give_one_by_one(w, list, &w->windows[done++], fn);
		at = done < planned ? w->windows[done].first : w->windows[planned - 1].end;
	}
}

/* ---- the walk ------------------------------------------------------------ */

/* Block indices ascending, so addresses are (heapsort: no recursion, no
 * memory). */
static void sift(uint32_t *list, uint64_t at, uint64_t count)
{
	for (uint64_t child; (child = 2 * at + 1) < count; at = child) {
		uint32_t kept = list[at];

		if (child + 1 < count && list[child + 1] > list[child])
			child++;
		if (kept >= list[child])
			return;
		list[at] = list[child];
		list[child] = kept;
	}
}

static void sort_indices(uint32_t *list, uint64_t count)
{
	for (uint64_t at = count / 2; at-- > 0; )
		sift(list, at, count);
	for (uint64_t end = count; end-- > 1; ) {
		uint32_t top = list[0];

		list[0] = list[end];
		list[end] = top;
		sift(list, 0, end);
	}
}

/* Breadth first, one level at a time: a level's blocks are read in
 * address order, where the heap's blocks lie close together. */
static void walk(struct walk *w)
{
	while (w->head < w->tail && w->found < w->target_count) {
		uint64_t level_end = w->tail;

		sort_indices(w->queue + w->head, level_end - w->head);
		read_listed(w, w->queue + w->head, level_end - w->head, scan_block);
		w->head = level_end;
	}
}

/* Every block typed first, all in address order. */
static void type_blocks(struct walk *w)
{
	for (uint64_t i = 0; i < w->count; i++)
		w->queue[i] = (uint32_t)i;
	read_listed(w, w->queue, w->count, classify);
	__builtin_memset(w->queue, 0, w->count * sizeof(*w->queue));
}

/* Every live module object's dict starts the walk. */
static void seed_modules(struct walk *w)
{
	uint32_t module = type_named(w->set, "module"), dict = type_named(w->set, "dict");

	for (uint64_t i = 0; module && dict && i < w->count; i++) {
		uint64_t object = block_addr(w, i) + w->at[i], md_dict;
		int64_t j;

		if (w->type[i] != module || !lks_py_peek(&md_dict, object + MD_DICT, 8))
			continue;
		j = find(w, md_dict);
		if (j < 0 || w->type[j] != dict || md_dict != block_addr(w, (uint64_t)j) + w->at[j] ||
		    w->parent[j])
			continue;
		w->parent[j] = SEED;
		w->via[j] = object;
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

/* The largest sites with a Python frame in their stack, largest first. */
static void pick_sites(struct walk *w, const struct lks_site *sites, size_t count)
{
	const struct lks_site *chosen[LKS_RETAIN_CHAINS_MAX];
	uint32_t n = 0;

	for (size_t i = 0; i < count; i++) {
		uint32_t at = n;

		if (n == LKS_RETAIN_CHAINS_MAX && chosen[n - 1]->bytes >= sites[i].bytes)
			continue;
		if (!made_by_python(sites[i].trace))
			continue;
		for (; at > 0 && chosen[at - 1]->bytes < sites[i].bytes; at--)
			if (at < LKS_RETAIN_CHAINS_MAX)
				chosen[at] = chosen[at - 1];
		if (at < LKS_RETAIN_CHAINS_MAX)
			chosen[at] = &sites[i];
		n += n < LKS_RETAIN_CHAINS_MAX;
	}
	for (uint32_t i = 0; i < n; i++)
		w->targets[w->target_count++] = (struct target){ .trace = chosen[i]->trace };
}

/* md_name, when it is a compact ASCII str; "" otherwise. */
static void module_name(uint64_t module, char *name)
{
	const struct lks_py_layout *lay = &lks_pyrt.layout;
	uint64_t str, type, length;
	uint32_t state;

	name[0] = '\0';
	if (!lks_py_peek(&str, module + MD_NAME, 8) || !lks_py_plausible(str) ||
	    !lks_py_peek(&type, str + LKS_PY_OB_TYPE, 8) || type != lks_pyrt.str_type ||
	    !lks_py_peek(&state, str + lay->str_state, 4) ||
	    !lks_py_peek(&length, str + lay->str_length, 8) || (state & 0x60) != 0x60 ||
	    length >= MODULE_NAME_MAX || !lks_py_peek(name, str + lay->str_ascii_data, length))
		return;
	name[length] = '\0';
}

static void python_step(struct walk *w, uint32_t step, uint64_t block, uint64_t module,
                        struct lks_buf *pysteps, struct lks_strtab *strings)
{
	struct lks_pyretainer record = { .step = step };
	char name[MODULE_NAME_MAX];

	if (module) {
		module_name(module, name);
		record.module = lks_strtab_add(strings, name);
	} else if (w->type[block]) {
		record.type = lks_strtab_add(strings, (const char *)w->set->names.bytes +
		                                      pytype_set_info(w->set, w->type[block])->name_at);
	} else {
		return;
	}
	lks_buf_append(pysteps, &record, sizeof(record));
}

static void write_chain(struct walk *w, uint32_t chain, uint32_t target, struct lks_buf *steps,
                        struct lks_buf *pysteps, struct lks_strtab *strings)
{
	uint32_t path[LKS_RETAIN_BLOCKS_MAX], depth = 0, at = target;
	struct lks_retainer_step step;

	for (; depth < LKS_RETAIN_BLOCKS_MAX; at = w->parent[at] - 1) {
		path[depth++] = at;
		if (w->parent[at] == SEED)
			break;
	}
	if (w->parent[at] != SEED)
		return;  /* too long to show whole: no chain rather than half a one */
	step = (struct lks_retainer_step){ .chain = chain, .kind = LKS_RK_PYMODULE,
	                                   .addr = w->via[at] };
	python_step(w, (uint32_t)(steps->len / sizeof(step)), 0, w->via[at], pysteps, strings);
	lks_buf_append(steps, &step, sizeof(step));
	for (uint32_t i = depth; i-- > 0; ) {
		step = (struct lks_retainer_step){ .chain = chain, .kind = LKS_RK_BLOCK,
			.addr = block_addr(w, path[i]), .trace = w->blocks[path[i]].trace,
			.size = w->blocks[path[i]].size };
		if (i > 0)
			step.offset = w->via[path[i - 1]] - step.addr;
		python_step(w, (uint32_t)(steps->len / sizeof(step)), path[i], 0, pysteps, strings);
		lks_buf_append(steps, &step, sizeof(step));
	}
}

static bool map_arrays(struct walk *w)
{
	uint64_t count = w->count;

	w->arrays_bytes = count * (sizeof(*w->type) + sizeof(*w->at) + sizeof(*w->parent) +
	                           sizeof(*w->via) + sizeof(*w->queue));
	w->via = lks_map(w->arrays_bytes);
	if (!w->via)
		return false;
	w->type = (uint32_t *)(w->via + count);
	w->parent = w->type + count;
	w->queue = w->parent + count;
	w->at = (uint8_t *)(w->queue + count);
	return true;
}

/* verbose=1: what the chains cost. */
static void say_cost(const struct walk *w, uint32_t chains, uint64_t started)
{
	struct lks_line line = { .len = 0 };

	lks_line_str(&line, "python-exit retainers: ");
	lks_line_count(&line, chains, " chains, ");
	lks_line_count(&line, w->tail, " of ");
	lks_line_count(&line, w->count, " blocks walked, ");
	lks_line_count(&line, (lks_uptime_ns() - started) / 1000, " us");
	lks_say(&line);
}

int lks_py_retainers(struct lks_pytypes *types, const struct lks_site *sites, size_t count,
                     struct lks_buf *steps, struct lks_buf *pysteps,
                     struct lks_strtab *strings)
{
	uint64_t started = lks_uptime_ns();
	struct walk *w = lks_map(sizeof(*w));
	uint32_t chain = 0;

	if (!w)
		return 0;  /* no chains: nothing claims there are */
	w->blocks = lks_pytypes_blocks(types, &w->count);
	w->set = lks_pytypes_set(types);
	w->pid = getpid();
	pick_sites(w, sites, count);
	if (w->count && w->count < SEED && w->target_count && map_arrays(w)) {
		w->lowest = block_addr(w, 0);
		w->highest = block_addr(w, w->count - 1) + w->blocks[w->count - 1].size;
		type_blocks(w);
		w->flat[0] = type_named(w->set, "str");
		w->flat[1] = type_named(w->set, "bytes");
		w->flat[2] = type_named(w->set, "int");
		w->flat[3] = type_named(w->set, "float");
		seed_modules(w);
		walk(w);
		for (uint32_t t = 0; t < w->target_count; t++)
			if (w->targets[t].block)
				write_chain(w, chain++, w->targets[t].block - 1, steps, pysteps,
				            strings);
		lks_unmap(w->via, w->arrays_bytes);
		if (lks_opt.verbose)
			say_cost(w, chain, started);
	}
	lks_unmap(w, sizeof(*w));
	return steps->failed || pysteps->failed ? -1 : 0;
}
