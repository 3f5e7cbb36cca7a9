/* SPDX-License-Identifier: MIT */
/* Shared by pyretain.c only: the names a retainer chain's steps are known
 * by in Python, read from the program's dicts and strs with lks_py_peek. */
#ifndef LEAKSCOPE_SHIM_PYNAMES_H
#define LEAKSCOPE_SHIM_PYNAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PYN_TEXT_MAX 128          /* bytes of a name kept, its NUL included */
#define PYN_MA_KEYS 32            /* PyDictObject.ma_keys, 3.11 to 3.13 */

/* The text of the compact ASCII str at `str` (an exact str), into
 * text[PYN_TEXT_MAX]; false (text "") for anything else. */
bool lks_pyname_str(uint64_t str, char *text);
/* The str key of the combined dict object at `dict` whose value slot is
 * at `slot` (a pointer into its keys block); false when `slot` is not a
 * value slot of that dict or the key is not such a str. */
bool lks_pyname_key_at(uint64_t dict, uint64_t slot, char *text);
/* The first str key under which the dict object at `dict` holds `value`. */
bool lks_pyname_key_of(uint64_t dict, uint64_t value, char *text);
/* The value the dict object at `dict` holds under the str key `key`; 0
 * when it holds none (or cannot be read). */
uint64_t lks_pyname_get(uint64_t dict, const char *key);

#endif
