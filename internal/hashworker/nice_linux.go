package hashworker

import (
	"os"
	"strconv"
	"syscall"
)

// lowerPriority adds n to the nice value of every thread of this process
// (at most 19). On Linux a nice value belongs to a thread, and a new
// thread takes its creator's: once every thread is lowered, so are the
// threads the Go runtime starts later. A thread started while the loop
// runs is found by the next pass.
func lowerPriority(n int) error {
	if n == 0 {
		return nil
	}
	done := map[int]bool{}
	for {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		lowered := 0
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil || done[tid] {
				continue
			}
			// The system call returns 20 - nice, so that it is never
			// negative.
			raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
			if err != nil {
				continue // the thread ended
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(19, 20-raw+n)); err != nil {
				return err
			}
			done[tid] = true
			lowered++
		}
		if lowered == 0 {
			return nil
		}
	}
}
