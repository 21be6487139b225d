// The same operations as pkg/svckit/metrics/metrics_bench.cpp with Prometheus' Go client
// (client_golang, what Gin/go-zero/Kratos services use). Built offline in GOPATH mode from Debian's
// golang-github-prometheus-client-golang-dev.
package peers

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

func BenchmarkCounterInc(b *testing.B) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "b_total", Help: "x"})
	for i := 0; i < b.N; i++ {
		c.Inc()
	}
}

func BenchmarkLabelledIncCachedHandle(b *testing.B) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "b_labelled_total", Help: "x"}, []string{"method", "route", "status"})
	c := v.WithLabelValues("GET", "/users/:id", "200")
	for i := 0; i < b.N; i++ {
		c.Inc()
	}
}

func BenchmarkLabelledIncLookup(b *testing.B) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "b_lookup_total", Help: "x"}, []string{"method", "route", "status"})
	for i := 0; i < b.N; i++ {
		v.WithLabelValues("GET", "/users/:id", "200").Inc()
	}
}

func BenchmarkHistogramObserve(b *testing.B) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "b_seconds", Help: "x"})
	v := 0.0001
	for i := 0; i < b.N; i++ {
		h.Observe(v)
		if v > 20 {
			v = 0.0001
		} else {
			v *= 1.7
		}
	}
}

func BenchmarkRender10kSeries(b *testing.B) {
	r := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "b_series_total", Help: "x"}, []string{"route", "status"})
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "b_series_seconds", Help: "x"}, []string{"route"})
	r.MustRegister(c, h)
	for i := 0; i < 9000; i++ {
		c.WithLabelValues("/r"+strconv.Itoa(i/9), strconv.Itoa(200+i%9)).Add(float64(i))
	}
	for i := 0; i < 77; i++ {
		h.WithLabelValues("/r" + strconv.Itoa(i)).Observe(float64(i) * 0.01)
	}
	var buf bytes.Buffer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		mfs, _ := r.Gather()
		enc := expfmt.NewEncoder(&buf, expfmt.FmtText)
		for _, mf := range mfs {
			enc.Encode(mf)
		}
	}
}
