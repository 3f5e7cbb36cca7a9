/* SPDX-License-Identifier: MIT */
/* out_json_string: JSON's own escapes, control characters as \u00XX, valid
 * UTF-8 passed through, and every byte that is not part of valid UTF-8
 * (stray continuations, cut sequences, overlong forms, surrogates, code
 * points above U+10FFFF) escaped, so that the output is always valid JSON
 * and valid UTF-8. TAP output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "tap.h"

static char *escaped(const char *text)
{
	char *result = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&result, &size);

	if (!out)
		return NULL;
	out_json_string(out, text);
	fclose(out);
	return result;
}

static void expect(const char *text, const char *want, const char *what)
{
	char *got = escaped(text);

	if (!ok(got && strcmp(got, want) == 0, "%s", what))
		diag("got %s, want %s", got ? got : "(nothing)", want);
	free(got);
}

/* Length of the valid UTF-8 sequence at s, checked the strict way (RFC
 * 3629), or 0; written separately from the escaper's so as not to share
 * its mistakes. */
static size_t strict_utf8(const unsigned char *s)
{
	unsigned code, len;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, code = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, code = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, code = s[0] & 0x07;
	else
		return 0;
	for (unsigned i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		code = code << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && code < 0x80) || (len == 3 && code < 0x800) ||
	    (len == 4 && code < 0x10000) || code > 0x10ffff ||
	    (code >= 0xd800 && code <= 0xdfff))
		return 0;
	return len;
}

/* Quoted, nothing below 0x20 or 0x7f raw, every quote and backslash inside
 * escaped, and the whole valid UTF-8. */
static bool well_formed(const char *json)
{
	const unsigned char *s = (const unsigned char *)json;
	size_t len = strlen(json);

	if (len < 2 || json[0] != '"' || json[len - 1] != '"')
		return false;
	for (size_t i = 1; i + 1 < len;) {
		size_t step = strict_utf8(s + i);

		if (step == 0 || s[i] < 0x20 || s[i] == 0x7f || s[i] == '"')
			return false;
		if (s[i] == '\\')
			step = 2; /* the escaped character is not a string end */
		i += step;
	}
	return true;
}

static void check_every_byte(void)
{
	size_t bad = 0;

	for (unsigned first = 1; first < 256; first++)
		for (unsigned second = 0; second < 256; second += 17) {
			char text[4] = { (char)first, (char)second, 'x', '\0' };
			char *got = escaped(text);

			if (!got || !well_formed(got)) {
				if (bad++ < 3)
					diag("bytes %02x %02x: %s", first, second, got ? got : "?");
			}
			free(got);
		}
	ok(bad == 0, "any two bytes then 'x': quoted, valid UTF-8, nothing raw below 0x20");
}

int main(void)
{
	expect("", "\"\"", "the empty string");
	expect("malloc (leak.c:12)", "\"malloc (leak.c:12)\"", "plain ASCII as is");
	expect("say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"", "quote and backslash");
	expect("a\nb\tc\rd", "\"a\\nb\\tc\\rd\"", "newline, tab, carriage return");
	expect("\x01\x08\x0c\x1f\x7f", "\"\\u0001\\u0008\\u000c\\u001f\\u007f\"",
	       "other control characters and DEL as \\u00XX");
	expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
	       "valid 2-, 3- and 4-byte UTF-8 passed through");
	expect("\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"",
	       "U+FFFF and U+10FFFF passed through");
	expect("a\x80z", "\"a\\u0080z\"", "a stray continuation byte escaped");
	expect("\xff\xfe", "\"\\u00ff\\u00fe\"", "bytes that never occur in UTF-8");
	expect("caf\xe9", "\"caf\\u00e9\"", "a Latin-1 byte reads as its code point");
	expect("\xc3", "\"\\u00c3\"", "a sequence cut by the end of the string");
	expect("\xe2\x82x", "\"\\u00e2\\u0082x\"", "a 3-byte sequence cut short");
	expect("\xc0\xaf\xe0\x80\xaf", "\"\\u00c0\\u00af\\u00e0\\u0080\\u00af\"",
	       "overlong forms escaped byte by byte");
	expect("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"", "a UTF-16 surrogate escaped");
	expect("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"",
	       "a code point above U+10FFFF escaped");
	check_every_byte();
	return tap_done();
}
