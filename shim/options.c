/* SPDX-License-Identifier: MIT */
/* LEAKSCOPE_OPTIONS parsing: "key=value" pairs separated by ':' or blanks,
 * as the sanitizers' *_OPTIONS. Runs before main, so no malloc, no stdio. */
#include <stdlib.h>
#include <string.h>

#include "shim.h"

struct lks_options lks_opt = {
#define LKS_OPTION(name, type, def, min, max, desc) .name = def,
#include "options.inc"
#undef LKS_OPTION
};

/* String options point into this copy of the environment variable, so they
 * stay valid whatever the program later does to its environment. */
static char option_text[4096];

static bool parse_bool(const char *value, bool *out)
{
	if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes"))
		*out = true;
	else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no"))
		*out = false;
	else
		return false;
	return true;
}

static bool parse_int(const char *value, int *out)
{
	char *end;
	long number = strtol(value, &end, 10);

	if (end == value || *end || number < -1000000000L || number > 1000000000L)
		return false;
	*out = (int)number;
	return true;
}

static bool parse_string(char *value, const char **out)
{
	*out = value;
	return true;
}

#define parse_value(value, field)                                   \
	_Generic((field), bool *: parse_bool, int *: parse_int,         \
	         const char **: parse_string)((value), (field))

static bool int_in_range(int value, long min, long max)
{
	return value >= min && value <= max;
}

static bool any_in_range(bool value, long min, long max)
{
	return true;  /* a bool parses to 0 or 1 only */
}

/* For a string, min is its least length: an empty output_dir would be the
 * root directory. */
static bool string_in_range(const char *value, long min, long max)
{
	return (long)strlen(value) >= min;
}

#define in_range(value, min, max)                                   \
	_Generic((value), int: int_in_range, bool: any_in_range,        \
	         const char *: string_in_range)((value), (min), (max))

static void append_signed(struct lks_line *line, long value)
{
	if (value < 0)
		lks_line_str(line, "-");
	lks_line_u64(line, value < 0 ? (uint64_t)-value : (uint64_t)value);
}

static void append_bool(struct lks_line *line, bool value)
{
	lks_line_str(line, value ? "1" : "0");
}

#define append_value(line, value)                                   \
	_Generic((value), int: append_signed, bool: append_bool,        \
	         const char *: lks_line_str)((line), (value))

static bool same_int(int a, int b)
{
	return a == b;
}

static bool same_bool(bool a, bool b)
{
	return a == b;
}

static bool same_string(const char *a, const char *b)
{
	return !strcmp(a, b);
}

#define same_value(a, b)                                            \
	_Generic((a), int: same_int, bool: same_bool,                   \
	         const char *: same_string)((a), (b))

/* "WHAT in LEAKSCOPE_OPTIONS: 'KEY' (ignored)" */
static void warn_option(const char *what, const char *key)
{
	struct lks_line line = { .len = 0 };

	lks_line_str(&line, what);
	lks_line_str(&line, " in LEAKSCOPE_OPTIONS: '");
	lks_line_str(&line, key);
	lks_line_str(&line, "' (ignored)");
	lks_say(&line);
}

static void warn_range(const char *key, long min, long max)
{
	struct lks_line what = { .len = 0 };

	if (min > max) {  /* a string too short: min is its least length */
		warn_option(min == 1 ? "empty value" : "value too short", key);
		return;
	}

	lks_line_str(&what, "not in ");
	append_signed(&what, min);
	lks_line_str(&what, "..");
	append_signed(&what, max);
	what.text[what.len] = '\0';
	warn_option(what.text, key);
}

/* A value that does not parse or is out of range leaves the option as it
 * was (its default, or an earlier pair's value). */
static void apply_pair(char *key, char *value)
{
#define LKS_OPTION(name, type, def, min, max, desc)                     \
	if (!strcmp(key, #name)) {                                      \
		type parsed;                                            \
		if (!parse_value(value, &parsed))                       \
			warn_option("bad value", key);                  \
		else if (!in_range(parsed, min, max))                   \
			warn_range(key, min, max);                      \
		else                                                    \
			lks_opt.name = parsed;                          \
		return;                                                 \
	}
#include "options.inc"
#undef LKS_OPTION
	warn_option("unknown option", key);
}

static bool is_separator(char c)
{
	return c == ':' || c == ' ' || c == '\t' || c == '\n';
}

void lks_options_parse(const char *text)
{
	size_t len = strlen(text);
	char *cursor = option_text;

	if (len >= sizeof(option_text)) {
		warn_option("too long", "LEAKSCOPE_OPTIONS");
		return;
	}
	memcpy(option_text, text, len + 1);
	while (*cursor) {
		char *key = cursor, *value;

		while (*cursor && !is_separator(*cursor))
			cursor++;
		if (*cursor)
			*cursor++ = '\0';
		if (!*key)
			continue;
		value = strchr(key, '=');
		if (!value) {
			warn_option("missing '=value'", key);
			continue;
		}
		*value++ = '\0';
		apply_pair(key, value);
	}
}

#define type_name(value) _Generic((value), int: "int", bool: "bool", const char *: "string")

/* One line per option: "  depth=64 (int 1..256, default 64): what it is" */
void lks_options_print_help(void)
{
	struct lks_line line = { .len = 0 };

	lks_line_str(&line, "LEAKSCOPE_OPTIONS: key=value pairs separated by ':'");
	lks_say(&line);
#define LKS_OPTION(name, type, def, min, max, desc)                     \
	line.len = 0;                                                   \
	lks_line_str(&line, "  " #name "=");                            \
	append_value(&line, lks_opt.name);                              \
	lks_line_str(&line, " (");                                      \
	lks_line_str(&line, type_name(lks_opt.name));                   \
	if (_Generic(lks_opt.name, int: true, default: false)) {        \
		lks_line_str(&line, " ");                               \
		append_signed(&line, min);                              \
		lks_line_str(&line, "..");                              \
		append_signed(&line, max);                              \
	}                                                               \
	lks_line_str(&line, ", default ");                              \
	append_value(&line, (type)(def));                               \
	lks_line_str(&line, "): " desc);                                \
	lks_say(&line);
#include "options.inc"
#undef LKS_OPTION
}

/* "options: depth=16 verbose=1": every option not at its default. */
void lks_options_print_taken(void)
{
	struct lks_line line = { .len = 0 };
	size_t empty;

	lks_line_str(&line, "options:");
	empty = line.len;
#define LKS_OPTION(name, type, def, min, max, desc)                     \
	if (!same_value(lks_opt.name, (type)(def))) {                   \
		lks_line_str(&line, " " #name "=");                     \
		append_value(&line, lks_opt.name);                      \
	}
#include "options.inc"
#undef LKS_OPTION
	if (line.len == empty)
		lks_line_str(&line, " all at their defaults");
	lks_say(&line);
}
