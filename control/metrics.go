package control

import (
	"strconv"
	"strings"
)

// The Prometheus text exposition (format 0.0.4) of a status snapshot, by
// hand: the client libraries cost more memory than the whole supervisor
// may use (docs/control.md, "Metrics"). Every series of a scrape comes
// from one snapshot, so a scrape sees one consistent moment and the
// supervisor keeps no metric state of its own.

const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// family is one metric: its name, type and HELP text.
type family struct{ name, typ, help string }

var (
	famBuildInfo   = family{"slotrun_build_info", "gauge", "Always 1; the version label says which slotrun runs."}
	famStartTime   = family{"slotrun_start_time_seconds", "gauge", "When the supervisor started, in seconds since the Unix epoch."}
	famDesired     = family{"slotrun_workers_desired", "gauge", "How many workers the supervisor keeps running."}
	famWorkers     = family{"slotrun_workers", "gauge", "Workers in each state: starting, ready, stopping, backoff."}
	famReady       = family{"slotrun_worker_ready", "gauge", "1 if the slot's worker is ready, else 0."}
	famWorkerStart = family{"slotrun_worker_start_time_seconds", "gauge", "When the slot's running worker started, in seconds since the Unix epoch."}
	famRestarts    = family{"slotrun_worker_restarts_total", "counter", "Restarts of the slot's worker after it ended, since the supervisor started (not reset when a scale-down and scale-up give the slot a new worker)."}
	famLastExit    = family{"slotrun_worker_last_exit_code", "gauge", "Exit code of the slot's last worker to end; 128+signal if a signal killed it."}
	famRolling     = family{"slotrun_rolling_restarts_total", "counter", "Rolling restarts since the supervisor started, by result: completed or halted."}
)

// header appends the family's HELP and TYPE lines.
func (f family) header(b []byte) []byte {
	b = append(b, "# HELP "...)
	b = append(b, f.name...)
	b = append(b, ' ')
	b = append(b, f.help...)
	b = append(b, "\n# TYPE "...)
	b = append(b, f.name...)
	b = append(b, ' ')
	b = append(b, f.typ...)
	return append(b, '\n')
}

// sample appends one sample line: name{label="value"} v.
func (f family) sample(b []byte, label, value string, v float64) []byte {
	b = append(b, f.name...)
	if label != "" {
		b = append(b, '{')
		b = append(b, label...)
		b = append(b, `="`...)
		b = append(b, escapeLabel(value)...)
		b = append(b, `"}`...)
	}
	b = append(b, ' ')
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	return append(b, '\n')
}

// slotSample appends name{slot="N"} v, without making a string of N.
func (f family) slotSample(b []byte, slot int, v float64) []byte {
	b = append(b, f.name...)
	b = append(b, `{slot="`...)
	b = strconv.AppendInt(b, int64(slot), 10)
	b = append(b, `"} `...)
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	return append(b, '\n')
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// appendMetrics appends the exposition of st to b. Each family's lines
// are together, as the format requires; a per-slot series is absent while
// it has no value (no worker running, no exit yet).
func appendMetrics(b []byte, st *Status) []byte {
	b = famBuildInfo.header(b)
	b = famBuildInfo.sample(b, "version", st.Version, 1)
	b = famStartTime.header(b)
	b = famStartTime.sample(b, "", "", unixSeconds(st.Started))
	b = famDesired.header(b)
	b = famDesired.sample(b, "", "", float64(st.Desired))

	b = famWorkers.header(b)
	for _, state := range States {
		n := 0
		for i := range st.Workers {
			if st.Workers[i].State == state {
				n++
			}
		}
		b = famWorkers.sample(b, "state", state, float64(n))
	}

	b = perSlot(b, famReady, st.Workers, func(w *Worker) (float64, bool) {
		if w.State == StateReady {
			return 1, true
		}
		return 0, true
	})
	b = perSlot(b, famWorkerStart, st.Workers, func(w *Worker) (float64, bool) {
		return unixSeconds(w.Started), !w.Started.IsZero()
	})
	b = perSlot(b, famRestarts, st.Workers, func(w *Worker) (float64, bool) {
		return float64(w.RestartsTotal), true
	})
	b = perSlot(b, famLastExit, st.Workers, func(w *Worker) (float64, bool) {
		if w.LastExit == nil {
			return 0, false
		}
		return float64(w.LastExit.ShellCode), true
	})
	b = famRolling.header(b)
	b = famRolling.sample(b, "result", "completed", float64(st.RollingDone))
	b = famRolling.sample(b, "result", "halted", float64(st.RollingHalted))
	return b
}

// perSlot appends a per-slot family: a sample for each worker that has a
// value, and nothing at all, not even HELP, if none has.
func perSlot(b []byte, f family, workers []Worker, value func(*Worker) (float64, bool)) []byte {
	headed := false
	for i := range workers {
		v, ok := value(&workers[i])
		if !ok {
			continue
		}
		if !headed {
			b = f.header(b)
			headed = true
		}
		b = f.slotSample(b, workers[i].Slot, v)
	}
	return b
}
