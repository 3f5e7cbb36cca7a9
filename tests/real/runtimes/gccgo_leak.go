// SPDX-License-Identifier: MIT
// A gccgo program (split stacks: goroutines start on small segments that
// grow on demand) calling C (gccgo_leak_c.c) from 32 goroutines, deep
// recursions growing their stacks; its runtime's heap, epoll fd and pipe
// stay until exit. With the argument "clean" the C block is freed.
// expect-exit: 5
package main

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

//extern leak_block
func leakBlock(n int32) unsafe.Pointer

//extern free_block
func freeBlock(p unsafe.Pointer)

//extern churn
func churn(n int32) int32

func deep(n int) int {
	var buf [64]byte
	buf[n%64] = byte(n)
	if n == 0 {
		return int(churn(20))
	}
	return deep(n-1) + int(buf[n%64])
}

func main() {
	block := leakBlock(56)
	if len(os.Args) > 1 && os.Args[1] == "clean" {
		freeBlock(block)
	}
	block = nil
	var wg sync.WaitGroup
	results := make([]int, 32)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 20; k++ {
				results[g] += deep(k*50) + int(churn(100))
			}
		}(g)
	}
	wg.Wait()
	fmt.Println(results[0], results[31])
	os.Exit(5)
}
