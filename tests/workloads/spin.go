// Spins GOMAXPROCS goroutines for a while: the runtime preempts them (tgkill SIGURG).
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

func main() {
	fmt.Println("procs", runtime.GOMAXPROCS(0), runtime.NumCPU())
	var wg sync.WaitGroup
	stop := time.Now().Add(300 * time.Millisecond)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for time.Now().Before(stop) {
				x++
			}
			_ = x
		}()
	}
	wg.Wait()
}
