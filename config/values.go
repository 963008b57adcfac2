package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slotrun/slotrun/control"
	"github.com/slotrun/slotrun/internal/signame"
	"github.com/slotrun/slotrun/supervisor"
)

// The parsers below are shared by flags and the config file, so a value is
// accepted or refused with the same words wherever it was written. Their
// errors describe the value; the caller adds the flag or key name.

// maxWorkers bounds -n and --slots: far above any real host, far below what
// would exhaust memory or the slot table's limit.
const maxWorkers = 65536

func checkCount(n int) (int, error) {
	if n < 1 {
		return 0, fmt.Errorf("must be at least 1, not %d", n)
	}
	if n > maxWorkers {
		return 0, fmt.Errorf("must be at most %d, not %d", maxWorkers, n)
	}
	return n, nil
}

func checkLimit(n int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("must be 0 (no limit) or more, not %d", n)
	}
	return n, nil
}

// checkMinReady takes 0 (/readyz is ready whatever the workers) or more.
func checkMinReady(n int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("must be 0 or more, not %d", n)
	}
	return n, nil
}

// parseInt reads a whole number and says which way a bad one is wrong.
func parseInt(s string) (int, error) {
	t := strings.TrimSpace(s)
	n, err := strconv.Atoi(t)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%q is too large", s)
	}
	if _, ferr := strconv.ParseFloat(t, 64); ferr == nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return 0, fmt.Errorf("%q is not a number", s)
}

// parseDuration insists on a unit: "10" could mean seconds or nanoseconds,
// and guessing wrong turns a stop timeout into 10ns.
func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if isDecimal(t) { // including "0", which time.ParseDuration takes
		return 0, fmt.Errorf("%q has no unit (write %ss or %sms)", s, t, t)
	}
	d, err := time.ParseDuration(t)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration (write 500ms, 10s or 1m30s)", s)
	case d < 0:
		return 0, fmt.Errorf("%q must not be negative", s)
	}
	return d, nil
}

// isDecimal reports whether s is digits with at most one dot ("5", "2.5"):
// the only text to which adding "s" makes a duration. strconv.ParseFloat
// would also take "inf", "1e3" and "0x10", and "write infs" helps no one.
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// checkStopTimeout refuses 0, which would SIGKILL every worker without
// sending the stop signal first. The hint says how to ask for exactly that
// where the user is writing (a flag or the file).
func checkStopTimeout(d time.Duration, spell speller) error {
	if d == 0 {
		return fmt.Errorf("must be more than 0 (for no grace period, use %s)", spell("stop.signal", "KILL"))
	}
	return nil
}

// checkWatchdog refuses a watchdog shorter than a millisecond: workers are
// told it in whole microseconds (WATCHDOG_USEC), where 0 means none, and no
// worker could answer in time anyway.
func checkWatchdog(d time.Duration, _ speller) error {
	if d > 0 && d < time.Millisecond {
		return fmt.Errorf("must be 0s (off) or at least 1ms, not %s", d)
	}
	return nil
}

// maxShutdownDelay bounds --shutdown-delay (docs/control.md, "The shutdown
// delay"). The delay only has to outlast a load balancer's readiness
// checks, seconds to a minute or two; draining requests is the stop
// timeout's job, after the stop signal. An orchestrator SIGKILLs
// everything once its grace period (30s by default in Kubernetes, 10s for
// docker stop) is over, so a longer delay means workers that never get
// their stop signal: 1000h is a typo, not a plan.
const maxShutdownDelay = 10 * time.Minute

// checkShutdownDelay refuses a delay beyond maxShutdownDelay.
func checkShutdownDelay(d time.Duration, _ speller) error {
	if d > maxShutdownDelay {
		return fmt.Errorf("must be at most %s, not %s (it only has to outlast a load balancer's readiness checks; an orchestrator's grace period must cover it and the stop timeout)",
			shortDuration(maxShutdownDelay), shortDuration(d))
	}
	return nil
}

