package control

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// statusOf64 is a status with 64 ready workers, as a scrape sees it.
func statusOf64() *Status {
	st := &Status{Name: "bench", Version: "v1.2.3", Desired: 64, Slots: 64, Ready: 64, MinReady: 1,
		Started: time.Now(), Listeners: []Listener{}}
	for i := range 64 {
		code := 0
		st.Workers = append(st.Workers, Worker{Slot: i, ID: i, PID: 1000 + i, State: StateReady,
			UptimeSeconds: 12.5, Restarts: i % 3, LastExit: &Exit{Code: &code}, Started: time.Now()})
	}
	return st
}

type staticBackend struct{ st *Status }

func (b staticBackend) Status(context.Context) (*Status, error)          { return b.st, nil }
func (staticBackend) Scale(context.Context, ScaleRequest) error          { return nil }
func (staticBackend) Restart(context.Context, RestartRequest) error      { return nil }
func (staticBackend) Signal(context.Context, syscall.Signal, *int) error { return nil }
func (staticBackend) Stop(context.Context) (StopAnswer, error)           { return StopAnswer{}, nil }
func (staticBackend) Ping(context.Context) error                         { return nil }

// BenchmarkMetricsExposition: the server's work for one scrape of 64
// workers, from the status snapshot to the bytes.
func BenchmarkMetricsExposition(b *testing.B) {
	st := statusOf64()
	b.ReportAllocs()
	for b.Loop() {
		appendMetrics(nil, st)
	}
}

// BenchmarkScrape64: a whole scrape over a kept-alive loopback
// connection: request parsing, the handler, the exposition, the write,
// and the client's read.
func BenchmarkScrape64(b *testing.B) {
	s, err := ServeHTTP("127.0.0.1:0", staticBackend{statusOf64()}, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		status, body, err := readResponse(br, 1<<20, nil)
		if err != nil || status != 200 {
			b.Fatal(status, err)
		}
		io.Discard.Write(body)
	}
}

var _ = fmt.Sprint
