package supervisor

import (
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slotrun/slotrun/listen"
	"github.com/slotrun/slotrun/notify"
)

// serving is what the supervisor holds so that workers can serve without
// a gap: the sockets every worker inherits (docs/sockets.md) and the
// socket the workers report readiness on (docs/readiness.md).
type serving struct {
	inherited []*listen.Socket // from slotrun's own socket activation
	ignored   string           // why LISTEN_* in our environment was ignored
	sockets   []*listen.Socket // what every worker gets at fds 3..
	notify    *notify.Socket   // nil unless --ready notify
	groups    groupSet         // the live workers' process groups, for the notify reader
	reader    sync.WaitGroup
	// outsider is the last sender found outside every worker's group, and
	// until when that verdict stands: a flood from one process then costs
	// one receive per datagram, not the look-ups of groupOf. Only the
	// reader goroutine touches it.
	outsider      int
	outsiderUntil time.Time
}

// groupSet is the set of the workers' process groups, shared with the
// notify reader so that it drops what no worker sent without waking the
// loop: a flood from outside costs the loop nothing.
type groupSet struct {
	mu sync.Mutex
	m  map[int]bool
}

func (g *groupSet) add(pgid int) {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[int]bool{}
	}
	g.m[pgid] = true
	g.mu.Unlock()
}

func (g *groupSet) remove(pgid int) {
	g.mu.Lock()
	delete(g.m, pgid)
	g.mu.Unlock()
}

func (g *groupSet) has(pgid int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m[pgid]
}

// adoptActivation reads slotrun's own socket activation; called once, in
// Run, before anything else may open a file at fd 3.
func (s *supervisor) adoptActivation() {
	s.srv.inherited, s.srv.ignored = listen.Inherited(os.Getenv, os.Getpid())
}

// openServing binds the sockets and opens the notify socket. On error
// nothing is left open or on disk.
func (s *supervisor) openServing() error {
	if s.srv.ignored != "" {
		s.log.Debug("ignoring socket activation variables that are not ours, as sd_listen_fds does", "why", s.srv.ignored)
	}
	socks, err := listen.Open(s.opts.Listen, s.srv.inherited)
	s.srv.inherited = nil
	if err != nil {
		return err
	}
	s.srv.sockets = socks
	for _, sock := range socks {
		s.log.Info("listening", "name", sock.Name, "address", sock.Address, "inherited", sock.Adopted)
	}
	if s.opts.Ready == ReadyNotify {
		if s.srv.notify, err = notify.Listen(); err != nil {
			listen.CloseAll(socks)
			s.srv.sockets = nil
			return err
		}
		s.srv.reader.Add(1)
		go s.readNotifications()
	}
	return nil
}

// closeServing closes every socket; the unix socket files go too.
func (s *supervisor) closeServing() {
	listen.CloseAll(s.srv.sockets)
	s.srv.sockets = nil
	if s.srv.notify != nil {
		s.srv.notify.Close()
		s.srv.reader.Wait()
		s.srv.notify = nil
	}
}

// Listeners are the sockets every worker gets, with their real addresses.
func (s *supervisor) listeners() []*listen.Socket { return s.srv.sockets }

// servingEnv is what every worker's environment gets for sockets and
// readiness. An empty LISTEN_PID asks fork to set it to the worker's pid
// (realSystem.fork).
func (s *supervisor) servingEnv() []string {
	var env []string
	if len(s.srv.sockets) > 0 {
		env = append(env, listen.Env(s.srv.sockets)...)
		env = append(env, listen.EnvPID+"=")
	}
	if s.srv.notify != nil {
		env = append(env, "NOTIFY_SOCKET="+s.srv.notify.Addr)
		if s.opts.Watchdog > 0 {
			env = append(env, "WATCHDOG_USEC="+strconv.FormatInt(s.opts.Watchdog.Microseconds(), 10))
		}
	}
	return env
}

// command is what a worker is forked as, with the sockets after stdio.
func (s *supervisor) command(stdio ...*os.File) (string, []string, []*os.File) {
	return s.opts.Path, s.opts.Args, append(stdio, listen.Files(s.srv.sockets)...)
}

// readNotifications hands the loop what workers say on the notify socket.
// It attributes each datagram by the sender's pid: a worker's main process,
// or any process in a worker's process group (a shell script's
// systemd-notify). Anything else, and anything malformed, is dropped here.
func (s *supervisor) readNotifications() {
	defer s.srv.reader.Done()
	sock := s.srv.notify
	for {
		d, err := sock.Receive()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			s.log.Debug("notify socket", "error", err)
			continue
		}
		pgid := 0
		if d.PID != s.srv.outsider || time.Now().After(s.srv.outsiderUntil) {
			pgid = s.groupOf(d.PID)
		}
		if pgid == 0 {
			// A pid is not reused within a second: the verdict holds.
			s.srv.outsider, s.srv.outsiderUntil = d.PID, time.Now().Add(time.Second)
		}
		switch {
		case pgid == 0:
			s.log.Debug("ignoring a notification from a process outside every worker's group", "sender", d.PID)
			continue
		case d.Truncated:
			s.log.Debug("ignoring an oversized notification", "sender", d.PID, "max_bytes", notify.MaxMessage)
			continue
		}
		msg, err := notify.Parse(d.Data)
		if err != nil {
			s.log.Debug("ignoring a notification", "sender", d.PID, "error", err)
			continue
		}
		s.post(notifyEvent{pid: d.PID, pgid: pgid, msg: msg})
	}
}

// groupOf is the worker process group pid belongs to, or 0. A worker's
// main process is found even after it exited (it is our unreaped child);
// another member must be alive to be placed.
//
// A worker may speak before the loop has recorded it (the loop forks, and
// then logs and records; a fast worker on a busy machine wins that race).
// So a group led by a child of ours counts too: the loop, which handles
// the event after it has recorded every worker it forked, decides.
func (s *supervisor) groupOf(pid int) int {
	if pid <= 0 {
		return 0
	}
	if s.srv.groups.has(pid) {
		return pid
	}
	g, err := unix.Getpgid(pid)
	if err != nil {
		return 0
	}
	if s.srv.groups.has(g) {
		return g
	}
	if ppid, _, ok := readParent(g); ok && ppid == s.self {
		return g
	}
	return 0
}
