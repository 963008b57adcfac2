package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// livenessTimeout is how long /livez waits for the supervisor's loop.
const livenessTimeout = time.Second

// HTTPServer serves /metrics, /livez, /healthz and /readyz, read-only
// (docs/control.md, "Metrics and health").
type HTTPServer struct {
	backend Backend
	http    *http.Server
	addr    net.Addr
	metrics http.Handler
	done    chan struct{}
}

// ServeHTTP listens on addr (host:port; port 0 picks a free one) and serves
// the metrics and health endpoints until Close.
func ServeHTTP(addr string, backend Backend, log hclog.Logger) (*HTTPServer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", addr, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{backend: backend})
	s := &HTTPServer{
		backend: backend,
		addr:    l.Addr(),
		metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}),
		done:    make(chan struct{}),
	}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
	}
	go func() {
		defer close(s.done)
		s.http.Serve(l)
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *HTTPServer) Addr() string { return s.addr.String() }

// Close stops serving and ends every open connection.
func (s *HTTPServer) Close() {
	s.http.Close()
	<-s.done
}

func (s *HTTPServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/metrics", "/livez", "/healthz", "/readyz":
	default:
		http.Error(w, "not found: try /metrics, /livez, /healthz or /readyz", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, r.URL.Path+" answers GET and HEAD only", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), livenessTimeout)
	defer cancel()
	switch r.URL.Path {
	case "/metrics":
		s.metrics.ServeHTTP(w, r.WithContext(ctx))
	case "/livez", "/healthz":
		if err := s.backend.Ping(ctx); err != nil {
			http.Error(w, "not live: "+reason(err), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	case "/readyz":
		st, err := s.backend.Status(ctx)
		if err != nil {
			http.Error(w, "not ready: "+reason(err), http.StatusServiceUnavailable)
			return
		}
		body := fmt.Sprintf("%d/%d ready", st.Ready, st.Desired)
		switch {
		case st.Stopping:
			http.Error(w, body+"; stopping", http.StatusServiceUnavailable)
		case st.Ready < st.MinReady:
			http.Error(w, fmt.Sprintf("%s; --min-ready is %d", body, st.MinReady), http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, body)
		}
	}
}

func reason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("the supervisor loop did not answer within %s", livenessTimeout)
	}
	return err.Error()
}
