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

// loopTarget is one server the open loop offers load to: a fixed pool of
// connections with one request in flight each (like a router instance's
// pool), kept open from one slice of a measurement to the next, and the
// figures of every slice run on it so far.
type loopTarget struct {
	addr    string
	request func(i int64) []byte
	check   func(status int, body []byte) error

	ep         int
	conns      map[int]*loopConn // by fd
	idle       []*loopConn
	events     []syscall.EpollEvent
	havePwait2 bool

	lat, lag *recorder
	errs     *errorLog
	sent, ok int64
	seconds  float64
}

// newLoopTarget dials the pool; what fails is counted as errors.
func newLoopTarget(addr string, request func(i int64) []byte, check func(status int, body []byte) error) *loopTarget {
	t := &loopTarget{addr: addr, request: request, check: check, ep: -1, conns: map[int]*loopConn{},
		events: make([]syscall.EpollEvent, openLoopConns), havePwait2: true}
	t.reset()
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		t.errs.add(err)
		return t
	}
	t.ep = ep
	for range openLoopConns {
		c, err := dialLoop(addr)
		if err == nil {
			err = t.add(c)
		}
		if err != nil {
			t.errs.add(err)
		}
	}
	return t
}

// reset forgets the figures so far (after a warm-up); the connections stay.
func (t *loopTarget) reset() {
	t.lat, t.lag, t.errs = &recorder{}, &recorder{}, &errorLog{}
	t.sent, t.ok, t.seconds = 0, 0, 0
}

func (t *loopTarget) close() {
	for _, c := range t.conns {
		t.drop(c)
	}
	if t.ep >= 0 {
		syscall.Close(t.ep)
	}
}

func (t *loopTarget) add(c *loopConn) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
	if err := syscall.EpollCtl(t.ep, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		syscall.Close(c.fd)
		return err
	}
	t.conns[c.fd] = c
	t.idle = append(t.idle, c)
	return nil
}

func (t *loopTarget) drop(c *loopConn) {
	syscall.EpollCtl(t.ep, syscall.EPOLL_CTL_DEL, c.fd, nil) //nolint:errcheck // closing removes it anyway
	syscall.Close(c.fd)
	delete(t.conns, c.fd)
}

// replace swaps a connection that is not in idle for a fresh one.
func (t *loopTarget) replace(c *loopConn) {
	t.drop(c)
	if nc, err := dialLoop(t.addr); err != nil {
		t.errs.add(err)
	} else if err := t.add(nc); err != nil {
		t.errs.add(err)
	}
}

// fail ends a connection's request in error and replaces the connection.
func (t *loopTarget) fail(c *loopConn, err error, now int64) {
	if c.sentAt != 0 {
		t.lat.add(time.Duration(now - c.sentAt))
	}
	t.errs.add(err)
	t.replace(c)
}

// result is the figures of every slice so far at rps offered.
func (t *loopTarget) result(rps int) OpenLoopResult {
	q := t.lat.quantiles(0.50, 0.99, 0.999)
	res := OpenLoopResult{OfferedRPS: rps, Seconds: t.seconds, Sent: t.sent, OK: t.ok, Errors: t.errs.n.Load(), FirstError: t.errs.first,
		P50: q[0], P99: q[1], P999: q[2], LagP99: t.lag.quantiles(0.99)[0]}
	if t.seconds > 0 {
		res.AchievedRPS = float64(t.ok) / t.seconds
	}
	return res
}

// run sends request i at start + i/rps whatever happened to earlier ones,
// for d, then waits for the answers in flight. Latency counts from the
// scheduled time, so when the server (or the generator) falls behind, the
// queueing shows in the figures instead of slowing the offered load down
// (no coordinated omission); when every connection is busy the request
// waits for one and that wait counts too.
func (t *loopTarget) run(ctx context.Context, rps int, d time.Duration) {
	total := int64(d) * int64(rps) / int64(time.Second)
	t.lat.grow(int(total))
	t.lag.grow(int(total))

	runtime.LockOSThread() // the loop's blocking waits are this thread's alone
	defer runtime.UnlockOSThread()
	const prSetTimerslack = 29
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0) //nolint:errcheck // best effort: default slack is 50 µs

	start := time.Now()
	startNs := start.UnixNano()
	due := func(n int64) int64 { return startNs + n*int64(time.Second)/int64(rps) }
	var next int64 // the next request to send
	inFlight := 0
	drainUntil := int64(0) // after the last send: until when to wait for the last answers
loop:
	for len(t.conns) > 0 {
		if ctx.Err() != nil && next < total {
			total = next // stop sending; collect what is in flight
		}
		now := time.Now().UnixNano()
		for next < total && due(next) <= now && len(t.idle) > 0 {
			c := t.idle[len(t.idle)-1]
			t.idle = t.idle[:len(t.idle)-1]
			at := due(next)
			t.lag.add(time.Duration(now - at))
			c.sentAt = at
			next++
			if err := writeAll(c.fd, t.request(t.sent+next-1)); err != nil {
				t.fail(c, err, now)
				continue
			}
			inFlight++
		}
		wait := time.Duration(-1) // every connection busy: until an answer comes
		switch {
		case next < total && len(t.idle) > 0:
			wait = max(time.Duration(due(next)-time.Now().UnixNano()), 0)
		case next >= total && inFlight == 0:
			break loop
		case next >= total:
			if drainUntil == 0 {
				drainUntil = now + int64(10*time.Second)
			}
			if now >= drainUntil {
				t.errs.add(fmt.Errorf("%d answers missing 10 s after the last request", inFlight))
				break loop
			}
			wait = time.Duration(drainUntil - now)
		}
		n, err := epollWait(t.ep, t.events, wait, &t.havePwait2)
		if err != nil && err != syscall.EINTR {
			t.errs.add(err)
			break
		}
		now = time.Now().UnixNano()
		for _, ev := range t.events[:max(n, 0)] {
			c := t.conns[int(ev.Fd)]
			if c == nil {
				continue
			}
			status, body, rest, err := c.read()
			switch {
			case err != nil && c.sentAt == 0: // an idle connection closed: replace it quietly
				t.idle = slices.DeleteFunc(t.idle, func(x *loopConn) bool { return x == c })
				t.replace(c)
			case err != nil:
				inFlight--
				t.fail(c, err, now)
			case rest < 0: // incomplete: wait for more
			default:
				t.lat.add(time.Duration(now - c.sentAt))
				c.sentAt = 0
				inFlight--
				if err := t.check(status, body); err != nil {
					t.errs.add(err)
				} else {
					t.ok++
				}
				c.buf = c.buf[:copy(c.buf, c.buf[rest:])]
				t.idle = append(t.idle, c)
			}
		}
	}
	// A connection the loop gave up on still has a request in flight; its
	// answer must not be read as the next one's.
	for _, c := range t.conns {
		if c.sentAt != 0 {
			t.replace(c)
		}
	}
	t.sent += next
	// The last answers may land after d; a slice that kept up counts d.
	t.seconds += max(time.Since(start), d).Seconds()
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
