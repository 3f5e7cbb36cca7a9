// SPDX-License-Identifier: MIT
// Blocks that only pointers made on purpose into their middle reach, each
// kept by a global: reachable, named by the heuristic, not possibly lost.
// Valgrind 3.19 (default --leak-check-heuristics=all) says the same of
// four: 244 bytes reachable via stdstring, length64, newarray and
// multipleinheritance, 64 possibly lost; it has no heuristic for the end of
// new T[0] and calls those 8 bytes definitely lost. A plain pointer into a
// block's middle stays possible.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "reach_fixture.h"

struct Counted {
	long value;
	~Counted() { escape(this); }  // a destructor: new[] stores the count
};

struct Left {
	virtual ~Left() {}
	long left = 1;
};

struct Right {
	virtual ~Right() {}
	long right = 2;
};

struct Both : Left, Right {
	long both = 3;
};

Counted *g_array;    // new Counted[4]: 8 bytes past the block's start
Counted *g_empty;    // new Counted[0]: one past the block's end
Right *g_right;      // the Right part of a Both: 16 bytes in
char *g_payload;     // 8 bytes into a block whose first word is the rest's length
char *g_chars;       // the characters of an old-ABI std::string's block
char *g_middle;      // the middle of a block: no heuristic

__attribute__((noinline)) static void make_arrays()
{
	g_array = new Counted[4]; // expect-class: fn=make_arrays class=reachable blocks=1 bytes=40 via='new[] cookie'
	g_empty = new Counted[0]; // expect-class: fn=make_arrays class=reachable blocks=1 bytes=8 via='one past the end of new T[0]'
}

__attribute__((noinline)) static void make_object()
{
	g_right = new Both; // expect-class: fn=make_object class=reachable blocks=1 bytes=40 via='multiple inheritance'
}

__attribute__((noinline)) static void make_prefixed()
{
	auto *block = static_cast<uint64_t *>(malloc(8 + 100)); // expect-class: fn=make_prefixed class=reachable blocks=1 bytes=108 via='length prefix'

	block[0] = 100;
	g_payload = reinterpret_cast<char *>(block + 1);
}

// libstdc++'s reference-counted std::string (_GLIBCXX_USE_CXX11_ABI=0)
// allocates length, capacity and a reference count before the characters
// and points at the characters.
__attribute__((noinline)) static void make_string()
{
	const uint64_t capacity = 31;
	auto *rep = static_cast<uint64_t *>(malloc(3 * 8 + capacity + 1)); // expect-class: fn=make_string class=reachable blocks=1 bytes=56 via='std::string'

	rep[0] = 20;
	rep[1] = capacity;
	rep[2] = 0;
	g_chars = reinterpret_cast<char *>(rep + 3);
	memset(g_chars, 'x', 20);
	g_chars[20] = '\0';
}

__attribute__((noinline)) static void make_middle()
{
	char *block = static_cast<char *>(calloc(1, 64)); // expect-class: fn=make_middle class=possible blocks=1 bytes=64

	g_middle = block + 24;
}

int main()
{
	make_arrays();
	make_object();
	make_prefixed();
	make_string();
	make_middle();
	return 0;
}
