/* SPDX-License-Identifier: MIT */
/* The object files the stacks of a report run through, opened once for
 * every process that loaded them: each with its own Dwfl, at its link-time
 * addresses (bias 0), so that a library's debug information is read and
 * decompressed once per report, not once per process. */
#ifndef LEAKSCOPE_IMAGES_H
#define LEAKSCOPE_IMAGES_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>

#include "format.h"
#include "symindex.h"

struct image;
struct addr_memo;
struct pool;

/* Why an image cannot be used; IMAGE_USABLE when it can. */
enum image_problem { IMAGE_USABLE, IMAGE_UNREADABLE, IMAGE_OTHER_BUILD, IMAGE_NOT_FOUND };

/* The image of the module `record` describes, found at `path` or through
 * its build-id; opened at the first call, then shared. NULL when out of
 * memory. */
struct image *image_get(const char *path, const struct lks_module *record);

/* IMAGE_USABLE, or why not: `error` is an errno for IMAGE_UNREADABLE,
 * `detail` libdwfl's message for IMAGE_NOT_FOUND. */
enum image_problem image_problem(const struct image *image, int *error, const char **detail);

/* Its module in its own Dwfl, where addresses are link-time addresses
 * (runtime address - load bias); NULL when it is not usable. */
Dwfl_Module *image_module(const struct image *image);

/* The symbol holding a link-time address; 0, or -ENOMEM. */
int image_symbol(struct image *image, uint64_t vaddr, struct symindex_hit *hit, bool *found);

/* What the image's link-time addresses expanded to, for every process
 * that runs it (addrmemo.h). */
struct addr_memo *image_memo(struct image *image);

/* Where names read from the images are interned: they live until
 * images_release(). NULL (so every intern fails) when out of memory. */
struct pool *images_names(void);

/* Closes every image; the names they gave out are not used any more. */
void images_release(void);

#endif
