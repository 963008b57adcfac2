package supervisor

import (
	"container/heap"
	"sync"
	"time"
)

// timerQueue runs any number of timers on one runtime timer. Every timer of
// the supervisor only posts an event to the loop, and time.AfterFunc would
// start a goroutine for each one that fires: 64 workers passing
// --min-uptime together meant 64 goroutines at once, whose stacks the
// runtime then keeps (docs/architecture.md, "Timers"). Here one callback
// runs whatever is due, in order, then sets the runtime timer for the next.
type timerQueue struct {
	mu     sync.Mutex
	due    dueTimers
	runner *time.Timer // fires at due[0].at; nil until the first timer
}

// queuedTimer is one timer; index is its place in the heap, -1 once it has
// fired or been stopped.
type queuedTimer struct {
	at    time.Time
	f     func()
	index int
}

// after calls f once, after d, on the queue's goroutine; stop cancels it
// and reports whether it had not fired yet.
func (q *timerQueue) after(d time.Duration, f func()) (stop func() bool) {
	t := &queuedTimer{at: time.Now().Add(d), f: f}
	q.mu.Lock()
	heap.Push(&q.due, t)
	if t.index == 0 {
		q.rearm()
	}
	q.mu.Unlock()
	return func() bool { return q.stop(t) }
}

func (q *timerQueue) stop(t *queuedTimer) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t.index < 0 {
		return false
	}
	first := t.index == 0
	heap.Remove(&q.due, t.index)
	if first {
		// Move the runtime timer to the new first one (or stop it), so a
		// stopped timer costs no wake-up later.
		q.rearm()
	}
	return true
}

// fire runs every timer that is due, one after the other, outside the lock.
func (q *timerQueue) fire() {
	for {
		q.mu.Lock()
		if len(q.due) == 0 || q.due[0].at.After(time.Now()) {
			q.rearm()
			q.mu.Unlock()
			return
		}
		t := heap.Pop(&q.due).(*queuedTimer)
		q.mu.Unlock()
		t.f()
	}
}

// rearm sets the runtime timer for the first due timer; q.mu is held.
func (q *timerQueue) rearm() {
	if len(q.due) == 0 {
		if q.runner != nil {
			q.runner.Stop()
		}
		return
	}
	d := time.Until(q.due[0].at)
	if q.runner == nil {
		q.runner = time.AfterFunc(d, q.fire)
		return
	}
	q.runner.Reset(d)
}

// dueTimers is a min-heap of timers by due time (container/heap).
type dueTimers []*queuedTimer

func (h dueTimers) Len() int           { return len(h) }
func (h dueTimers) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueTimers) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *dueTimers) Push(x any) {
	t := x.(*queuedTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *dueTimers) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
