package control

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func parse(raw string) (*request, error) {
	return readRequest(bufio.NewReader(strings.NewReader(raw)), func() error { return nil })
}

func TestReadRequest(t *testing.T) {
	tests := []struct {
		raw    string
		status int // 0: accepted
		path   string
		body   string
	}{
		{"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n", 0, "/v1/status", ""},
		{"GET http://slotrun/v1/status?x=1 HTTP/1.1\r\n\r\n", 0, "/v1/status", ""},
		{"POST /v1/scale HTTP/1.0\nContent-Length: 2\n\n{}", 0, "/v1/scale", "{}"},
		{"POST /v1/scale HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "", ""},
		{"POST /v1/scale HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413, "", ""},
		{"POST /v1/scale HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "", ""},
		{"GET /x HTTP/2.0\r\n\r\n", 505, "", ""},
		{"NONSENSE\r\n\r\n", 400, "", ""},
		{"GET /x HTTP/1.1\r\nno colon\r\n\r\n", 400, "", ""},
		{"GET /x HTTP/1.1\r\nX: " + strings.Repeat("a", maxHeader) + "\r\n\r\n", 431, "", ""},
	}
	for _, tt := range tests {
		r, err := parse(tt.raw)
		var he *httpError
		switch {
		case tt.status == 0 && err != nil:
			t.Errorf("%q: %v", tt.raw, err)
		case tt.status == 0 && (r.path != tt.path || string(r.body) != tt.body):
			t.Errorf("%q: path %q body %q", tt.raw, r.path, r.body)
		case tt.status != 0 && (!errors.As(err, &he) || he.status != tt.status):
			t.Errorf("%q: %v; want %d", tt.raw, err, tt.status)
		}
	}
}

func TestKeepAlive(t *testing.T) {
	for raw, want := range map[string]bool{
		"GET / HTTP/1.1\r\n\r\n":                           true,
		"GET / HTTP/1.1\r\nConnection: close\r\n\r\n":      false,
		"GET / HTTP/1.0\r\n\r\n":                           false,
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n": true,
	} {
		r, err := parse(raw)
		if err != nil || r.keepAlive() != want {
			t.Errorf("%q: keepAlive %v, %v; want %v", raw, r.keepAlive(), err, want)
		}
	}
}

// The server's answers read back by the client's reader.
func TestResponseRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	writeResponse(w, &response{status: 409, contentType: "application/json", body: []byte(`{"error":"x"}`)}, false)
	status, body, err := readResponse(bufio.NewReader(&buf), 1<<10, nil)
	if err != nil || status != 409 || string(body) != `{"error":"x"}` {
		t.Errorf("read back: %d %q %v", status, body, err)
	}
}

// FuzzReadRequest: no input makes the request reader panic, hang, or
// accept a body over the bound.
func FuzzReadRequest(f *testing.F) {
	for _, seed := range []string{
		"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /v1/scale HTTP/1.1\r\nContent-Length: 14\r\nExpect: 100-continue\r\n\r\n{\"workers\": 2}",
		"POST /v1/scale HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET http://slotrun HTTP/1.0\r\n\r\n",
		"\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := parse(raw)
		if err == nil && len(r.body) > maxBody {
			t.Fatalf("accepted a body of %d bytes", len(r.body))
		}
	})
}

// FuzzReadResponse: the client's reader survives any answer.
func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	f.Add("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 409 Conflict\r\n\r\nbody to EOF")
	f.Fuzz(func(t *testing.T, raw string) {
		readResponse(bufio.NewReader(strings.NewReader(raw)), 1<<10, nil)
	})
}
