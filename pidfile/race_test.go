package pidfile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slotrun/slotrun/pidfile"
)

// As in pidfile_test.go, no test here calls t.Parallel.

func TestRacingCreatorsOnAStaleFileExactlyOneWins(t *testing.T) {
	// Goroutines race as separate instances would: flock locks belong to the
	// open file description, so each Create's descriptor competes. Readers
	// poll throughout and must never see the file missing or half-written.
	const rounds, creators, readers = 20, 8, 4
	for round := range rounds {
		dir := t.TempDir()
		path := filepath.Join(dir, "slotrun.pid")
		writeFile(t, path, fmt.Sprintf("%d\n", neverAPID))

		start, stop := make(chan struct{}), make(chan struct{})
		var creatorsWG, readersWG sync.WaitGroup
		files := make([]*pidfile.File, creators)
		errs := make([]error, creators)
		for i := range creators {
			creatorsWG.Go(func() {
				<-start
				files[i], errs[i] = pidfile.Create(path)
			})
		}
		readerErrs := make(chan error, readers)
		for range readers {
			readersWG.Go(func() {
				<-start
				for {
					select {
					case <-stop:
						return
					default:
					}
					pid, err := pidfile.Read(path)
					if err == nil && pid == os.Getpid() ||
						errors.Is(err, pidfile.ErrNotRunning) && !strings.Contains(err.Error(), "no pid file") {
						continue
					}
					readerErrs <- fmt.Errorf("Read = %d, %v; want our PID or ErrNotRunning for a file that exists", pid, err)
					return
				}
			})
		}
		close(start)
		creatorsWG.Wait()
		close(stop)
		readersWG.Wait()
		close(readerErrs)
		for err := range readerErrs {
			t.Errorf("round %d: %v", round, err)
		}

		var winner *pidfile.File
		for i, err := range errs {
			var running *pidfile.RunningError
			switch {
			case err == nil && winner == nil:
				winner = files[i]
			case err == nil:
				t.Errorf("round %d: two creators won", round)
				files[i].Remove()
			case !errors.As(err, &running):
				t.Errorf("round %d: a loser got %v; want ErrRunning", round, err)
			case running.PID != os.Getpid() && running.PID != neverAPID:
				// neverAPID only if the winner stalled between locking the
				// stale file and renaming its own over it for longer than
				// Create's retry budget.
				t.Errorf("round %d: a loser reports pid %d; want ours, %d", round, running.PID, os.Getpid())
			}
		}
		if winner == nil {
			t.Fatalf("round %d: no creator won; errors: %v", round, errs)
		}
		if pid, err := pidfile.Read(path); err != nil || pid != os.Getpid() {
			t.Errorf("round %d: Read after the race = %d, %v; want our PID", round, pid, err)
		}
		if err := winner.Remove(); err != nil {
			t.Errorf("round %d: Remove: %v", round, err)
		}
		assertDirHolds(t, dir)
		if t.Failed() {
			return
		}
	}
}

func TestRacingProcessesOnAStaleFileExactlyOneWins(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "slotrun.pid")
	writeFile(t, path, fmt.Sprintf("%d\n", neverAPID))
	const n = 6
	helpers := make([]*helper, n)
	for i := range helpers {
		helpers[i] = startHelper(t, helperOpts{path: path, gate: true})
	}
	for _, h := range helpers {
		h.waitFor(t, waitingLine)
	}
	for _, h := range helpers {
		h.release(t)
	}

	var winner *helper
	var losers []int // the PIDs the losers report
	for _, h := range helpers {
		line := h.next(t)
		if line == readyLine {
			if winner != nil {
				t.Fatalf("helpers %d and %d both won", winner.pid(), h.pid())
			}
			winner = h
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(line, runningLine, &pid); err != nil {
			t.Fatalf("helper %d said %q; want %q or %q", h.pid(), line, readyLine, runningLine)
		}
		losers = append(losers, pid)
	}
	if winner == nil {
		t.Fatalf("no helper won; the losers report %v", losers)
	}
	for _, pid := range losers {
		if pid != winner.pid() && pid != neverAPID { // see the goroutine race
			t.Errorf("a loser reports pid %d; want the winner's, %d", pid, winner.pid())
		}
	}
	if pid, err := pidfile.Read(path); err != nil || pid != winner.pid() {
		t.Errorf("Read = %d, %v; want the winner's PID %d", pid, err, winner.pid())
	}
	assertDirHolds(t, dir, "slotrun.pid")
}
