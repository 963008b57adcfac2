package supervisor

import "time"

// Backoff returns how long to wait before restarting after the k-th
// consecutive quick failure: min·2^(k-1), capped at max. k < 1 waits nothing.
func Backoff(k int, min, max time.Duration) time.Duration {
	if k < 1 || min <= 0 {
		return 0
	}
	d := min
	for i := 1; i < k; i++ {
		if d >= max/2 { // doubling would pass max (and, for huge k, overflow)
			return max
		}
		d *= 2
	}
	return minDuration(d, max)
}

func minDuration(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}
