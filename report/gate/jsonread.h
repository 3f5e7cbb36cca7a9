/* SPDX-License-Identifier: MIT */
/* A small, strict JSON reader for the files leakscope reads back (a JSON
 * report given as --baseline): the whole text into a tree in a pool. */
#ifndef LEAKSCOPE_JSONREAD_H
#define LEAKSCOPE_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "errmsg.h"

struct pool;

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_value {
	enum json_type type;
	bool boolean;
	double number;
	const char *string;         /* JSON_STRING; a \u0000 is refused */
	size_t count;               /* members of an array or object */
	struct json_value *items;   /* array items, object values */
	const char **keys;          /* object keys, parallel to items */
};

/* Parses `size` bytes of `text`, followed by a NUL at text[size], into `*out`, allocated in `pool`. 0, or
 * -EINVAL with "NAME: line L: why" in `err`. */
int json_parse(const char *text, size_t size, const char *name, struct pool *pool,
	       const struct json_value **out, struct errmsg *err);

/* The member `key` of an object, or NULL (also when `object` is not one). */
const struct json_value *json_member(const struct json_value *object, const char *key);

#endif
