// SPDX-License-Identifier: MIT
// A cgo program of Go's own toolchain: C code that mallocs, called from 16
// goroutines while tight Go loops are preempted by SIGURG and the garbage
// collector runs. Go's runtime ends the process by the exit_group system
// call, never exit(): no exit snapshot can be written, and the program
// takes one through leakscope_snapshot() before it exits (unfreed, not
// classified). With the argument "clean" the C block is freed first, with
// "bare" no snapshot is taken, with "cexit" it ends through C's exit().
// expect-exit: 3
package main

/*
#include <stdlib.h>
#include <string.h>

extern int leakscope_snapshot(const char *label) __attribute__((weak));

static void *leak_block(int size)
{
	char *block = malloc((size_t)size); // expect-leak: fn=leak_block blocks=1 bytes=48
	if (block)
		memset(block, 1, (size_t)size);
	return block;
}

static int churn(int count)
{
	int sum = 0;
	for (int i = 0; i < count; i++) {
		char *volatile block = malloc((size_t)(32 + i % 64));
		block[0] = (char)i;
		sum += block[0];
		block = realloc(block, 200);
		free(block);
	}
	return sum;
}

static int take_snapshot(void)
{
	return leakscope_snapshot ? leakscope_snapshot("go-end") : 0;
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// C's exit() while goroutines spin in Go and in C: the exit snapshot is
// written, every thread held for the scan (on its signal stack).
func exitThroughC() {
	for g := 0; g < 8; g++ {
		go func(g int) {
			for {
				C.churn(100)
				x := 0
				for i := 0; i < 100000; i++ {
					x += i ^ g
				}
				runtime.Gosched()
			}
		}(g)
	}
	time.Sleep(50 * time.Millisecond)
	fmt.Println("exit through C")
	C.exit(3)
}

func main() {
	block := C.leak_block(48)
	if len(os.Args) > 1 && os.Args[1] == "clean" {
		C.free(unsafe.Pointer(block))
	}
	var wg sync.WaitGroup
	sums := make([]int, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 40; k++ {
				sums[g] += int(C.churn(500))
				garbage := make([]byte, 1<<14)
				x := 0
				for i := 0; i < 200000; i++ {
					x += i ^ g
				}
				sums[g] += (x + int(garbage[k])) & 1
				runtime.Gosched()
			}
		}(g)
	}
	wg.Wait()
	fmt.Println(sums[0], len(sums))
	if len(os.Args) > 1 && os.Args[1] == "cexit" {
		exitThroughC()
	}
	bare := len(os.Args) > 1 && os.Args[1] == "bare"
	if !bare && C.take_snapshot() != 0 {
		fmt.Fprintln(os.Stderr, "snapshot failed")
	}
	os.Exit(3)
}
