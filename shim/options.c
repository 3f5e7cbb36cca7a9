/* SPDX-License-Identifier: MIT */
/* LEAKSCOPE_OPTIONS parsing: "key=value" pairs separated by ':' or blanks,
 * as the sanitizers' *_OPTIONS. Runs before main, so no malloc, no stdio. */
#include <stdlib.h>
#include <string.h>

#include "shim.h"

struct lks_options lks_opt = {
#define LKS_OPTION(name, type, def, desc) .name = def,
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

static void warn_option(const char *what, const char *key)
{
	struct lks_line line = { .len = 0 };

	lks_line_str(&line, what);
	lks_line_str(&line, " in LEAKSCOPE_OPTIONS: '");
	lks_line_str(&line, key);
	lks_line_str(&line, "' (ignored)");
	lks_say(&line);
}

static void apply_pair(char *key, char *value)
{
#define LKS_OPTION(name, type, def, desc)                              \
	if (!strcmp(key, #name)) {                                      \
		if (!parse_value(value, &lks_opt.name))                 \
			warn_option("bad value", key);                  \
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
	if (lks_opt.depth < 1 || lks_opt.depth > 256) {
		warn_option("depth must be 1..256, using 64", "depth");
		lks_opt.depth = 64;
	}
}
