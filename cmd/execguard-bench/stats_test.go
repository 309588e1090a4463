package main

import (
	"testing"
	"time"
)

func us(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Microsecond
	}
	return out
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name    string
		in      []time.Duration
		want    summary
		wantErr bool
	}{
		{name: "empty", in: nil, wantErr: true},
		{name: "one", in: us(7), want: summary{Median: 7 * time.Microsecond, P90: 7 * time.Microsecond, Min: 7 * time.Microsecond}},
		{name: "odd unsorted", in: us(30, 10, 20), want: summary{Median: 20 * time.Microsecond, P90: 28 * time.Microsecond, Min: 10 * time.Microsecond}},
		{name: "even takes midpoint", in: us(40, 10, 30, 20), want: summary{Median: 25 * time.Microsecond, P90: 37 * time.Microsecond, Min: 10 * time.Microsecond}},
		{name: "ten", in: us(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), want: summary{Median: 5500 * time.Nanosecond, P90: 9100 * time.Nanosecond, Min: time.Microsecond}},
		{name: "outlier moves p90 not median", in: us(1, 1, 1, 1, 1000), want: summary{Median: time.Microsecond, P90: 600400 * time.Nanosecond, Min: time.Microsecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.in...)
			got, err := summarize(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("summarize reordered its input: %v, was %v", tt.in, in)
				}
			}
		})
	}
}

func TestPairedDiffMedian(t *testing.T) {
	tests := []struct {
		name            string
		direct, wrapped []time.Duration
		want            time.Duration
		wantErr         bool
	}{
		{name: "unpaired", direct: us(1, 2), wrapped: us(1), wantErr: true},
		{name: "empty", wantErr: true},
		// Drift raises both sides of a pair alike; the paired difference
		// stays 5 while the medians' difference would not see it either way.
		{name: "drift cancels", direct: us(100, 200, 300), wrapped: us(105, 205, 305), want: 5 * time.Microsecond},
		{name: "negative", direct: us(10, 10, 10), wrapped: us(9, 8, 30), want: -time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pairedDiffMedian(tt.direct, tt.wrapped)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		wrapped, direct time.Duration
		want            string
		wantErr         bool
	}{
		{wrapped: 1500, direct: 1000, want: "1.500"},
		{wrapped: 1000, direct: 1000, want: "1.000"},
		{wrapped: 2, direct: 3, want: "0.667"},
		{wrapped: 5, direct: 0, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ratio(tt.wrapped, tt.direct)
		if (err != nil) != tt.wantErr {
			t.Fatalf("ratio(%v, %v) err = %v, wantErr %v", tt.wrapped, tt.direct, err, tt.wantErr)
		}
		if err == nil {
			if s := formatRatio(got); s != tt.want {
				t.Errorf("ratio(%v, %v) = %s, want %s", tt.wrapped, tt.direct, s, tt.want)
			}
		}
	}
}
