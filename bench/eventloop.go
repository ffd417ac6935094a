package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// The open loop's generator is one event loop on an OS thread of its own,
// as wrk2 does it: it writes each request on an idle connection when due
// and reads the answers as epoll reports them, with epoll_pwait2's
// nanosecond timeout as its clock. Before, a scheduler thread wrote and a
// goroutine per connection read; every answer then cost a netpoll wake-up
// and a hand-off between threads, about 50 µs of CPU per request on the
// 2-core machine the server shares, and those wake-ups queued behind the
// server's and Postgres's work and showed up as latency.

// loopConn is one keep-alive connection of the loop, as a raw socket.
type loopConn struct {
	fd     int
	sentAt int64  // scheduled time of the request in flight, unix ns; 0: idle
	buf    []byte // the answer read so far
}

// dialLoop opens a TCP connection to addr as a non-blocking raw socket.
func dialLoop(addr string) (*loopConn, error) {
	tcp, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	sa := &syscall.SockaddrInet4{Port: tcp.Port}
	copy(sa.Addr[:], tcp.IP.To4())
	if err := syscall.Connect(fd, sa); err != nil { // blocking: loopback connects at once
		syscall.Close(fd)
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	// As net.Dial does: an answer must not wait for Nagle.
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return &loopConn{fd: fd, buf: make([]byte, 0, 4096)}, nil
}

// sysEpollPwait2 is epoll_pwait2 (Linux 5.11), the same number on every
// architecture; the syscall package predates it.
const sysEpollPwait2 = 441

// epollWait waits up to d (forever if d < 0) for events on ep. Without
// epoll_pwait2 it falls back to epoll_wait's whole milliseconds and
// sleeps the remainder, waking a little late rather than early.
func epollWait(ep int, events []syscall.EpollEvent, d time.Duration, havePwait2 *bool) (int, error) {
	if *havePwait2 {
		var ts *syscall.Timespec
		if d >= 0 {
			t := syscall.NsecToTimespec(int64(d))
			ts = &t
		}
		// Raw: the loop keeps its P while it waits, so it never queues for
		// one on waking (a signal, such as the runtime's preemption, ends
		// the wait with EINTR and the loop goes round).
		n, _, errno := syscall.RawSyscall6(sysEpollPwait2, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)),
			uintptr(unsafe.Pointer(ts)), 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case syscall.ENOSYS:
			*havePwait2 = false
		default:
			return 0, errno
		}
	}
	ms := -1
	if d >= 0 {
		ms = int(d / time.Millisecond)
	}
	n, err := syscall.EpollWait(ep, events, ms)
	if n == 0 && err == nil && d > 0 && d < time.Millisecond {
		ts := syscall.NsecToTimespec(int64(d))
		syscall.Nanosleep(&ts, nil) //nolint:errcheck // an early wake-up only loops again
		return syscall.EpollWait(ep, events, 0)
	}
	return n, err
}

