package control

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// The HTTP/1.1 wire format, as much of it as the control socket and the
// metrics server need (docs/control.md, "Why not net/http"): a request
// line, headers and a body of Content-Length bytes; keep-alive; HEAD;
// Expect: 100-continue. Chunked request bodies are refused (411): every
// client the API has (curl, Go's client, the CLI, Prometheus) sends
// Content-Length. Requests are not pipelined.

// request is one parsed HTTP request.
type request struct {
	method, path string
	http10       bool
	header       map[string]string // lower-case names; a repeated header keeps its last value
	body         []byte
}

// keepAlive reports whether the client wants the connection kept after
// the answer.
func (r *request) keepAlive() bool {
	c := strings.ToLower(r.header["connection"])
	if r.http10 {
		return c == "keep-alive"
	}
	return c != "close"
}

// response is one HTTP answer.
type response struct {
	status      int
	contentType string
	allow       string // the Allow header of a 405
	body        []byte
	close       bool // close the connection after it
	pooled      bool // body came from bodies, to go back once written
}

// bodies holds answer buffers for reuse: a scrape every few seconds then
// makes next to no garbage, so the heap stays small (docs/control.md,
// "Memory").
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// pooledBody returns an empty buffer from the pool.
func pooledBody() *[]byte {
	b := bodies.Get().(*[]byte)
	*b = (*b)[:0]
	return b
}

// release gives a pooled body back.
func (r *response) release() {
	if r.pooled {
		b := r.body[:0]
		bodies.Put(&b)
		r.body = nil
	}
}

// errBadRequest wraps every way a request can be malformed; the server
// answers 400 and closes the connection.
var errBadRequest = errors.New("malformed request")

// httpError is a refusal found while reading a request, with its status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// readRequest reads one request from br. Headers longer than maxHeader in
// all, or a body over maxBody, are refused without being read whole.
// expect100 is called when the client waits for a 100 Continue before it
// sends its body.
func readRequest(br *bufio.Reader, expect100 func() error) (*request, error) {
	budget := maxHeader
	line, err := readLine(br, &budget)
	if err != nil {
		return nil, err
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || method == "" || !strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "http") {
		return nil, &httpError{400, fmt.Sprintf("bad request line %q", line)}
	}
	r := &request{method: method, header: map[string]string{}}
	switch proto {
	case "HTTP/1.1":
	case "HTTP/1.0":
		r.http10 = true
	default:
		return nil, &httpError{505, fmt.Sprintf("%q is not HTTP/1.0 or HTTP/1.1", proto)}
	}
	// An absolute target (http://slotrun/v1/status) names the same path.
	if strings.HasPrefix(target, "http://") {
		target = target[len("http://"):]
		if i := strings.IndexByte(target, '/'); i >= 0 {
			target = target[i:]
		} else {
			target = "/"
		}
	}
	r.path, _, _ = strings.Cut(target, "?")
	for {
		line, err := readLine(br, &budget)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, &httpError{400, fmt.Sprintf("bad header line %q", line)}
		}
		r.header[strings.ToLower(name)] = strings.TrimSpace(value)
	}
	if te := r.header["transfer-encoding"]; te != "" && !strings.EqualFold(te, "identity") {
		return nil, &httpError{411, "chunked request bodies are not supported; send Content-Length"}
	}
	n := 0
	if cl, ok := r.header["content-length"]; ok {
		n, err = strconv.Atoi(cl)
		if err != nil || n < 0 {
			return nil, &httpError{400, fmt.Sprintf("bad Content-Length %q", cl)}
		}
	}
	if n > maxBody {
		return nil, &httpError{413, fmt.Sprintf("request body over %d bytes", maxBody)}
	}
	if n > 0 && strings.EqualFold(r.header["expect"], "100-continue") {
		if err := expect100(); err != nil {
			return nil, err
		}
	}
	r.body = make([]byte, n)
	if _, err := io.ReadFull(br, r.body); err != nil {
		return nil, err
	}
	return r, nil
}

// readLine reads one CRLF- (or LF-) terminated line, charging it to
// budget.
func readLine(br *bufio.Reader, budget *int) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		*budget -= len(chunk)
		if *budget < 0 {
			return "", &httpError{431, fmt.Sprintf("request headers over %d bytes", maxHeader)}
		}
		b = append(b, chunk...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// writeResponse writes resp; for a HEAD request, without its body.
func writeResponse(w *bufio.Writer, resp *response, head bool) error {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", resp.status, statusText(resp.status))
	if resp.contentType != "" {
		fmt.Fprintf(w, "Content-Type: %s\r\n", resp.contentType)
	}
	if resp.allow != "" {
		fmt.Fprintf(w, "Allow: %s\r\n", resp.allow)
	}
	if resp.close {
		w.WriteString("Connection: close\r\n")
	}
	fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", len(resp.body))
	if !head {
		w.Write(resp.body)
	}
	return w.Flush()
}

func statusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 411:
		return "Length Required"
	case 413:
		return "Content Too Large"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Status " + strconv.Itoa(code)
}

// readResponse reads an answer to a request this package's client sent:
// its status and body (Content-Length, or up to EOF), at most limit bytes.
// Interim (1xx) answers before it are passed to interim, if not nil, and
// skipped.
func readResponse(br *bufio.Reader, limit int, interim func(status int)) (status int, body []byte, err error) {
	budget := maxHeader
	for {
		line, err := readLine(br, &budget)
		if err != nil {
			return 0, nil, err
		}
		proto, rest, _ := strings.Cut(line, " ")
		code, _, _ := strings.Cut(rest, " ")
		if !strings.HasPrefix(proto, "HTTP/1.") {
			return 0, nil, fmt.Errorf("%w: not an HTTP answer: %q", errBadRequest, line)
		}
		if status, err = strconv.Atoi(code); err != nil {
			return 0, nil, fmt.Errorf("%w: bad status line %q", errBadRequest, line)
		}
		n := -1
		for {
			h, err := readLine(br, &budget)
			if err != nil {
				return 0, nil, err
			}
			if h == "" {
				break
			}
			name, value, _ := strings.Cut(h, ":")
			if strings.EqualFold(strings.TrimSpace(name), "content-length") {
				if n, err = strconv.Atoi(strings.TrimSpace(value)); err != nil {
					return 0, nil, fmt.Errorf("%w: bad Content-Length %q", errBadRequest, value)
				}
			}
		}
		if status >= 100 && status < 200 { // interim: 100 Continue, 102 Processing
			if interim != nil {
				interim(status)
			}
			continue
		}
		if n > limit {
			return 0, nil, fmt.Errorf("answer of %d bytes, more than %d", n, limit)
		}
		if n >= 0 {
			body = make([]byte, n)
			_, err = io.ReadFull(br, body)
			return status, body, err
		}
		body, err = io.ReadAll(io.LimitReader(br, int64(limit)))
		return status, body, err
	}
}

// The HTTP status codes the API answers with.
const (
	StatusOK                  = 200
	StatusBadRequest          = 400
	StatusForbidden           = 403
	StatusNotFound            = 404
	StatusMethodNotAllowed    = 405
	StatusConflict            = 409
	StatusTooLarge            = 413
	StatusInternalServerError = 500
	StatusUnavailable         = 503
)
