// soakload: user-svc's soak load (docs/reliability.md), mixed reads and writes, written with Go's
// net/http so that the client is nobody's here and fast enough for an open loop at thousands of
// requests per second on this machine.
//
//	soakload capacity URL SECONDS          closed loop, 16 workers: prints requests/s
//	soakload run URL PID RATE SECONDS OUT  open loop at RATE requests/s for SECONDS, JSON to OUT
//
// In run mode requests leave on a fixed schedule whatever the answers do, and latency counts from the
// scheduled time (a request waiting for one of the 64 connections is late, not skipped), so a stall
// shows as latency rather than as a lower rate. The mix: 60 % GET
// /v1/users/{id} of a user written earlier, 20 % GET /v1/users?limit=20, 10 % POST /v1/users, 10 %
// PATCH /v1/users/{id}. Every second the service's RSS, open fds and threads are read from /proc/PID.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	base    string
	client  = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64, MaxIdleConns: 64}}
	mu      sync.Mutex
	ids     []int64
	counter int64
	stamp   = time.Now().UnixMilli()
)

func do(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func create(name string) bool {
	n := atomic.AddInt64(&counter, 1)
	status, data, err := do("POST", "/v1/users", map[string]string{"email": fmt.Sprintf("s%d.%d@example.com", stamp, n), "name": name})
	if err != nil || status != 201 {
		return false
	}
	var u struct {
		ID int64 `json:"id"`
	}
	if json.Unmarshal(data, &u) != nil {
		return false
	}
	mu.Lock()
	ids = append(ids, u.ID)
	mu.Unlock()
	return true
}

func pick(r *rand.Rand) int64 {
	mu.Lock()
	defer mu.Unlock()
	return ids[r.Intn(len(ids))]
}

// one sends a request of the mix; true when its status is the expected one.
func one(r *rand.Rand) bool {
	x := r.Float64()
	switch {
	case x < 0.6:
		status, _, err := do("GET", fmt.Sprintf("/v1/users/%d", pick(r)), nil)
		return err == nil && status == 200
	case x < 0.8:
		status, _, err := do("GET", "/v1/users?limit=20", nil)
		return err == nil && status == 200
	case x < 0.9:
		return create("Soak")
	default:
		status, _, err := do("PATCH", fmt.Sprintf("/v1/users/%d", pick(r)), map[string]string{"name": "Soak " + strconv.Itoa(r.Intn(1000))})
		return err == nil && status == 200
	}
}

func seed() {
	for i := 0; i < 200; i++ {
		if !create("Seed") {
			fmt.Fprintln(os.Stderr, "soakload: seeding users failed")
			os.Exit(1)
		}
	}
}

type sample struct {
	T       float64 `json:"t"`
	RSSKB   int64   `json:"rss_kb"`
	Threads int     `json:"threads"`
	FDs     int     `json:"fds"`
}

func procSample(pid string) sample {
	var s sample
	data, _ := os.ReadFile("/proc/" + pid + "/status")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			s.RSSKB, _ = strconv.ParseInt(f[1], 10, 64)
		} else if len(f) >= 2 && f[0] == "Threads:" {
			s.Threads, _ = strconv.Atoi(f[1])
		}
	}
	fds, _ := os.ReadDir("/proc/" + pid + "/fd")
	s.FDs = len(fds)
	return s
}

func main() {
	mode := os.Args[1]
	base = strings.TrimSuffix(os.Args[2], "/")
	seed()
	if mode == "capacity" {
		secs, _ := strconv.ParseFloat(os.Args[3], 64)
		end := time.Now().Add(time.Duration(secs * float64(time.Second)))
		var done int64
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				r := rand.New(rand.NewSource(int64(w)))
				for time.Now().Before(end) {
					if one(r) {
						atomic.AddInt64(&done, 1)
					}
				}
			}(w)
		}
		wg.Wait()
		fmt.Println(int(float64(done) / secs))
		return
	}
	pid := os.Args[3]
	rate, _ := strconv.ParseFloat(os.Args[4], 64)
	secs, _ := strconv.ParseFloat(os.Args[5], 64)
	out := os.Args[6]
	type result struct {
		At, Ms float64
		OK     bool
	}
	total := int(rate * secs)
	results := make([]result, total)
	var samples []sample
	start := time.Now()
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		defer close(sampled)
		for {
			s := procSample(pid)
			s.T = time.Since(start).Seconds()
			samples = append(samples, s)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var wg sync.WaitGroup
	for n := 0; n < total; n++ {
		at := time.Duration(float64(n) / rate * float64(time.Second))
		if d := time.Until(start.Add(at)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(n int, at time.Duration) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(n)))
			ok := one(r)
			results[n] = result{at.Seconds(), float64(time.Since(start)-at) / float64(time.Millisecond), ok}
		}(n, at)
	}
	wg.Wait()
	close(stop)
	<-sampled
	lat := make([][3]any, total)
	errors := 0
	for i, r := range results {
		lat[i] = [3]any{r.At, r.Ms, r.OK}
		if !r.OK {
			errors++
		}
	}
	f, err := os.Create(out)
	if err != nil {
		panic(err)
	}
	json.NewEncoder(f).Encode(map[string]any{"rate": rate, "seconds": secs, "samples": samples, "latencies": lat})
	f.Close()
	fmt.Printf("sent %d at %.0f/s for %.0f s, errors %d\n", total, rate, secs, errors)
}