// shortDuration writes d without trailing zero units: 10m, not 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseStopSignal reads the stop signal: any signal a worker can be sent.
func parseStopSignal(s string) (syscall.Signal, error) {
	sig, err := signame.Parse(s)
	if err == nil {
		err = supervisor.CheckSendable(sig)
	}
	if err != nil {
		return 0, err
	}
	return sig, nil
}

// parseSignalAction reads one SIG=ACTION entry.
func parseSignalAction(sigName, action string) (syscall.Signal, supervisor.Action, error) {
	sig, err := signame.Parse(sigName)
	if err != nil {
		return 0, supervisor.Action{}, err
	}
	if err := supervisor.CheckSignal(sig); err != nil {
		return 0, supervisor.Action{}, err
	}
	act, err := supervisor.ParseAction(action)
	if err != nil {
		return 0, supervisor.Action{}, err
	}
	return sig, act, nil
}

// reservedEnv are the variables slotrun sets for each worker. Set by the
// user too, the worker's environment would hold the name twice, and most
// programs read the first: every worker would get the same id.
var reservedEnv = []string{"COMET_PROCESS_ID", "COMET_PROCESS_COUNT", "SLOTRUN_SLOT"}

func checkEnvKey(k string) error {
	if k == "" || strings.ContainsAny(k, "=\x00") {
		return fmt.Errorf("%q is not a variable name", k)
	}
	if slices.Contains(reservedEnv, k) {
		return fmt.Errorf("%s is set by slotrun for each worker", k)
	}
	return nil
}

func parseLogLevel(s string) (string, error) {
	switch l := strings.ToLower(strings.TrimSpace(s)); l {
	case "trace", "debug", "info", "warn", "error":
		return l, nil
	}
	return "", fmt.Errorf("%q is not a log level (use trace, debug, info, warn or error)", s)
}

func parseLogFormat(s string) (string, error) {
	switch f := strings.ToLower(strings.TrimSpace(s)); f {
	case "text", "json":
		return f, nil
	}
	return "", fmt.Errorf("%q is not a log format (use text or json)", s)
}

// checkName accepts an instance name: it names the default PID file and
// slot table, so it must be one file name, and it starts every log line
// and output prefix, where a control character (a newline, an escape
// sequence) would forge lines or drive the terminal. %q shows the
// character in the message.
func checkName(s string) (string, error) {
	const advice = "use letters, digits, - and _"
	switch {
	case !utf8.ValidString(s):
		return "", fmt.Errorf("%q is not UTF-8 text (%s)", s, advice)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "", fmt.Errorf("%q contains a control character (%s)", s, advice)
	case s == "" || strings.Contains(s, "/") || s == "." || s == "..":
		return "", fmt.Errorf("%q cannot name files (%s)", s, advice)
	}
	return s, nil
}

// parseControl accepts a control socket path the kernel can bind, or
// none, which turns the socket off ("").
func parseControl(s string) (string, error) {
	if s == "none" {
		return "", nil
	}
	if err := control.CheckPath(s); err != nil {
		return "", errors.New(strings.TrimPrefix(err.Error(), "the control socket path "))
	}
	return s, nil
}

// parseHTTPAddr accepts HOST:PORT, HOST optional, PORT a number (0 picks
// a free port).
func parseHTTPAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%q is not an address (write :9090, 127.0.0.1:9090 or [::1]:9090)", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("%q: the port must be a number from 0 to 65535", s)
	}
	if strings.ContainsAny(host, "/ ") {
		return "", fmt.Errorf("%q: %q is not a host name or address", s, host)
	}
	return s, nil
}

// parsePath accepts any non-empty path; the file itself is checked when it
// is opened.
func parsePath(s string) (string, error) {
	if s == "" {
		return "", errors.New("must not be empty")
	}
	return s, nil
}
