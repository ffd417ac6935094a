package main

import (
	"runtime"
	"syscall"
	"time"
)

// preciseSleeper returns a sleep for the open loop's scheduler, which
// must wake every 100 µs at 10,000 rps. Go's time.Sleep can wake up to a
// millisecond late when the runtime waits in epoll (whose timeout is in
// whole milliseconds), and that lateness would count as server latency.
// nanosleep on a thread of its own with 1 ns timer slack wakes within
// tens of microseconds. Call it from the goroutine that will sleep; it
// keeps that goroutine on its thread until done is called, which must be
// before the goroutine ends: a goroutine that ends locked takes its thread
// with it, and a child process started from that thread (the servers,
// with Pdeathsig) would get SIGTERM.
func preciseSleeper() (sleep func(time.Duration), done func()) {
	runtime.LockOSThread()
	const prSetTimerslack = 29
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0) //nolint:errcheck // best effort: default slack is 50 µs
	return func(d time.Duration) {
		ts := syscall.NsecToTimespec(int64(d))
		for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
		}
	}, runtime.UnlockOSThread
}
