package supervisor

import (
	"context"
	"slices"
	"syscall"
	"time"

	"github.com/slotrun/slotrun/control"
	"github.com/slotrun/slotrun/internal/signame"
)

// The supervisor's side of the control socket and the HTTP server
// (docs/control.md): their handlers run on goroutines of their own and
// reach the supervisor's state only by asking the loop, with a
// controlRequest, and waiting for its answer. The loop never waits for
// them: an answer goes into a channel with room for it.

// controlRequest is a request the loop carries out; run answers it at once
// or leaves a waiter that answers it later.
type controlRequest struct{ run func() }

// shutdownDue: the --shutdown-delay after a stop request is over.
type shutdownDue struct{}

func (controlRequest) isEvent() {}
func (shutdownDue) isEvent()    {}

// waiter is a control request waiting for the supervisor to reach a
// state: until is checked after every step of the loop. gone is closed
// when nobody waits for the answer any more (the client went away): the
// waiter is dropped; what the request began goes on.
type waiter struct {
	until  func() bool
	answer func(error)
	gone   <-chan struct{}
}

// answerWaiters answers the requests whose wait is over, and drops those
// whose client has gone: checked after every step, so a client that keeps
// coming and going during a long rolling restart leaves nothing behind.
func (s *supervisor) answerWaiters() {
	if len(s.waiters) > 0 {
		keep := s.waiters[:0]
		for _, w := range s.waiters {
			switch {
			case closed(w.gone):
			case w.until():
				w.answer(nil)
			default:
				keep = append(keep, w)
			}
		}
		clear(s.waiters[len(keep):])
		s.waiters = keep
	}
	if len(s.rolls.waiters) > 0 {
		s.rolls.waiters = slices.DeleteFunc(s.rolls.waiters, func(w rollWaiter) bool { return closed(w.gone) })
	}
}

// closed reports whether ch is closed; a nil ch never is.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// dropWaiters answers every waiting request, as the loop ends.
func (s *supervisor) dropWaiters() {
	for _, w := range s.waiters {
		w.answer(control.ErrGone)
	}
	s.waiters = nil
	s.rollEnded(^uint64(0), control.ErrGone)
}

// backend implements control.Backend by asking the loop.
type backend struct{ s *supervisor }

