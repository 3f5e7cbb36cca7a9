/* SPDX-License-Identifier: MIT */
/* Reading JSON (RFC 8259) into a tree. Nothing in the text is trusted:
 * nesting is bounded so that a hostile file cannot exhaust the stack, the
 * number of values by the text's size so that it cannot exhaust memory,
 * and every error names the line it was found on. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "jsonread.h"
#include "pool.h"

#define MAX_DEPTH 64
/* A value costs the tree some 64 bytes. leakscope's own reports spend 20
 * to 30 bytes of text on one; a text of empty objects ("{},{},...") 3,
 * and a 60 MB one took 2.25 GB. At most one value per 8 bytes keeps the
 * tree within about 8 times the text. */
#define BYTES_PER_VALUE 8

struct parser {
	const char *at, *end;
	const char *name;
	unsigned line, depth;
	size_t values, max_values;
	struct pool *pool;
	struct errmsg *err;
};

/* A growing array of parsed members, copied into the pool when complete. */
struct members {
	struct json_value *items;
	const char **keys;
	size_t count, item_capacity, key_capacity;
};

static int parse_value(struct parser *p, struct json_value *out);

#define fail(p, fmt, ...) \
	errmsg_invalid((p)->err, "%s: line %u: " fmt, (p)->name, (p)->line, ##__VA_ARGS__)

static void skip_space(struct parser *p)
{
	while (p->at < p->end && (*p->at == ' ' || *p->at == '\t' ||
				  *p->at == '\n' || *p->at == '\r')) {
		if (*p->at == '\n')
			p->line++;
		p->at++;
	}
}

static bool take(struct parser *p, char c)
{
	skip_space(p);
	if (p->at < p->end && *p->at == c) {
		p->at++;
		return true;
	}
	return false;
}

static bool take_word(struct parser *p, const char *word)
{
	size_t len = strlen(word);

	if ((size_t)(p->end - p->at) < len || memcmp(p->at, word, len) != 0)
		return false;
	p->at += len;
	return true;
}

static int hex4(struct parser *p, uint32_t *out)
{
	*out = 0;
	if (p->end - p->at < 4)
		return fail(p, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = *p->at++;
		uint32_t digit;

		if (c >= '0' && c <= '9')
			digit = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			digit = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			digit = (uint32_t)(c - 'A' + 10);
		else
			return fail(p, "bad \\u escape");
		*out = *out << 4 | digit;
	}
	return 0;
}

/* \uXXXX, with a UTF-16 surrogate pair joined, as UTF-8 into `buf`. */
static int unicode_escape(struct parser *p, char *buf, size_t *len)
{
	uint32_t cp, low;

	if (hex4(p, &cp) < 0)
		return -EINVAL;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (!take_word(p, "\\u") || hex4(p, &low) < 0 || low < 0xdc00 || low > 0xdfff)
			return fail(p, "unpaired UTF-16 surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		return fail(p, "unpaired UTF-16 surrogate");
	}
	if (cp == 0)
		return fail(p, "\\u0000 in a string");
	if (cp < 0x80) {
		buf[(*len)++] = (char)cp;
	} else if (cp < 0x800) {
		buf[(*len)++] = (char)(0xc0 | cp >> 6);
		buf[(*len)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		buf[(*len)++] = (char)(0xe0 | cp >> 12);
		buf[(*len)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		buf[(*len)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		buf[(*len)++] = (char)(0xf0 | cp >> 18);
		buf[(*len)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		buf[(*len)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		buf[(*len)++] = (char)(0x80 | (cp & 0x3f));
	}
	return 0;
}

static int escape(struct parser *p, char *buf, size_t *len)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *which;

	if (p->at >= p->end)
		return fail(p, "unterminated string");
	if (*p->at == 'u') {
		p->at++;
		return unicode_escape(p, buf, len);
	}
	which = *p->at ? strchr(from, *p->at) : NULL;
	if (!which)
		return fail(p, "bad escape '\\%c'", *p->at);
	buf[(*len)++] = to[which - from];
	p->at++;
	return 0;
}

/* Bytes up to the closing quote (or the end of the text): decoding never
 * makes a string longer, so a buffer of that size holds it. */
static size_t quoted_length(const char *at, const char *end)
{
	const char *s = at + 1;

	while (s < end && *s != '"')
		s += *s == '\\' && s + 1 < end ? 2 : 1;
	return (size_t)(s - at);
}

static int parse_string(struct parser *p, const char **out)
{
	char *buf = malloc(quoted_length(p->at, p->end) + 1);
	size_t len = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	p->at++; /* the opening quote */
	while (r == 0) {
		if (p->at >= p->end) {
			r = fail(p, "unterminated string");
		} else if (*p->at == '"') {
			p->at++;
			break;
		} else if (*p->at == '\\') {
			p->at++;
			r = escape(p, buf, &len);
		} else if ((unsigned char)*p->at < 0x20) {
			r = fail(p, "control character in a string");
		} else {
			buf[len++] = *p->at++;
		}
	}
	buf[len] = '\0';
	if (r == 0 && !(*out = pool_intern(p->pool, buf)))
		r = -ENOMEM;
	free(buf);
	return r;
}

static int parse_number(struct parser *p, struct json_value *out)
{
	char text[64];
	size_t len = strspn(p->at, "+-0123456789.eE");
	char *end;

	if (len == 0 || len >= sizeof(text) || len > (size_t)(p->end - p->at))
		return fail(p, "unexpected character '%c'", *p->at);
	memcpy(text, p->at, len);
	text[len] = '\0';
	out->type = JSON_NUMBER;
	out->number = strtod(text, &end);
	if (*end || text[0] == '+')
		return fail(p, "bad number '%s'", text);
	p->at += len;
	return 0;
}

static int add_member(struct members *m, const char *key, const struct json_value *value)
{
	int r = ARRAY_RESERVE(m->items, m->item_capacity, m->count, 1);

	if (r == 0)
		r = ARRAY_RESERVE(m->keys, m->key_capacity, m->count, 1);
	if (r < 0)
		return r;
	m->items[m->count] = *value;
	m->keys[m->count++] = key;
	return 0;
}

static int publish(struct parser *p, struct members *m, struct json_value *out)
{
	out->count = m->count;
	if (m->count == 0)
		return 0;
	out->items = pool_alloc(p->pool, m->count * sizeof(*out->items));
	out->keys = pool_alloc(p->pool, m->count * sizeof(*out->keys));
	if (!out->items || !out->keys)
		return -ENOMEM;
	memcpy(out->items, m->items, m->count * sizeof(*out->items));
	memcpy(out->keys, m->keys, m->count * sizeof(*out->keys));
	return 0;
}

static int parse_member(struct parser *p, bool object, struct members *m)
{
	struct json_value value = { 0 };
	const char *key = NULL;
	int r;

	if (object) {
		skip_space(p);
		if (p->at >= p->end || *p->at != '"')
			return fail(p, "expected a member name");
		r = parse_string(p, &key);
		if (r < 0)
			return r;
		if (!take(p, ':'))
			return fail(p, "expected ':' after a member name");
	}
	r = parse_value(p, &value);
	return r < 0 ? r : add_member(m, key, &value);
}

/* An array or an object: `close` is ']' or '}'. */
static int parse_container(struct parser *p, char close, struct json_value *out)
{
	struct members m = { 0 };
	int r = 0;

	if (++p->depth > MAX_DEPTH)
		return fail(p, "nested deeper than %d levels", MAX_DEPTH);
	p->at++;
	out->type = close == '}' ? JSON_OBJECT : JSON_ARRAY;
	if (!take(p, close)) {
		do
			r = parse_member(p, close == '}', &m);
		while (r == 0 && take(p, ','));
		if (r == 0 && !take(p, close))
			r = fail(p, "expected ',' or '%c'", close);
	}
	if (r == 0)
		r = publish(p, &m, out);
	free(m.items);
	free(m.keys);
	p->depth--;
	return r;
}

static int parse_value(struct parser *p, struct json_value *out)
{
	*out = (struct json_value){ 0 };
	if (++p->values > p->max_values)
		return fail(p, "more than %zu values: leakscope's reports of this size hold "
			    "fewer", p->max_values);
	skip_space(p);
	if (p->at >= p->end)
		return fail(p, "unexpected end of file");
	switch (*p->at) {
	case '{': return parse_container(p, '}', out);
	case '[': return parse_container(p, ']', out);
	case '"':
		out->type = JSON_STRING;
		return parse_string(p, &out->string);
	default: break;
	}
	if (take_word(p, "null"))
		return 0;
	out->type = JSON_BOOL;
	if (take_word(p, "true")) {
		out->boolean = true;
		return 0;
	}
	if (take_word(p, "false"))
		return 0;
	return parse_number(p, out);
}

int json_parse(const char *text, size_t size, const char *name, struct pool *pool,
	       const struct json_value **out, struct errmsg *err)
{
	struct parser p = { .at = text, .end = text + size, .name = name, .line = 1,
			    .max_values = size / BYTES_PER_VALUE + 16, .pool = pool, .err = err };
	struct json_value *root = pool_alloc(pool, sizeof(*root));
	int r;

	if (!root) {
		errmsg_set(err, "%s: out of memory", name);
		return -ENOMEM;
	}
	if (memchr(text, '\0', size))
		return fail(&p, "a NUL byte: not a JSON text");
	r = parse_value(&p, root);
	skip_space(&p);
	if (r == 0 && p.at != p.end)
		r = fail(&p, "text after the end of the JSON value");
	if (r == -ENOMEM)
		errmsg_set(err, "%s: out of memory", name);
	*out = root;
	return r;
}

const struct json_value *json_member(const struct json_value *object, const char *key)
{
	if (!object || object->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < object->count; i++)
		if (strcmp(object->keys[i], key) == 0)
			return &object->items[i];
	return NULL;
}
