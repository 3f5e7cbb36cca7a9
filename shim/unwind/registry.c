/* SPDX-License-Identifier: MIT */
/* The objects whose CFI the walk has used. An object is learned from
 * glibc's _dl_find_object (lock-free and async-signal-safe, unlike
 * dl_iterate_phdr, which takes the loader lock) on the first pc that falls
 * in it, and dropped, with the rows worked out for it, when modules.c sees
 * its dlclose. No lock: slots are claimed with CAS. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>

#include "python/python.h"
#include "shim.h"
#include "unwind.h"

#define MAX_MODULES 1024

enum { SLOT_FREE = 0, SLOT_CLAIMED, SLOT_READY, SLOT_DEAD };

struct slot {
	uint32_t state;        /* atomic */
	bool unreadable;       /* no usable .eh_frame_hdr: no rows */
	struct cfi_module module;
};

static struct slot slots[MAX_MODULES];
static uint32_t slot_count;       /* atomic: slots ever claimed */
static __thread uint32_t last_hit __attribute__((tls_model("initial-exec")));

static bool holds(const struct slot *slot, uint64_t pc)
{
	/* acquire: the module's fields are set before READY */
	return __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) == SLOT_READY &&
	       pc >= slot->module.start && pc < slot->module.end;
}

static struct slot *find(uint64_t pc)
{
	uint32_t count = __atomic_load_n(&slot_count, __ATOMIC_ACQUIRE);

	if (last_hit < count && holds(&slots[last_hit], pc))
		return &slots[last_hit];
	for (uint32_t i = 0; i < count && i < MAX_MODULES; i++)
		if (holds(&slots[i], pc)) {
			last_hit = i;
			return &slots[i];
		}
	return NULL;
}

/* The main program's headers, from the auxiliary vector, when module is
 * the main program: the kernel maps it segment by segment and may leave a
 * gap between two (GNU make on Debian 12), and glibc's _dl_find_object
 * then describes only the segment holding the pc, whose start is no ELF
 * header. The module is the main program when its load bias is the one
 * the headers' own PT_PHDR entry gives. */
static const ElfW(Phdr) *main_program_headers(const struct cfi_module *module,
                                              unsigned *count)
{
	const ElfW(Phdr) *phdr = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	unsigned phnum = (unsigned)getauxval(AT_PHNUM);

	for (unsigned i = 0; phdr && i < phnum; i++)
		if (phdr[i].p_type == PT_PHDR) {
			if ((uint64_t)(uintptr_t)phdr - phdr[i].p_vaddr != module->base)
				return NULL;
			*count = phnum;
			return phdr;
		}
	return NULL;
}

/* Any other object's headers: at the start of its first segment, where
 * the loader mapped them. */
static const ElfW(Phdr) *headers_at_start(const struct cfi_module *module, unsigned *count)
{
	const ElfW(Ehdr) *ehdr = (const ElfW(Ehdr) *)(uintptr_t)module->start;

	if (module->end - module->start < sizeof(*ehdr) ||
	    memcmp(ehdr->e_ident, ELFMAG, SELFMAG) || ehdr->e_ident[EI_CLASS] != ELFCLASS64 ||
	    ehdr->e_phentsize != sizeof(ElfW(Phdr)) ||
	    ehdr->e_phoff + (uint64_t)ehdr->e_phnum * sizeof(ElfW(Phdr)) > 4096)
		return NULL;
	*count = ehdr->e_phnum;
	return (const ElfW(Phdr) *)(uintptr_t)(module->start + ehdr->e_phoff);
}

/* The PT_LOAD segment holding .eh_frame_hdr. An object's own segment must
 * lie inside its mapping; the main program's are mapped as its headers
 * say, gaps or not. */
static bool find_segment(struct cfi_module *module)
{
	uint64_t hdr = (uint64_t)(uintptr_t)module->eh_frame_hdr;
	const ElfW(Phdr) *phdr;
	unsigned count = 0;
	bool main_program;

	if (!hdr)
		return false;
	phdr = main_program_headers(module, &count);
	main_program = phdr != NULL;
	if (!main_program && !(phdr = headers_at_start(module, &count)))
		return false;
	for (unsigned i = 0; i < count; i++) {
		uint64_t lo = module->base + phdr[i].p_vaddr;

		if (phdr[i].p_type == PT_LOAD && hdr >= lo && hdr < lo + phdr[i].p_filesz &&
		    (main_program || (lo >= module->start && lo + phdr[i].p_filesz <= module->end))) {
			module->seg_lo = (const uint8_t *)(uintptr_t)lo;
			module->seg_hi = (const uint8_t *)(uintptr_t)(lo + phdr[i].p_filesz);
			return true;
		}
	}
	return false;
}

static struct slot *claim_slot(void)
{
	uint32_t index;

	for (uint32_t i = 0; i < __atomic_load_n(&slot_count, __ATOMIC_ACQUIRE) &&
	                     i < MAX_MODULES; i++) {
		uint32_t dead = SLOT_DEAD;

		/* relaxed: the READY store publishes what we write next */
		if (__atomic_compare_exchange_n(&slots[i].state, &dead, SLOT_CLAIMED, false,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return &slots[i];
	}
	index = __atomic_fetch_add(&slot_count, 1, __ATOMIC_RELAXED);
	if (index >= MAX_MODULES)
		return NULL;
	__atomic_store_n(&slots[index].state, SLOT_CLAIMED, __ATOMIC_RELAXED);
	return &slots[index];
}

static struct slot *learn(uint64_t pc)
{
	struct dl_find_object found;
	struct slot *slot;

	if (_dl_find_object((void *)(uintptr_t)pc, &found) != 0)
		return NULL;
	slot = claim_slot();
	if (!slot)
		return NULL;
	slot->module = (struct cfi_module){
		.start = (uint64_t)(uintptr_t)found.dlfo_map_start,
		.end = (uint64_t)(uintptr_t)found.dlfo_map_end,
		.base = found.dlfo_link_map ? found.dlfo_link_map->l_addr : 0,
		.eh_frame_hdr = found.dlfo_eh_frame,
	};
	slot->unreadable = !find_segment(&slot->module) || !lks_cfi_read_hdr(&slot->module);
	/* release: the fields above are complete for whoever sees READY */
	__atomic_store_n(&slot->state, SLOT_READY, __ATOMIC_RELEASE);
	if (found.dlfo_link_map)
		lks_py_object_learned(found.dlfo_link_map);  /* a libpython dlopen'd late */
	return slot;
}

const struct cfi_module *lks_cfi_module_of(uint64_t pc)
{
	struct slot *slot = find(pc);

	if (!slot)
		slot = learn(pc);
	return slot && !slot->unreadable ? &slot->module : NULL;
}

/* After a dlclose that unmapped [start, end): a walk never reads an
 * object that is gone, and the range may be reused by another. */
void lks_unwind_forget(uint64_t start, uint64_t end)
{
	uint32_t count = __atomic_load_n(&slot_count, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < count && i < MAX_MODULES; i++) {
		struct slot *slot = &slots[i];
		uint32_t ready = SLOT_READY;

		if (slot->module.start < end && slot->module.end > start)
			__atomic_compare_exchange_n(&slot->state, &ready, SLOT_DEAD, false,
			                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	}
	lks_pc_cache_forget(start, end);  /* every thread's rows and stacks */
}
