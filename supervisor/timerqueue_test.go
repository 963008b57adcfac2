package supervisor

import (
	"testing"
	"time"
)

// The queue runs timers in the order they fall due, and a stopped one
// never runs.
func TestTimerQueueRunsDueTimersInOrderAndSkipsStopped(t *testing.T) {
	var q timerQueue
	fired := make(chan int, 16)
	// Armed out of order; 3 and 5 are stopped before they are due.
	delays := []time.Duration{40, 10, 30, 20, 50, 0}
	stops := make([]func() bool, len(delays))
	for i, d := range delays {
		stops[i] = q.after(d*time.Millisecond, func() { fired <- i })
	}
	if !stops[3]() || !stops[4]() {
		t.Fatal("stop of a timer not yet due reported false")
	}
	var got []int
	deadline := time.After(10 * time.Second)
	for len(got) < 4 {
		select {
		case i := <-fired:
			got = append(got, i)
		case <-deadline:
			t.Fatalf("after 10 s only %v fired", got)
		}
	}
	want := []int{5, 1, 2, 0} // by delay: 0, 10, 30, 40 ms
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fired in order %v, want %v", got, want)
		}
	}
	if stops[0]() {
		t.Error("stop of a timer that fired reported true")
	}
	// 3 and 4 were due at 20 and 50 ms; a later timer fires after them.
	late := make(chan struct{})
	q.after(60*time.Millisecond, func() { close(late) })
	select {
	case <-late:
	case <-time.After(10 * time.Second):
		t.Fatal("a timer armed after the others never fired")
	}
	select {
	case i := <-fired:
		t.Fatalf("stopped timer %d fired", i)
	default:
	}
}

// Stopping the first timer moves the runtime timer to the next one, and
// stopping the last stops it: nothing is left to wake the process.
func TestTimerQueueStopOfTheFirstRearms(t *testing.T) {
	var q timerQueue
	ran := make(chan struct{}, 2)
	stopFirst := q.after(time.Hour, func() { ran <- struct{}{} })
	stopSecond := q.after(2*time.Hour, func() { ran <- struct{}{} })
	stopFirst()
	if len(q.due) != 1 || q.due[0].index != 0 {
		t.Fatalf("after stopping the first, %d timers queued", len(q.due))
	}
	stopSecond()
	if len(q.due) != 0 {
		t.Fatalf("after stopping both, %d timers queued", len(q.due))
	}
	if q.runner.Stop() {
		t.Error("the runtime timer was still set with nothing queued")
	}
	select {
	case <-ran:
		t.Fatal("a stopped timer ran")
	default:
	}
}
