package main

import (
	"slices"
)

// series is what one tool gave for one measurement: a figure per run
// (itself a median when a run takes several samples), or why there is none.
type series struct {
	Unit    string      `json:"unit"`
	Runs    []float64   `json:"runs,omitempty"`
	Samples [][]float64 `json:"samples,omitempty"` // every sample of every run, when a run takes several
	Median  float64     `json:"median"`
	Min     float64     `json:"min"`
	Max     float64     `json:"max"`
	Details []any       `json:"details,omitempty"` // per run, where a figure needs context
	NA      string      `json:"na,omitempty"`      // why the tool cannot do this
	Errors  []string    `json:"errors,omitempty"`  // what went wrong, per failed run
}

func (s *series) add(v float64, samples []float64) {
	s.Runs = append(s.Runs, v)
	if samples != nil {
		s.Samples = append(s.Samples, samples)
	}
	s.Median, s.Min, s.Max = median(s.Runs), slices.Min(s.Runs), slices.Max(s.Runs)
}

// median of a non-empty list; the mean of the middle two for an even count.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// results holds every series: tool name → metric id → series.
type results map[string]map[string]*series

func (r results) get(tool, metric string) *series {
	if r[tool] == nil {
		r[tool] = map[string]*series{}
	}
	s := r[tool][metric]
	if s == nil {
		s = &series{Unit: metricByID(metric).unit}
		r[tool][metric] = s
	}
	return s
}

// failed reports whether any measurement failed.
func (r results) failed() bool {
	for _, byMetric := range r {
		for _, s := range byMetric {
			if len(s.Errors) > 0 {
				return true
			}
		}
	}
	return false
}