// openLoop sends request i at start + i/rps whatever happened to earlier
// ones, on a fixed pool of connections with one request in flight each
// (like a router instance's pool). Latency counts from the scheduled time,
// so when the server (or the generator) falls behind, the queueing shows in
// the figures instead of slowing the offered load down (no coordinated
// omission); when every connection is busy the request waits for one and
// that wait counts too.
func openLoop(ctx context.Context, addr string, rps int, d time.Duration, request func(i int64) []byte, check func(status int, body []byte) error) OpenLoopResult {
	total := int64(d) * int64(rps) / int64(time.Second)
	lat := &recorder{d: make([]time.Duration, 0, total)}
	lag := &recorder{d: make([]time.Duration, 0, total)}
	var errs errorLog
	var ok int64
	res := OpenLoopResult{OfferedRPS: rps}

	runtime.LockOSThread() // the loop's blocking waits are this thread's alone
	defer runtime.UnlockOSThread()
	const prSetTimerslack = 29
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0) //nolint:errcheck // best effort: default slack is 50 µs

	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		errs.add(err)
		res.Errors, res.FirstError = errs.n.Load(), errs.first
		return res
	}
	defer syscall.Close(ep)
	conns := map[int]*loopConn{} // by fd
	var idle []*loopConn
	add := func(c *loopConn) error {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
			syscall.Close(c.fd)
			return err
		}
		conns[c.fd] = c
		idle = append(idle, c)
		return nil
	}
	drop := func(c *loopConn) {
		syscall.EpollCtl(ep, syscall.EPOLL_CTL_DEL, c.fd, nil) //nolint:errcheck // closing removes it anyway
		syscall.Close(c.fd)
		delete(conns, c.fd)
	}
	defer func() {
		for _, c := range conns {
			drop(c)
		}
	}()
	// replace swaps a connection that is not in idle for a fresh one.
	replace := func(c *loopConn) {
		drop(c)
		if nc, err := dialLoop(addr); err != nil {
			errs.add(err)
		} else if err := add(nc); err != nil {
			errs.add(err)
		}
	}
	// fail ends a connection's request in error and replaces the connection.
	fail := func(c *loopConn, err error, now int64) {
		if c.sentAt != 0 {
			lat.add(time.Duration(now - c.sentAt))
		}
		errs.add(err)
		replace(c)
	}
	for range openLoopConns {
		c, err := dialLoop(addr)
		if err == nil {
			err = add(c)
		}
		if err != nil {
			errs.add(err)
		}
	}

	events := make([]syscall.EpollEvent, openLoopConns)
	havePwait2 := true
	start := time.Now()
	startNs := start.UnixNano()
	due := func(n int64) int64 { return startNs + n*int64(time.Second)/int64(rps) }
	var next int64 // the next request to send
	inFlight := 0
	drainUntil := int64(0) // after the last send: until when to wait for the last answers
loop:
	for len(conns) > 0 {
		if ctx.Err() != nil && next < total {
			total = next // stop sending; collect what is in flight
		}
		now := time.Now().UnixNano()
		for next < total && due(next) <= now && len(idle) > 0 {
			c := idle[len(idle)-1]
			idle = idle[:len(idle)-1]
			at := due(next)
			lag.add(time.Duration(now - at))
			c.sentAt = at
			next++
			if err := writeAll(c.fd, request(next-1)); err != nil {
				fail(c, err, now)
				continue
			}
			inFlight++
		}
		wait := time.Duration(-1) // every connection busy: until an answer comes
		switch {
		case next < total && len(idle) > 0:
			wait = max(time.Duration(due(next)-time.Now().UnixNano()), 0)
		case next >= total && inFlight == 0:
			break loop
		case next >= total:
			if drainUntil == 0 {
				drainUntil = now + int64(10*time.Second)
			}
			if now >= drainUntil {
				errs.add(fmt.Errorf("%d answers missing 10 s after the last request", inFlight))
				break loop
			}
			wait = time.Duration(drainUntil - now)
		}
		n, err := epollWait(ep, events, wait, &havePwait2)
		if err != nil && err != syscall.EINTR {
			errs.add(err)
			break
		}
		now = time.Now().UnixNano()
		for _, ev := range events[:max(n, 0)] {
			c := conns[int(ev.Fd)]
			if c == nil {
				continue
			}
			status, body, rest, err := c.read()
			switch {
			case err != nil && c.sentAt == 0: // an idle connection closed: replace it quietly
				idle = slices.DeleteFunc(idle, func(x *loopConn) bool { return x == c })
				replace(c)
			case err != nil:
				inFlight--
				fail(c, err, now)
			case rest < 0: // incomplete: wait for more
			default:
				lat.add(time.Duration(now - c.sentAt))
				c.sentAt = 0
				inFlight--
				if err := check(status, body); err != nil {
					errs.add(err)
				} else {
					ok++
				}
				c.buf = c.buf[:copy(c.buf, c.buf[rest:])]
				idle = append(idle, c)
			}
		}
	}
	res.Sent = next
	// The last answers may land after d; a run that kept up counts d.
	elapsed := max(time.Since(start), d).Seconds()
	q := lat.quantiles(0.50, 0.99, 0.999)
	res.Seconds, res.OK, res.Errors, res.FirstError = elapsed, ok, errs.n.Load(), errs.first
	res.AchievedRPS, res.P50, res.P99, res.P999, res.LagP99 = float64(ok)/elapsed, q[0], q[1], q[2], lag.quantiles(0.99)[0]
	return res
}

