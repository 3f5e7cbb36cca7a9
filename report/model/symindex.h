/* SPDX-License-Identifier: MIT */
/* A module's symbol table sorted by address, for the names of frames and
 * of global variables. libdwfl's own lookup (dwfl_module_addrinfo) reads
 * every symbol for every address: 58,000 symbols in libjvm.so made a JVM's
 * report take seconds. */
#ifndef LEAKSCOPE_SYMINDEX_H
#define LEAKSCOPE_SYMINDEX_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>

struct symindex;

struct symindex_hit {
	const char *name;  /* libelf's string: valid while the Dwfl is */
	uint64_t offset;   /* of the address from the symbol's start */
	uint64_t size;     /* 0 when the symbol has none */
	bool function;
};

/* NULL when out of memory; a module without symbols gives an empty index. */
struct symindex *symindex_build(Dwfl_Module *mod);
void symindex_free(struct symindex *index);

/* The symbol whose extent holds addr (the nearest one starting at or below
 * it), else the nearest sizeless one below it; false when neither. */
bool symindex_find(const struct symindex *index, uint64_t addr, struct symindex_hit *hit);

#endif
