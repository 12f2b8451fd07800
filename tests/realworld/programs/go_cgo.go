// A Go program linked with cgo, as most Go programs on a Linux distribution are (net, os/user):
// goroutines on GOMAXPROCS=2 contending on sync.Mutex, a WaitGroup, channels, time.Sleep and a
// call into C. Go's runtime issues its futex calls itself, on goroutine stacks of 2 KiB, and
// requires every signal handler to run on its own signal stacks (SA_ONSTACK): under the old agent
// it died in about half the runs ("bad g status", "unexpected signal during runtime execution").
package main

/*
static int twice(int x) { return 2 * x; }
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

func main() {
	runtime.GOMAXPROCS(2)
	const workers = 64
	const rounds = 2000
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	results := make(chan int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			local := 0
			for i := 0; i < rounds; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
				if i%500 == 0 {
					time.Sleep(100 * time.Microsecond)
				}
				local++
			}
			results <- int(C.twice(C.int(local)))
		}(w)
	}
	// A ping-pong over unbuffered channels, which parks and wakes goroutines across threads.
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	sum := 0
	for i := 0; i < 5000; i++ {
		ping <- i
		sum += <-pong - i
	}
	close(ping)
	wg.Wait()
	close(results)
	total := 0
	for r := range results {
		total += r
	}
	fmt.Printf("counter %d, cgo total %d, ping-pong %d\n", counter, total, sum)
}
