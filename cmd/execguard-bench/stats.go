package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// summary condenses one side's samples.
type summary struct {
	Median time.Duration
	P90    time.Duration
	Min    time.Duration
}

func summarize(samples []time.Duration) (summary, error) {
	if len(samples) == 0 {
		return summary{}, errors.New("no samples")
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return summary{Median: quantile(s, 0.5), P90: quantile(s, 0.9), Min: s[0]}, nil
}

// quantile interpolates linearly between closest ranks (the "type 7"
// estimator of R and numpy), so the 0.5 quantile is the usual median. sorted
// must be ascending and non-empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	frac := pos - float64(lo)
	return sorted[lo] + time.Duration(math.Round(frac*float64(sorted[hi]-sorted[lo])))
}

// pairedDiffMedian is the median of wrapped[i]-direct[i]. Each pair ran back
// to back, so slow drift of the machine cancels within a pair.
func pairedDiffMedian(direct, wrapped []time.Duration) (time.Duration, error) {
	if len(direct) != len(wrapped) {
		return 0, fmt.Errorf("unpaired samples: %d direct, %d wrapped", len(direct), len(wrapped))
	}
	diffs := make([]time.Duration, len(direct))
	for i := range direct {
		diffs[i] = wrapped[i] - direct[i]
	}
	s, err := summarize(diffs)
	if err != nil {
		return 0, err
	}
	return s.Median, nil
}

func ratio(wrapped, direct time.Duration) (float64, error) {
	if direct <= 0 {
		return 0, fmt.Errorf("direct median is %v, no ratio", direct)
	}
	return float64(wrapped) / float64(direct), nil
}

func toMicros(d time.Duration) float64 {
	return float64(d) / float64(time.Microsecond)
}

func micros(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", toMicros(d))
}

func formatRatio(r float64) string {
	return fmt.Sprintf("%.3f", r)
}
