// SPDX-License-Identifier: MIT
// The golden suite's program (regen.sh builds the committed binary `leaks`
// from it): one report entry of each kind. It starts at its own _start,
// without the C runtime's start files, so that every stack ends in this
// file: frames in libc would read differently on every machine.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

// Keeps an allocation the optimizer would drop, without storing the
// pointer anywhere the exit scan could find it.
static inline void escape(void *ptr)
{
	__asm__ volatile("" : : "r"(ptr) : "memory");
}

namespace golden {

struct Node {
	Node *next;
	long value;
};

// Its method is a C++ frame, demangled in the report.
class Registry {
public:
	void add(long value);
	Node *first;
};

__attribute__((noinline)) void Registry::add(long value)
{
	Node *node = static_cast<Node *>(malloc(sizeof(Node))); // indirect: behind a lost registry
	node->value = value;
	node->next = first;
	first = node;
}

} // namespace golden

static char *volatile g_kept;   // still reachable
static char *volatile g_inside; // points into a block's middle only: possibly lost
static volatile long g_nodes = 3; // read at run time: one call site, not three

// Inlined into lose_registry: a frame of its own in the report, marked inlined.
static inline __attribute__((always_inline)) golden::Registry *new_registry(void)
{
	auto *registry = static_cast<golden::Registry *>(malloc(sizeof(golden::Registry))); // definite
	registry->first = nullptr;
	return registry;
}

__attribute__((noinline)) static void lose_registry(void)
{
	golden::Registry *registry = new_registry();

	for (long i = 0; i < g_nodes; i++)
		registry->add(i);
	escape(registry);
}

__attribute__((noinline)) static void keep_buffer(void)
{
	g_kept = static_cast<char *>(malloc(64));
}

__attribute__((noinline)) static void keep_interior(void)
{
	char *text = static_cast<char *>(malloc(100));

	g_inside = text + 40;
}

__attribute__((noinline)) static void leave_open(void)
{
	int fd = open("/dev/null", O_RDONLY); // an open handle

	__asm__ volatile("" : : "r"(fd)); // a call, not a jump: this frame stays
}

// Overwrites the dead stack where exit's frames will be: a pointer left
// there by a returned function would keep a lost block reachable.
__attribute__((noinline)) static void clobber_stack(void)
{
	volatile char junk[16384];

	memset((char *)junk, 0, sizeof(junk));
	escape((void *)junk);
}

int main(void)
{
	lose_registry();
	keep_buffer();
	keep_interior();
	leave_open();
	clobber_stack();
	return 0;
}

// What the C runtime's _start does, less: main, then exit. The CFI says
// the stack ends here.
__asm__(".text\n"
	".globl _start\n"
	".type _start, @function\n"
	"_start:\n"
	".cfi_startproc\n"
	".cfi_undefined rip\n"
	"	xorl %ebp, %ebp\n"
	"	andq $-16, %rsp\n"
	"	call main\n"
	"	movl %eax, %edi\n"
	"	call exit\n"
	"	hlt\n"
	".cfi_endproc\n"
	".size _start, .-_start\n");
