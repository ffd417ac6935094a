package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is one keep-alive HTTP/1.1 connection that sends prepared
// requests and reads their answers without allocating per request. The open loops use it instead of net/http's client, which on
// a 2-core machine costs the generator about three times the CPU per
// request and shows up in the latency it measures (see README,
// Performance: the floor row).
type rawConn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
	body []byte
}

func dialRaw(addr string) (*rawConn, error) {
	rc := &rawConn{addr: addr, body: make([]byte, 0, 4096)}
	return rc, rc.dial()
}

func (rc *rawConn) dial() error {
	c, err := net.DialTimeout("tcp", rc.addr, 5*time.Second)
	if err != nil {
		return err
	}
	rc.c, rc.br = c, bufio.NewReaderSize(c, 8192)
	return nil
}

func (rc *rawConn) Close() error {
	if rc.c == nil {
		return nil
	}
	return rc.c.Close()
}

// request builds a POST with a JSON body and a bearer token, once.
func request(host, path, token string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, host, token, len(body))
	b.Write(body)
	return b.Bytes()
}

// send writes one prepared request.
func (rc *rawConn) send(req []byte) error {
	_, err := rc.c.Write(req)
	return err
}

// answer reads the answer to the request sent last: its status and body
// (valid until the next answer).
func (rc *rawConn) answer() (int, []byte, error) {
	line, err := rc.br.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, nil, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	rc.body = rc.body[:0]
	switch {
	case chunked:
		err = rc.readChunked()
	case length >= 0:
		rc.body = append(rc.body, make([]byte, length)...)
		_, err = io.ReadFull(rc.br, rc.body)
	default:
		return 0, nil, errors.New("answer with neither Content-Length nor chunked encoding")
	}
	if err != nil {
		return 0, nil, err
	}
	if closing {
		return status, rc.body, errServerClosed
	}
	return status, rc.body, nil
}

// errServerClosed is an answer that also closed the connection.
var errServerClosed = errors.New("the server closed the connection")

// redial replaces the connection after an error.
func (rc *rawConn) redial() error {
	rc.Close()
	return rc.dial()
}

func (rc *rawConn) readChunked() error {
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
		if err != nil {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if size == 0 {
			_, err := rc.br.ReadSlice('\n') // the empty trailer line
			return err
		}
		start := len(rc.body)
		rc.body = append(rc.body, make([]byte, size)...)
		if _, err := io.ReadFull(rc.br, rc.body[start:]); err != nil {
			return err
		}
		if _, err := rc.br.Discard(2); err != nil { // CRLF after the chunk
			return err
		}
	}
}
