/* SPDX-License-Identifier: MIT */
/* The baseline's JSON reader: values, escapes (surrogate pairs joined into
 * UTF-8), and each malformed text refused with its line, including nesting
 * deep enough to exhaust the stack of a naive reader. TAP output. */
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"
#include "pool.h"
#include "tap.h"

static int parse(const char *text, struct pool *pool, const struct json_value **out,
		 struct errmsg *err)
{
	return json_parse(text, strlen(text), "t.json", pool, out, err);
}

static void good_values(struct pool *pool)
{
	const struct json_value *root, *list, *name;
	struct errmsg err = { "" };
	int r = parse("{\"a\": [1, -2.5e1, true, false, null],\n"
		      " \"name\": \"x\\\"\\u00e9\\ud83d\\ude00\\n\", \"empty\": {}}",
		      pool, &root, &err);

	if (!ok(r == 0, "a valid object parses") || !ok(root->type == JSON_OBJECT, "object")) {
		diag("%s", err.text);
		return;
	}
	list = json_member(root, "a");
	ok(list && list->type == JSON_ARRAY && list->count == 5, "array of 5");
	ok(list->items[0].number == 1 && list->items[1].number == -25, "numbers");
	ok(list->items[2].boolean && list->items[2].type == JSON_BOOL &&
	   !list->items[3].boolean && list->items[4].type == JSON_NULL, "true false null");
	name = json_member(root, "name");
	ok(name && !strcmp(name->string, "x\"\xc3\xa9\xf0\x9f\x98\x80\n"),
	   "escapes, \\u00e9 and a surrogate pair as UTF-8");
	ok(json_member(root, "empty")->count == 0, "empty object");
	ok(json_member(root, "missing") == NULL && json_member(list, "a") == NULL,
	   "json_member of a missing key or a non-object is NULL");
}

static void bad_text(struct pool *pool, const char *text, const char *want)
{
	const struct json_value *root;
	struct errmsg err = { "" };

	if (!ok(parse(text, pool, &root, &err) < 0 && strstr(err.text, want),
		"refused with '%s'", want))
		diag("got '%s'", err.text);
}

int main(void)
{
	struct pool *pool = pool_new();
	char *deep = malloc(100001);

	good_values(pool);
	bad_text(pool, "", "line 1: unexpected end");
	bad_text(pool, "{\"a\":\n1,\n}", "line 3: expected a member name");
	bad_text(pool, "[1 2]", "expected ',' or ']'");
	bad_text(pool, "\"\\ud800\"", "unpaired UTF-16 surrogate");
	bad_text(pool, "\"\\u0000\"", "\\u0000");
	bad_text(pool, "\"a\tb\"", "control character");
	bad_text(pool, "\"abc", "unterminated string");
	bad_text(pool, "{} x", "text after the end");
	bad_text(pool, "+1", "bad number");
	bad_text(pool, "nul", "unexpected character");
	memset(deep, '[', 100000);
	deep[100000] = '\0';
	bad_text(pool, deep, "nested deeper than 64 levels");
	free(deep);
	pool_free(pool);
	return tap_done();
}
