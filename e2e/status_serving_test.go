package e2e

import (
	"strings"
	"testing"
)

// status shows what issues 9 and 11 added to the supervisor: the ids across
// replicas, the sockets slotrun holds (with the real port of :0), and the
// STATUS= each worker sent.
func TestStatusShowsIDsListenersAndWorkerStatus(t *testing.T) {
	t.Parallel()
	p := start(t, "-n", "2", "--slots", "2", "--ordinal", "1", "--replicas", "2",
		"--listen", "http=tcp://127.0.0.1:0", "--ready", "notify", "--",
		sdworkerBin, "-status", "all-good")
	p.waitStderr(`worker ready: id=2 slot=0 `)
	p.waitStderr(`worker ready: id=3 slot=1 `)
	var st statusObject
	eventually(t, waitFor, "both workers ready with their STATUS=", func() bool {
		st = statusOf(t, p.dir)
		if st.Ready != 2 || len(st.Workers) != 2 {
			return false
		}
		for _, w := range st.Workers {
			if w.Status == nil || *w.Status != "all-good" {
				return false
			}
		}
		return true
	})
	if st.IDs.First != 2 || st.IDs.Count != 4 {
		t.Errorf("ids = %+v; want first 2 (ordinal 1 × 2 slots), count 4", st.IDs)
	}
	for slot, w := range st.Workers {
		if w.Slot != slot || w.ID != 2+slot {
			t.Errorf("worker %+v; want slot %d with id %d", w, slot, 2+slot)
		}
	}
	if len(st.Listeners) != 1 || st.Listeners[0].Name != "http" ||
		!strings.HasPrefix(st.Listeners[0].Address, "tcp://127.0.0.1:") || strings.HasSuffix(st.Listeners[0].Address, ":0") {
		t.Errorf("listeners = %+v; want http at tcp://127.0.0.1:<the bound port>", st.Listeners)
	}
}
