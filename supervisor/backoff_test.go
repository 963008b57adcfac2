package supervisor_test

import (
	"testing"
	"time"

	"github.com/slotrun/slotrun/supervisor"
)

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		k        int
		min, max time.Duration
		want     time.Duration
	}{
		{0, 100 * ms, 30 * time.Second, 0},
		{1, 100 * ms, 30 * time.Second, 100 * ms},
		{2, 100 * ms, 30 * time.Second, 200 * ms},
		{3, 100 * ms, 30 * time.Second, 400 * ms},
		{9, 100 * ms, 30 * time.Second, 25600 * ms},
		{10, 100 * ms, 30 * time.Second, 30 * time.Second},
		{1000, 100 * ms, 30 * time.Second, 30 * time.Second},
		{1 << 62, 100 * ms, 30 * time.Second, 30 * time.Second},
		{3, 100 * ms, 250 * ms, 250 * ms},
		{1, 500 * ms, 200 * ms, 200 * ms}, // min above max: max wins
		{5, 0, time.Second, 0},
		{2, time.Duration(1 << 62), time.Duration(1<<63 - 1), time.Duration(1<<63 - 1)},
	}
	for _, tt := range tests {
		if got := supervisor.Backoff(tt.k, tt.min, tt.max); got != tt.want {
			t.Errorf("Backoff(%d, %v, %v) = %v; want %v", tt.k, tt.min, tt.max, got, tt.want)
		}
	}
}
