package supervisor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRoomInAPidsCgroup(t *testing.T) {
	tests := []struct {
		max, current string
		room         int
		limited      bool
	}{
		{"max\n", "12\n", 0, false},
		{"100\n", "12\n", 88, true},
		{"12\n", "12\n", 0, true},
		{"", "", 0, false}, // no pids controller in this directory
	}
	for _, tt := range tests {
		dir := t.TempDir()
		if tt.max != "" {
			os.WriteFile(filepath.Join(dir, "pids.max"), []byte(tt.max), 0o644)
			os.WriteFile(filepath.Join(dir, "pids.current"), []byte(tt.current), 0o644)
		}
		room, limited := roomIn(dir)
		if room != tt.room || limited != tt.limited {
			t.Errorf("pids.max %q, pids.current %q: room %d, limited %v; want %d, %v",
				tt.max, tt.current, room, limited, tt.room, tt.limited)
		}
	}
}