// writeAll writes a whole request on a non-blocking socket; a request is
// far smaller than a fresh socket buffer, so the loop never waits here.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return errors.New("socket buffer full: the server stopped reading")
		case err != nil:
			return err
		}
		b = b[n:]
	}
	return nil
}

// read takes what the socket has and, once the answer is whole, returns
// its status, its body (valid until the next read) and where the next
// answer starts in c.buf; rest < 0 means the answer is not whole yet.
func (c *loopConn) read() (status int, body []byte, rest int, err error) {
	for {
		if len(c.buf) == cap(c.buf) {
			c.buf = append(c.buf, 0)[:len(c.buf)]
		}
		n, err := syscall.Read(c.fd, c.buf[len(c.buf):cap(c.buf)])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			break
		}
		if err != nil {
			return 0, nil, 0, err
		}
		if n == 0 {
			return 0, nil, 0, errServerClosed
		}
		c.buf = c.buf[:len(c.buf)+n]
		if len(c.buf) < cap(c.buf) {
			break // the socket is drained
		}
	}
	status, body, rest, closing, err := parseAnswer(c.buf)
	if err == nil && rest >= 0 && closing {
		err = errServerClosed
	}
	return status, body, rest, err
}

// errServerClosed is a connection the server closed, after an answer or
// without one.
var errServerClosed = errors.New("the server closed the connection")

// parseAnswer reads one HTTP/1.1 answer from the start of b: its status,
// body and length (rest), or rest = -1 while b holds only part of it.
func parseAnswer(b []byte) (status int, body []byte, rest int, closing bool, err error) {
	head := bytes.Index(b, []byte("\r\n\r\n"))
	if head < 0 {
		return 0, nil, -1, false, nil
	}
	lines := bytes.Split(b[:head], []byte("\r\n"))
	line := lines[0] // "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, 0, false, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, nil, 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for _, h := range lines[1:] {
		name, value, _ := bytes.Cut(h, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, nil, 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	pos := head + 4
	switch {
	case chunked:
		body, rest, err = dechunk(b[pos:])
		if rest >= 0 {
			rest += pos
		}
		return status, body, rest, closing, err
	case length >= 0:
		if len(b)-pos < length {
			return 0, nil, -1, false, nil
		}
		return status, b[pos : pos+length], pos + length, closing, nil
	}
	return 0, nil, 0, false, errors.New("answer with neither Content-Length nor chunked encoding")
}

// dechunk joins a chunked body into a new slice; rest is its encoded
// length, or -1 while incomplete.
func dechunk(b []byte) (body []byte, rest int, err error) {
	var out []byte
	pos := 0
	for {
		eol := bytes.Index(b[pos:], []byte("\r\n"))
		if eol < 0 {
			return nil, -1, nil
		}
		sizeField, _, _ := bytes.Cut(b[pos:pos+eol], []byte(";"))
		size, err := strconv.ParseInt(string(bytes.TrimSpace(sizeField)), 16, 64)
		if err != nil || size < 0 {
			return nil, 0, fmt.Errorf("bad chunk size %q", b[pos:pos+eol])
		}
		pos += eol + 2
		if size == 0 {
			if len(b)-pos < 2 { // the empty trailer line
				return nil, -1, nil
			}
			return out, pos + 2, nil
		}
		if int64(len(b)-pos) < size+2 {
			return nil, -1, nil
		}
		out = append(out, b[pos:pos+int(size)]...)
		pos += int(size) + 2
	}
}
