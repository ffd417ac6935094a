package main

import "testing"

// parseAnswer must find where an answer ends whether it came whole, in
// pieces or chunked, and refuse what is not HTTP.
func TestParseAnswer(t *testing.T) {
	whole := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"allowed\":true}"
	chunked := "HTTP/1.1 402 Payment Required\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n"
	for _, tc := range []struct {
		name, in  string
		status    int
		body      string
		rest      int
		closing   bool
		wantError bool
	}{
		{name: "whole", in: whole, status: 200, body: `{"allowed":true}`, rest: len(whole)},
		{name: "with the next answer's start behind it", in: whole + "HTTP/1.1", status: 200, body: `{"allowed":true}`, rest: len(whole)},
		{name: "headers cut short", in: whole[:30], rest: -1},
		{name: "body cut short", in: whole[:len(whole)-3], rest: -1},
		{name: "chunked", in: chunked, status: 402, body: "hello world", rest: len(chunked), closing: true},
		{name: "chunked, last chunk missing", in: chunked[:len(chunked)-5], rest: -1},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", wantError: true},
		{name: "no length", in: "HTTP/1.1 200 OK\r\n\r\nbody", wantError: true},
		{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantError: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, rest, closing, err := parseAnswer([]byte(tc.in))
			if tc.wantError {
				if err == nil {
					t.Fatalf("no error; status %d rest %d", status, rest)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rest != tc.rest {
				t.Fatalf("rest %d, want %d", rest, tc.rest)
			}
			if rest < 0 {
				return
			}
			if status != tc.status || string(body) != tc.body || closing != tc.closing {
				t.Fatalf("got %d %q closing=%v, want %d %q closing=%v", status, body, closing, tc.status, tc.body, tc.closing)
			}
		})
	}
}