// ask hands do to the loop and waits for the answer it gives through
// answer (once). It gives up when ctx is done or the loop has ended. A
// request whose client has gone by the time the loop reaches it (it was
// queued while the supervisor was stopped, and its client gave up) is not
// carried out (docs/control.md, "Clients that get no answer"). One that
// the loop has taken and that waits for an outcome tells its client so.
func (b backend) ask(ctx context.Context, do func(answer func(any, error))) (any, error) {
	type reply struct {
		v   any
		err error
	}
	ch := make(chan reply, 1)
	taken := make(chan struct{})
	ev := controlRequest{run: func() {
		if !control.Claim(ctx) {
			ch <- reply{nil, context.Canceled}
			return
		}
		do(func(v any, err error) { ch <- reply{v, err} })
		close(taken)
	}}
	select {
	case b.s.events <- ev:
	case <-b.s.done:
		return nil, control.ErrGone
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		select {
		case r := <-ch:
			return r.v, r.err
		case <-taken:
			taken = nil
			select {
			case r := <-ch: // answered at once: no need to say it was taken
				return r.v, r.err
			default:
				control.Taken(ctx)
			}
		case <-b.s.done:
			select {
			case r := <-ch:
				return r.v, r.err
			default:
				return nil, control.ErrGone
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// askErr is ask for requests whose answer is only an error.
func (b backend) askErr(ctx context.Context, do func(s *supervisor, answer func(error))) error {
	_, err := b.ask(ctx, func(answer func(any, error)) {
		do(b.s, func(err error) { answer(nil, err) })
	})
	return err
}

func (b backend) Status(ctx context.Context) (*control.Status, error) {
	v, err := b.ask(ctx, func(answer func(any, error)) { answer(b.s.status(), nil) })
	if err != nil {
		return nil, err
	}
	return v.(*control.Status), nil
}

func (b backend) Ping(ctx context.Context) error {
	return b.askErr(ctx, func(_ *supervisor, answer func(error)) { answer(nil) })
}

func (b backend) Stop(ctx context.Context) (control.StopAnswer, error) {
	v, err := b.ask(ctx, func(answer func(any, error)) {
		b.s.log.Info("stop requested through the control socket")
		b.s.requestStop()
		answer(control.StopAnswer{ExitWithinSeconds: b.s.exitBound().Seconds()}, nil)
	})
	if err != nil {
		return control.StopAnswer{}, err
	}
	return v.(control.StopAnswer), nil
}

// exitBound is the longest a stop requested now may take until slotrun
// exits, every phase taking as long as it may: the shutdown delay, the
// workers' stop timeout, the strays' (strays.go), the drain of the
// prefixed output, and the drain of the log after Run returns. A stop
// already under way ends sooner. `slotrun stop` waits this long, and a
// margin, before it says the supervisor is stuck.
func (s *supervisor) exitBound() time.Duration {
	phases := 3
	if s.out != nil {
		phases++
	}
	return s.opts.ShutdownDelay + time.Duration(phases)*s.opts.StopTimeout
}

func (b backend) Scale(ctx context.Context, req control.ScaleRequest) error {
	return b.askErr(ctx, func(s *supervisor, answer func(error)) { s.scaleTo(req, answer, ctx.Done()) })
}

func (b backend) Restart(ctx context.Context, req control.RestartRequest) error {
	return b.askErr(ctx, func(s *supervisor, answer func(error)) { s.restartRequest(req, answer, ctx.Done()) })
}

func (b backend) Signal(ctx context.Context, sig syscall.Signal, slot *int) error {
	return b.askErr(ctx, func(s *supervisor, answer func(error)) { answer(s.signalRequest(sig, slot)) })
}

// requestStop begins a graceful stop, after --shutdown-delay if one is
// set: meanwhile the supervisor shows as stopping, so /readyz fails and a
// load balancer stops sending, while the workers still serve.
func (s *supervisor) requestStop() {
	if s.stopping || s.shuttingDown {
		return
	}
	if s.opts.ShutdownDelay <= 0 {
		s.beginStop(0)
		return
	}
	s.shuttingDown = true
	s.rollAbandon()
	s.log.Info("stop requested; the workers get the stop signal after the shutdown delay", "shutdown_delay", s.opts.ShutdownDelay.String())
	s.sys.afterFunc(s.opts.ShutdownDelay, func() { s.post(shutdownDue{}) })
}

func (s *supervisor) refuseWhileStopping(what string) error {
	if s.stopping || s.shuttingDown {
		return control.Errorf(control.StatusConflict, "%s: a stop is under way", what)
	}
	return nil
}

// scaleTo sets the number of workers, as TTIN and TTOU do one at a time,
// and answers once the new workers are started and the removed ones gone,
// unless gone is closed first.
func (s *supervisor) scaleTo(req control.ScaleRequest, answer func(error), gone <-chan struct{}) {
	if err := s.refuseWhileStopping("scale"); err != nil {
		answer(err)
		return
	}
	current := s.countActive()
	if err := s.checkScale(req, current); err != nil {
		answer(err)
		return
	}
	n := current
	if req.Workers != nil {
		n = *req.Workers
	} else {
		n += *req.Change
	}
	if n != current {
		s.log.Info("scaling through the control socket", "from", current, "to", n)
	}
	var added []*slot
	for i := range n - current {
		sl := s.scaleUp()
		if sl == nil {
			answer(control.Errorf(control.StatusConflict, "scale: started %d of the %d asked for: every other free slot is held by another process (one that shares the slot table); %s run", i, n-current, workers(s.countActive())))
			return
		}
		added = append(added, sl)
	}
	var removed []*slot
	for range current - n {
		if sl := s.scaleDown(); sl != nil {
			removed = append(removed, sl)
		}
	}
	if req.NoWait {
		answer(nil)
		return
	}
	s.waiters = append(s.waiters, waiter{
		// The removed slots are free, and the slots taken back from a
		// scale-down have their new workers (or are waiting to start).
		until: func() bool {
			for _, sl := range removed {
				if sl.state != stateIdle && sl.then == thenRemove {
					return false // on its way out, and not taken back since
				}
			}
			for _, sl := range added {
				if sl.state == stateStopping || sl.state == stateDraining {
					return false
				}
			}
			return true
		},
		answer: answer,
		gone:   gone,
	})
}

// restartRequest begins a rolling restart of every slot, or of one, and
// answers when the round that covers it has ended, unless gone is closed
// first: the rolling restart goes on either way.
func (s *supervisor) restartRequest(req control.RestartRequest, answer func(error), gone <-chan struct{}) {
	slot := req.Slot
	if err := s.refuseWhileStopping("restart"); err != nil {
		answer(err)
		return
	}
	target := rollTarget{all: true}
	if slot != nil {
		if _, err := s.slotInUse("restart", *slot); err != nil {
			answer(err)
			return
		}
		target = rollTarget{slots: []int{*slot}}
	}
	halted := func(err error) {
		if err != nil && err != control.ErrGone {
			err = control.Errorf(control.StatusConflict, "%v", err)
		}
		answer(err)
	}
	// The waiter goes in first: a round with nothing to restart ends
	// within rollRequest.
	round := s.rolls.rounds + 1
	if s.rolling != nil {
		round = s.rolling.round + 1
	}
	if req.NoWait {
		s.rollRequest(target)
		answer(nil)
		return
	}
	s.rolls.waiters = append(s.rolls.waiters, rollWaiter{round: round, answer: halted, gone: gone})
	s.rollRequest(target)
}

// signalRequest sends sig to every running worker, or to one slot's.
func (s *supervisor) signalRequest(sig syscall.Signal, slot *int) error {
	if err := CheckSendable(sig); err != nil {
		return control.Errorf(control.StatusBadRequest, `signal: "signal": %v`, err)
	}
	if slot == nil {
		s.log.Info("signal requested through the control socket", "signal", signame.Name(sig))
		s.forward(sig)
		return nil
	}
	sl, err := s.slotWithWorker("signal", *slot)
	if err != nil {
		return err
	}
	sl.log.Info("signal requested through the control socket", "signal", signame.Name(sig), "pid", sl.pid, "state", publicState(sl.state))
	s.signalGroup(sl, sig)
	return nil
}

// publicState is the state a slot shows: draining shows as stopping.
func publicState(st slotState) string {
	switch st {
	case stateStarting:
		return control.StateStarting
	case stateReady:
		return control.StateReady
	case stateStopping, stateDraining:
		return control.StateStopping
	case stateBackoff:
		return control.StateBackoff
	}
	return st.String()
}

// status is the snapshot GET /v1/status answers.
func (s *supervisor) status() *control.Status {
	now := s.sys.now()
	st := &control.Status{
		Name:          s.opts.Name,
		PID:           s.self,
		Version:       s.opts.Version,
		UptimeSeconds: seconds(now.Sub(s.started)),
		Slots:         len(s.slots),
		MinReady:      s.opts.MinReady,
		Stopping:      s.stopping || s.shuttingDown,
		IDs:           control.IDs{First: s.opts.ID(0), Count: s.opts.IDCount()},
		Listeners:     []control.Listener{},
		Workers:       []control.Worker{},
		Started:       s.started,
		RollingDone:   s.rolls.completed,
		RollingHalted: s.rolls.halts,
	}
	for _, sock := range s.srv.sockets {
		st.Listeners = append(st.Listeners, control.Listener{Name: sock.Name, Address: sock.Address})
	}
	st.Desired = s.desired()
	switch {
	case s.rolling != nil:
		st.Rolling = &control.Rolling{Done: s.rolling.done, Total: s.rolling.total}
	case s.rolls.halted != "":
		st.Rolling = &control.Rolling{Done: s.rolls.haltedAt[0], Total: s.rolls.haltedAt[1], Halted: s.rolls.halted}
	}
	for _, sl := range s.slots {
		if sl.state == stateIdle {
			continue
		}
		w := control.Worker{Slot: sl.id, ID: s.opts.ID(sl.id), State: publicState(sl.state), Restarts: sl.restartCount, RestartsTotal: sl.restartsTotal, Status: sl.status}
		if sl.state.running() || sl.state == stateDraining {
			w.PID = sl.pid
			w.Started = sl.started
			w.UptimeSeconds = seconds(now.Sub(sl.started))
		}
		if sl.state == stateReady {
			st.Ready++
		}
		if sl.exited {
			w.LastExit = exitOf(sl.lastExit)
		}
		if sl.state == stateBackoff && !sl.nextStart.IsZero() {
			in := seconds(max(sl.nextStart.Sub(now), 0))
			w.NextStartInSeconds = &in
		}
		st.Workers = append(st.Workers, w)
	}
	return st
}

// desired is the number of workers the supervisor keeps: those in use and
// not on their way out, or, during a stop, those it kept before.
func (s *supervisor) desired() int {
	if s.stopping {
		return s.desiredAtStop
	}
	return s.countActive()
}

func exitOf(e exitStatus) *control.Exit {
	x := &control.Exit{ShellCode: e.Code()}
	if e.signal != 0 {
		x.Signal = signame.Name(e.signal)
	} else {
		code := e.code
		x.Code = &code
	}
	return x
}

// seconds rounds d to milliseconds, as a float of seconds.
func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond).Milliseconds()) / 1000
}

// closer is a server the supervisor runs beside its loop.
type closer interface{ Close() }

// serve starts the control socket and the HTTP server, as configured.
func (s *supervisor) serve() error {
	if s.opts.Control != "" {
		l, err := control.Listen(s.opts.Control)
		if err != nil {
			return err
		}
		s.servers = append(s.servers, control.Serve(l, s.opts.Control, backend{s}, s.log.Named("control")))
		s.log.Debug("control socket", "path", s.opts.Control)
	}
	if s.opts.HTTP != "" {
		srv, err := control.ServeHTTP(s.opts.HTTP, backend{s}, s.log.Named("http"))
		if err != nil {
			s.closeServers()
			return err
		}
		s.servers = append(s.servers, srv)
		s.log.Info("serving metrics and health", "address", srv.Addr())
	}
	return nil
}

func (s *supervisor) closeServers() {
	for _, srv := range s.servers {
		srv.Close()
	}
	s.servers = nil
}
