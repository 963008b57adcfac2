package control

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics, one Desc each. Every series is built from one status
// snapshot per scrape, so a scrape sees one consistent moment and the
// supervisor keeps no metric state of its own (docs/control.md).
var (
	descBuildInfo = prometheus.NewDesc("slotrun_build_info",
		"Always 1; the version label says which slotrun runs.", []string{"version"}, nil)
	descStartTime = prometheus.NewDesc("slotrun_start_time_seconds",
		"When the supervisor started, in seconds since the Unix epoch.", nil, nil)
	descDesired = prometheus.NewDesc("slotrun_workers_desired",
		"How many workers the supervisor keeps running.", nil, nil)
	descWorkers = prometheus.NewDesc("slotrun_workers",
		"Workers in each state: starting, ready, stopping, backoff.", []string{"state"}, nil)
	descReady = prometheus.NewDesc("slotrun_worker_ready",
		"1 if the slot's worker is ready, else 0.", []string{"slot"}, nil)
	descWorkerStart = prometheus.NewDesc("slotrun_worker_start_time_seconds",
		"When the slot's running worker started, in seconds since the Unix epoch.", []string{"slot"}, nil)
	descRestarts = prometheus.NewDesc("slotrun_worker_restarts_total",
		"Restarts of the slot's worker after it ended, since the supervisor started.", []string{"slot"}, nil)
	descLastExit = prometheus.NewDesc("slotrun_worker_last_exit_code",
		"Exit code of the slot's last worker to end; 128+signal if a signal killed it.", []string{"slot"}, nil)
	descRolling = prometheus.NewDesc("slotrun_rolling_restarts_total",
		"Rolling restarts since the supervisor started, by result: completed or halted.", []string{"result"}, nil)
)

// collector turns a status snapshot into the metrics.
type collector struct{ backend Backend }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBuildInfo, descStartTime, descDesired, descWorkers,
		descReady, descWorkerStart, descRestarts, descLastExit, descRolling} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), livenessTimeout)
	defer cancel()
	st, err := c.backend.Status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descBuildInfo, err)
		return
	}
	collectStatus(st, ch)
}

func collectStatus(st *Status, ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descBuildInfo, 1, st.Version)
	gauge(descStartTime, unixSeconds(st.Started))
	gauge(descDesired, float64(st.Desired))
	inState := map[string]int{}
	for _, w := range st.Workers {
		inState[w.State]++
		slot := strconv.Itoa(w.Slot)
		ready := 0.0
		if w.State == StateReady {
			ready = 1
		}
		gauge(descReady, ready, slot)
		if !w.Started.IsZero() {
			gauge(descWorkerStart, unixSeconds(w.Started), slot)
		}
		counter(descRestarts, float64(w.Restarts), slot)
		if w.LastExit != nil {
			gauge(descLastExit, float64(w.LastExit.ShellCode), slot)
		}
	}
	for _, state := range States {
		gauge(descWorkers, float64(inState[state]), state)
	}
	counter(descRolling, float64(st.RollingDone), "completed")
	counter(descRolling, float64(st.RollingHalted), "halted")
}
