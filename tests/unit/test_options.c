/* SPDX-License-Identifier: MIT */
/* The LEAKSCOPE_OPTIONS parser alone (shim/options.c): separators, every
 * type, ranges from options.inc, a later key winning, and one warning line
 * (on the stderr the process started with) for each value it ignores.
 * Usage: test_options (TAP output) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"
#include "tap.h"

enum {
	OPTION_COUNT = 0
#define LKS_OPTION(name, type, def, min, max, desc) + 1
#include "options.inc"
#undef LKS_OPTION
};

static struct lks_options defaults;
static FILE *said;   /* the file fd 2 points at: what the shim said */
static long said_at;

/* What the shim said since the last call, NUL-terminated. */
static const char *said_since(void)
{
	static char text[8192];
	size_t got;

	fflush(said);
	fseek(said, said_at, SEEK_SET);
	got = fread(text, 1, sizeof(text) - 1, said);
	text[got] = '\0';
	said_at += (long)got;
	return text;
}

/* Parses text from the defaults; true when the shim said exactly `warnings`. */
static bool parse(const char *text, const char *warnings)
{
	const char *got;

	lks_opt = defaults;
	lks_options_parse(text);
	got = said_since();
	if (strcmp(got, warnings)) {
		diag("for '%s' the shim said: %s", text, got);
		return false;
	}
	return true;
}

static void defaults_and_types(void)
{
	ok(lks_opt.enabled && !strcmp(lks_opt.output_dir, ".") && lks_opt.depth == 64 &&
	   lks_opt.summary && !lks_opt.verbose && !lks_opt.help && lks_opt.reach &&
	   lks_opt.snapshot_signal == 0 && lks_opt.interval == 0,
	   "the defaults are options.inc's");
	ok(parse("depth=16:verbose=1 summary=0\treach=no\ninterval=5:output_dir=/tmp/x", "") &&
	   lks_opt.depth == 16 && lks_opt.verbose && !lks_opt.summary && !lks_opt.reach &&
	   lks_opt.interval == 5 && !strcmp(lks_opt.output_dir, "/tmp/x"),
	   "':', blanks, tabs and newlines separate pairs of every type");
	ok(parse("enabled=false", "") && !lks_opt.enabled && parse("enabled=yes", "") &&
	   lks_opt.enabled && parse("help=true:verbose=0", "") && lks_opt.help && !lks_opt.verbose,
	   "booleans take 0/1, true/false, yes/no");
	ok(parse("::depth=8::", "") && lks_opt.depth == 8, "empty pairs are skipped");
	ok(parse("depth=10:depth=20", "") && lks_opt.depth == 20, "a later key wins");
}

static void ignored_values(void)
{
	static char long_text[5000];

	ok(parse("enabled=2", "leakscope: bad value in LEAKSCOPE_OPTIONS: 'enabled' (ignored)\n") &&
	   lks_opt.enabled, "a bad boolean is ignored, with one line");
	ok(parse("depth=12x", "leakscope: bad value in LEAKSCOPE_OPTIONS: 'depth' (ignored)\n") &&
	   lks_opt.depth == 64, "a bad number is ignored");
	ok(parse("depth=0", "leakscope: not in 1..256 in LEAKSCOPE_OPTIONS: 'depth' (ignored)\n") &&
	   lks_opt.depth == 64 && parse("depth=256", "") && lks_opt.depth == 256,
	   "depth's range is options.inc's 1..256");
	ok(parse("depth=16:depth=257",
	         "leakscope: not in 1..256 in LEAKSCOPE_OPTIONS: 'depth' (ignored)\n") &&
	   lks_opt.depth == 16, "a value out of range keeps the one before");
	ok(parse("snapshot_signal=65:interval=-1",
	         "leakscope: not in 0..64 in LEAKSCOPE_OPTIONS: 'snapshot_signal' (ignored)\n"
	         "leakscope: not in 0..1000000000 in LEAKSCOPE_OPTIONS: 'interval' (ignored)\n") &&
	   lks_opt.snapshot_signal == 0 && lks_opt.interval == 0,
	   "every int's range is checked");
	ok(parse("colour=red:verbose",
	         "leakscope: unknown option in LEAKSCOPE_OPTIONS: 'colour' (ignored)\n"
	         "leakscope: missing '=value' in LEAKSCOPE_OPTIONS: 'verbose' (ignored)\n"),
	   "an unknown key and a key without a value are ignored");
	memset(long_text, 'x', sizeof(long_text) - 1);
	memcpy(long_text, "depth=9:", 8);
	ok(parse(long_text, "leakscope: too long in LEAKSCOPE_OPTIONS: 'LEAKSCOPE_OPTIONS' "
	                    "(ignored)\n") && lks_opt.depth == 64,
	   "a text longer than 4095 bytes is ignored whole");
}

static void strings_stay(void)
{
	char text[] = "output_dir=/var/tmp/lks";

	lks_opt = defaults;
	lks_options_parse(text);
	memset(text, 0, sizeof(text));
	ok(!strcmp(lks_opt.output_dir, "/var/tmp/lks"), "a string option outlives its text");
}

static void printing(void)
{
	const char *text;
	int lines = 0;

	parse("depth=16:verbose=1", "");
	lks_options_print_taken();
	ok(!strcmp(said_since(), "leakscope: options: depth=16 verbose=1\n"),
	   "verbose=1 names the options not at their default");
	lks_options_print_help();
	text = said_since();
	for (const char *at = text; (at = strchr(at, '\n')); at++)
		lines++;
	ok(lines == 1 + OPTION_COUNT &&
	   strstr(text, "leakscope:   depth=16 (int 1..256, default 64): stack frames kept per "
	                "allocation\n") &&
	   strstr(text, "leakscope:   output_dir=. (string, default .): "),
	   "help=1 prints a heading and one line per option, with its value in force");
}

int main(void)
{
	char name[] = "/tmp/lks-test-options-XXXXXX";
	int fd = mkstemp(name);

	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		return 99;
	unlink(name);
	said = fdopen(fd, "r");
	defaults = lks_opt;
	defaults_and_types();
	ignored_values();
	strings_stay();
	printing();
	return tap_done();
}
