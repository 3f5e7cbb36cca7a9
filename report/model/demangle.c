/* SPDX-License-Identifier: MIT */
/* Demangling through libstdc++'s __cxa_demangle, declared here so that the
 * reporter stays a C program that merely links the C++ runtime. Rust's
 * legacy names are Itanium names with a hash and escapes of their own,
 * undone after it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "demangle.h"

char *__cxa_demangle(const char *mangled, char *buffer, size_t *length,
		     int *status);

/* "::h" and 16 hex digits: the hash rustc ends a legacy name with. */
static bool has_rust_hash(const char *name, size_t len)
{
	const char *hash = name + len - 19;

	if (len < 20 || strncmp(hash, "::h", 3) != 0)
		return false;
	return strspn(hash + 3, "0123456789abcdef") == 16;
}

/* Rust's escapes in legacy names: $LT$ for '<', $u20$ for ' '... */
static const struct {
	const char *escape;
	char plain;
} rust_escapes[] = {
	{ "$SP$", '@' }, { "$BP$", '*' }, { "$RF$", '&' }, { "$LT$", '<' },
	{ "$GT$", '>' }, { "$LP$", '(' }, { "$RP$", ')' }, { "$C$", ',' },
};

static size_t rust_escape(const char *at, char *plain)
{
	for (size_t i = 0; i < sizeof(rust_escapes) / sizeof(*rust_escapes); i++) {
		size_t len = strlen(rust_escapes[i].escape);

		if (!strncmp(at, rust_escapes[i].escape, len)) {
			*plain = rust_escapes[i].plain;
			return len;
		}
	}
	/* $uXX$: the character XX, in hex (printable ASCII only) */
	if (at[1] == 'u' && strspn(at + 2, "0123456789abcdef") == 2 && at[4] == '$') {
		char hex[3] = { at[2], at[3], '\0' };
		long code = strtol(hex, NULL, 16);

		if (code >= 0x20 && code < 0x7f) {
			*plain = (char)code;
			return 5;
		}
	}
	return 0;
}

/* In place: "a::b$LT$T$GT$::h0123456789abcdef" -> "a::b<T>"; ".." is "::"
 * and a component starting "_$" drops the underscore. */
static void rust_legacy(char *name)
{
	size_t len = strlen(name) - 19;
	char *out = name;

	for (size_t i = 0; i < len;) {
		size_t used;

		if (name[i] == '_' && name[i + 1] == '$' && (i == 0 || name[i - 1] == ':')) {
			i++;
		} else if (name[i] == '$' && (used = rust_escape(name + i, out))) {
			out++;
			i += used;
		} else if (name[i] == '.' && name[i + 1] == '.') {
			*out++ = ':';
			*out++ = ':';
			i += 2;
		} else {
			*out++ = name[i++];
		}
	}
	*out = '\0';
}

char *demangle(const char *name)
{
	int status = 0;
	char *readable;

	/* _Z is the Itanium prefix; anything else (C, Rust v0 _R) is left as is */
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	readable = __cxa_demangle(name, NULL, NULL, &status);
	if (status != 0)
		return NULL;
	if (has_rust_hash(readable, strlen(readable)))
		rust_legacy(readable);
	return readable;
}
