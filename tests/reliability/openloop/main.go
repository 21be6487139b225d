// openloop: the load generator of tests/reliability/overload.sh (stdlib only, built offline).
//
//	openloop closed URL CONNS SECONDS          CONNS clients back to back: the service's capacity (req/s)
//	openloop open URL RATE SECONDS [BUCKET_MS]  one request every 1/RATE s whatever the answers do
//
// In open mode each request's latency is counted from when it was due, not from when it was sent
// (no coordinated omission). It prints one line of key=value figures: answers by kind (ok: 200,
// shed: 503 or 429, and how many of those said Retry-After; errors: anything else, timeouts
// included), p50/p99 of the admitted and of the shed, and with BUCKET_MS the admitted p99 and the
// failures of each bucket, for recovery.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type sample struct {
	due        time.Duration // since start
	ms         float64
	status     int
	retryAfter bool
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	i := int(p * float64(len(v)))
	if i >= len(v) {
		i = len(v) - 1
	}
	return v[i]
}

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: openloop closed|open URL CONNS|RATE SECONDS [BUCKET_MS]")
		os.Exit(2)
	}
	mode, url := os.Args[1], os.Args[2]
	n, _ := strconv.ParseFloat(os.Args[3], 64)
	secs, _ := strconv.ParseFloat(os.Args[4], 64)
	bucket := 0
	if len(os.Args) > 5 {
		bucket, _ = strconv.Atoi(os.Args[5])
	}
	log.SetOutput(io.Discard) // the transport's notes on connections the server closed
	// At most 2,000 connections: a request beyond waits for one, and that wait counts in its latency.
	tr := &http.Transport{MaxIdleConns: 2000, MaxIdleConnsPerHost: 2000, MaxConnsPerHost: 2000, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var mu sync.Mutex
	var samples []sample
	do := func(start time.Time, due time.Duration) {
		r, err := client.Get(url)
		s := sample{due: due}
		if err == nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			s.status = r.StatusCode
			s.retryAfter = r.Header.Get("Retry-After") != ""
		}
		s.ms = float64(time.Since(start.Add(due)).Microseconds()) / 1000
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
	}
	start := time.Now()
	total := time.Duration(secs * float64(time.Second))
	var wg sync.WaitGroup
	if mode == "closed" {
		for i := 0; i < int(n); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < total {
					do(start, time.Since(start))
				}
			}()
		}
	} else {
		interval := time.Duration(float64(time.Second) / n)
		for due := time.Duration(0); due < total; due += interval {
			if d := time.Until(start.Add(due)); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func(due time.Duration) {
				defer wg.Done()
				do(start, due)
			}(due)
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var ok, shed []float64
	shedRA, errors := 0, 0
	for _, s := range samples {
		switch {
		case s.status == 200:
			ok = append(ok, s.ms)
		case s.status == 503 || s.status == 429:
			shed = append(shed, s.ms)
			if s.retryAfter {
				shedRA++
			}
		default:
			errors++
		}
	}
	sort.Float64s(ok)
	sort.Float64s(shed)
	fmt.Printf("requests=%d rate=%.0f ok=%d ok_per_s=%.0f shed=%d shed_with_retry_after=%d errors=%d "+
		"ok_p50_ms=%.2f ok_p99_ms=%.2f shed_p50_ms=%.2f shed_p99_ms=%.2f\n",
		len(samples), float64(len(samples))/secs, len(ok), float64(len(ok))/elapsed, len(shed), shedRA, errors,
		pct(ok, 0.5), pct(ok, 0.99), pct(shed, 0.5), pct(shed, 0.99))
	if bucket > 0 {
		w := time.Duration(bucket) * time.Millisecond
		nb := int(total/w) + 1
		lat := make([][]float64, nb)
		fails := make([]int, nb)
		for _, s := range samples {
			b := int(s.due / w)
			if s.status == 200 {
				lat[b] = append(lat[b], s.ms)
			} else {
				fails[b]++
			}
		}
		var parts []string
		for b := 0; b < nb; b++ {
			sort.Float64s(lat[b])
			parts = append(parts, fmt.Sprintf("%.2f/%d", pct(lat[b], 0.99), fails[b]))
		}
		fmt.Printf("buckets_p99_ms/failures=%s\n", strings.Join(parts, ","))
	}
}
