/* SPDX-License-Identifier: MIT */
/* Writing indented JSON with a fixed member order, shared by every JSON
 * output (report, statistics and diffs, SARIF's strings). */
#include <inttypes.h>

#include "jsonw.h"

/* Length of the valid UTF-8 sequence at s, or 0: overlong forms, UTF-16
 * surrogates and code points above U+10FFFF are not valid. The string's
 * NUL stops every check before it reads past the end. */
static size_t utf8_length(const unsigned char *s)
{
	unsigned char low = 0x80, high = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if (s[0] == 0xe0)
			low = 0xa0;
		if (s[0] == 0xed)
			high = 0x9f;
		return s[1] >= low && s[1] <= high && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if (s[0] == 0xf0)
			low = 0x90;
		if (s[0] == 0xf4)
			high = 0x8f;
		return s[1] >= low && s[1] <= high && (s[2] & 0xc0) == 0x80 &&
		       (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

void out_json_string(FILE *out, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	fputc('"', out);
	while (*s) {
		size_t len = utf8_length(s);

		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else if (*s == '\r')
			fputs("\\r", out);
		else if (*s < 0x20 || *s == 0x7f || len == 0)
			/* a byte that is not UTF-8 becomes the code point of the
			 * same value (reads right for Latin-1 names) */
			fprintf(out, "\\u%04x", *s);
		else
			fwrite(s, 1, len, out);
		s += len ? len : 1;
	}
	fputc('"', out);
}

void jw_member(struct json *j, const char *key)
{
	fprintf(j->out, "%s\n%*s", j->first ? "" : ",", 2 * j->depth, "");
	j->first = false;
	if (key)
		fprintf(j->out, "\"%s\": ", key);
}

void jw_open(struct json *j, const char *key, char bracket)
{
	jw_member(j, key);
	fputc(bracket, j->out);
	j->depth++;
	j->first = true;
}

void jw_close(struct json *j, char bracket)
{
	j->depth--;
	if (!j->first)
		fprintf(j->out, "\n%*s", 2 * j->depth, "");
	fputc(bracket, j->out);
	j->first = false;
}

void jw_uint(struct json *j, const char *key, uint64_t value)
{
	jw_member(j, key);
	fprintf(j->out, "%" PRIu64, value);
}

void jw_int(struct json *j, const char *key, int64_t value)
{
	jw_member(j, key);
	fprintf(j->out, "%" PRId64, value);
}

void jw_bool(struct json *j, const char *key, bool value)
{
	jw_member(j, key);
	fputs(value ? "true" : "false", j->out);
}

/* NULL becomes null: "unknown" is not the same as "". */
void jw_str(struct json *j, const char *key, const char *value)
{
	jw_member(j, key);
	if (value)
		out_json_string(j->out, value);
	else
		fputs("null", j->out);
}

/* Addresses are hex strings: JSON numbers lose precision above 2^53. */
void jw_hex(struct json *j, const char *key, uint64_t value)
{
	jw_member(j, key);
	fprintf(j->out, "\"0x%" PRIx64 "\"", value);
}

/* One rule for every output: a member that is unknown is null, never 0 or
 * "": no symbol, no line information, no module, no address (a statistics
 * key's frame keeps only what the key holds). */
void jw_frame(struct json *j, const struct model_frame *f)
{
	jw_open(j, NULL, '{');
	jw_str(j, "function", f->function);
	jw_str(j, "file", f->file);
	if (f->file && f->line)
		jw_uint(j, "line", f->line);
	else
		jw_str(j, "line", NULL);
	if (f->function_line)
		jw_uint(j, "function_line", f->function_line);
	else
		jw_str(j, "function_line", NULL);
	jw_str(j, "module", f->module);
	if (f->address)
		jw_hex(j, "address", f->address);
	else
		jw_str(j, "address", NULL);
	if (f->module && f->address)
		jw_hex(j, "offset", f->offset);
	else
		jw_str(j, "offset", NULL);
	jw_bool(j, "inlined", f->inlined);
	jw_close(j, '}');
}
