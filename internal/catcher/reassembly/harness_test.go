package reassembly

import (
	"encoding/json"
	"github.com/netoops/netoops/internal/catcher/ranges"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/event"
	"github.com/netoops/netoops/internal/catcher/store"
	"github.com/netoops/netoops/internal/catcher/store/storetest"
	"github.com/netoops/netoops/pkg/wire"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var t0 = time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC)

// harness drives an unstarted engine synchronously with a fake clock.
type harness struct {
	t      *testing.T
	e      *Engine
	now    time.Time
	mu     sync.Mutex
	events []event.Event
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, now: t0}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	cfg.Now = func() time.Time { return h.now }
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.Idle == 0 {
		cfg.Idle = 10 * time.Second
	}
	if cfg.FS == nil {
		cfg.FS = storetest.NoSyncFS{}
	}
	if cfg.Shards == 0 {
		cfg.Shards = 1
	}
	if cfg.MemBytes == 0 {
		cfg.MemBytes = harnessMemBytes
	}
	if harnessNoSpool {
		cfg.NoSpool = true
	}
	cfg.OnStored = onStored(&h.mu, &h.events)
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	return h
}

var src1 = netip.MustParseAddrPort("192.0.2.1:6667")

// harnessMemBytes is the harnesses' default Config.MemBytes: 0 (the
// engine's default, memory buffers) except in TestFilePath and
// TestSpoolPath; harnessNoSpool sets Config.NoSpool (TestFilePath).
var (
	harnessMemBytes int64
	harnessNoSpool  bool
)

// feed decodes and handles one packet synchronously.
func (h *harness) feed(pkt []byte, src netip.AddrPort) {
	var p wire.Packet
	if err := p.DecodeFromBytes(pkt); err != nil {
		h.t.Fatalf("bad packet: %v", err)
	}
	s := h.e.shards[h.e.shardOf(&p)]
	s.handle(&p, pkt, src, h.now, h.now)
}

func (h *harness) sweep() {
	for _, s := range h.e.shards {
		s.sweep(h.now)
	}
}

func (h *harness) Events() []event.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]event.Event(nil), h.events...)
}

// testDump returns a dump of n log bytes.
func testDump(host string, boot byte, seq uint32, n int) *wire.Dump {
	log := make([]byte, n)
	for i := range log {
		log[i] = "abcdefghijklmnopqrstuvwxyz\n"[(i*7+int(boot)+int(seq))%27]
	}
	var id [16]byte
	for i := range id {
		id[i] = boot + byte(i)
	}
	return &wire.Dump{
		Reason: wire.ReasonPanic, BootID: id, DumpSeq: seq, TimeNS: uint64(t0.UnixNano()),
		Copies: 1, Host: []byte(host), Release: []byte("6.12.0"), Label: []byte("rack7"),
		ReasonText: []byte("sysrq triggered crash"), Log: log,
	}
}

// packets returns the dump's packets (copies included), each its own slice.
func packets(t testing.TB, d *wire.Dump, payloadMax int) [][]byte {
	var out [][]byte
	if err := d.Encode(payloadMax, func(p []byte) error {
		out = append(out, append([]byte(nil), p...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func readMeta(t *testing.T, path string) store.Meta {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m store.Meta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// expectLog is the stored text of log with the given ranges missing.
func expectLog(log []byte, missing []ranges.Range) string {
	var sb strings.Builder
	pos := uint32(0)
	for _, g := range missing {
		sb.Write(log[pos:g.Start])
		if sb.Len() > 0 && !strings.HasSuffix(sb.String(), "\n") {
			sb.WriteByte('\n')
		}
		sb.WriteString(store.GapMarker(g))
		pos = g.End
	}
	sb.Write(log[pos:])
	return sb.String()
}

func shuffled(r *rand.Rand, pk [][]byte) [][]byte {
	out := append([][]byte(nil), pk...)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func listFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// onStored returns an OnStored function appending each event to *evs
// under mu.
func onStored(mu *sync.Mutex, evs *[]event.Event) func(*store.Meta, string, string) {
	return func(m *store.Meta, logPath, metaPath string) {
		mu.Lock()
		*evs = append(*evs, event.New(m, logPath, metaPath))
		mu.Unlock()
	}
}
