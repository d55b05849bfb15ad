// Package metrics holds the catcher's Prometheus metrics, in a registry of
// their own; docs/catcher.md lists every metric and every label value.
package metrics

import (
	"github.com/netoops/netoops/pkg/wire"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Reasons a decoded packet is dropped, the values of the "reason" label of
// netoops_catcher_packets_dropped_total.
const (
	DropMaxDumps   = "max_dumps"      // in-flight table full and the oldest could not be stored
	DropPerSource  = "max_per_source" // the source has --max-per-source dumps in flight
	DropTooLarge   = "max_dump_bytes" // total_len above --max-dump-bytes
	DropAuth       = "auth"           // AUTH packets: no key support yet
	DropStoreError = "store_error"    // the piece could not be written to its temporary file
)

var dropReasons = []string{DropMaxDumps, DropPerSource, DropTooLarge, DropAuth, DropStoreError}

// DropReasons lists the values of the "reason" label of
// netoops_catcher_packets_dropped_total.
func DropReasons() []string { return append([]string(nil), dropReasons...) }

// Metrics are the catcher's Prometheus metrics, in their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	Received    prometheus.Counter
	Recovered   prometheus.Counter
	Forwarded   prometheus.Counter
	Decoded     prometheus.Counter
	NotNetoops  prometheus.Counter
	malformed   [256]prometheus.Counter
	Duplicates  prometheus.Counter
	dropped     map[string]prometheus.Counter
	DumpsFull   prometheus.Counter
	DumpsPart   prometheus.Counter
	DumpsSkip   prometheus.Counter
	BytesStored prometheus.Counter
	StoreErrors *prometheus.CounterVec
	ExecRuns    *prometheus.CounterVec
	Events      prometheus.Counter
}

// New returns the metrics, registered; inFlight and bookkeeping report the
// two gauges.
func New(inFlight, bookkeeping func() float64) *Metrics {
	const ns = "netoops_catcher"
	r := prometheus.NewRegistry()
	m := &Metrics{Registry: r}
	c := func(name, help string) prometheus.Counter {
		x := prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help})
		r.MustRegister(x)
		return x
	}
	m.Received = c("packets_received_total", "UDP payloads (or captured frames) handed to the decoder.")
	m.Recovered = c("packets_recovered_total", "Packets replayed at start from the spool a previous run left (it was killed with dumps in flight).")
	m.Forwarded = c("packets_forwarded_total", "Packets a receive socket's reader passed to another worker, their dump's (the kernel did not steer them by dump).")
	m.Decoded = c("packets_decoded_total", "Packets that passed validation (docs/wire-format.md section 4).")
	m.NotNetoops = c("frames_ignored_total", "Captured frames that were not UDP to the netoops port (capture/read only).")
	mal := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "packets_malformed_total",
		Help: "Packets dropped by validation, by wire error name."}, []string{"error"})
	r.MustRegister(mal)
	unregistered := prometheus.NewCounter(prometheus.CounterOpts{Name: "unused"}) // for values DecodeFromBytes never returns
	for i := range m.malformed {
		m.malformed[i] = unregistered
	}
	for _, e := range wire.DecodeErrors() {
		m.malformed[e] = mal.WithLabelValues(e.Name())
	}
	m.Duplicates = c("packets_duplicate_total", "Packets whose bytes were all held already.")
	drop := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "packets_dropped_total",
		Help: "Valid packets dropped, by reason."}, []string{"reason"})
	r.MustRegister(drop)
	m.dropped = map[string]prometheus.Counter{}
	for _, d := range dropReasons {
		m.dropped[d] = drop.WithLabelValues(d)
	}
	m.DumpsFull = c("dumps_complete_total", "Dumps stored complete.")
	m.DumpsPart = c("dumps_partial_total", "Dumps stored partial (idle, evicted, or flushed at exit); a dump stored partial and later again counts twice.")
	m.DumpsSkip = c("dumps_skipped_total", "Dumps not stored because a stored copy of the same dump was at least as complete.")
	m.BytesStored = c("bytes_stored_total", "Bytes of log files written (gap markers included).")
	m.StoreErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "store_errors_total",
		Help: "Storage errors (full disk...), by operation."}, []string{"op"})
	r.MustRegister(m.StoreErrors)
	for _, op := range []string{"write", "open", "store"} {
		m.StoreErrors.WithLabelValues(op)
	}
	m.ExecRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "exec_runs_total",
		Help: "--exec commands run, by result (ok, error, timeout, skipped)."}, []string{"result"})
	r.MustRegister(m.ExecRuns)
	for _, res := range []string{"ok", "error", "timeout", "skipped"} {
		m.ExecRuns.WithLabelValues(res)
	}
	m.Events = c("events_total", "Event lines written.")
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "dumps_in_flight",
		Help: "Dumps being received and not yet stored in their current state."}, inFlight))
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "bookkeeping_bytes",
		Help: "Approximate memory held for in-flight dumps: state, strings, range sets, write buffers (refreshed every sweep)."}, bookkeeping))
	return m
}

// SetSpoolGauges registers the spool's gauges: segment files held and the
// bytes in them.
func (m *Metrics) SetSpoolGauges(segments, bytes func() float64) {
	const ns = "netoops_catcher"
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "spool_segments",
		Help: "Spool segment files held for dumps in flight (refreshed every sweep)."}, segments))
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "spool_bytes",
		Help: "Bytes in the spool segments held (refreshed every sweep)."}, bytes))
}

// RegisterRuntime adds the Go runtime (heap...) and process (RSS, fds)
// collectors to the registry. The CLI does; tests need not.
func (m *Metrics) RegisterRuntime() {
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Malformed returns the counter of packets rejected with err.
func (m *Metrics) Malformed(err wire.DecodeError) prometheus.Counter { return m.malformed[uint8(err)] }

// Dropped returns the counter of packets dropped for reason.
func (m *Metrics) Dropped(reason string) prometheus.Counter { return m.dropped[reason] }
