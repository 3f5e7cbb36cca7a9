/* SPDX-License-Identifier: MIT */
/* An indented JSON writer: members are written in the order of the calls,
 * so golden files and diffs of two reports stay readable. */
#ifndef LEAKSCOPE_JSONW_H
#define LEAKSCOPE_JSONW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

struct json {
	FILE *out;
	int depth;
	bool first; /* no member written yet at this depth */
};

/* `key` NULL: an array element. */
void jw_member(struct json *j, const char *key);
void jw_open(struct json *j, const char *key, char bracket);
void jw_close(struct json *j, char bracket);
void jw_uint(struct json *j, const char *key, uint64_t value);
void jw_int(struct json *j, const char *key, int64_t value);
void jw_bool(struct json *j, const char *key, bool value);
/* NULL becomes null: "unknown" is not the same as "". */
void jw_str(struct json *j, const char *key, const char *value);
/* A JSON string literal for `text`, quotes included: control characters and
 * bytes that are not UTF-8 escaped, valid UTF-8 passed through. */
void out_json_string(FILE *out, const char *text);
/* Addresses are hex strings: JSON numbers lose precision above 2^53. */
void jw_hex(struct json *j, const char *key, uint64_t value);
/* A stack frame as an array element: function, file, line, module,
 * address, offset, inlined (docs/JSON.md), null where unknown. */
void jw_frame(struct json *j, const struct model_frame *frame);

#endif
