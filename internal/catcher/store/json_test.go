package store

import (
	"bytes"
	"encoding/json"
	"github.com/netoops/netoops/internal/catcher/ranges"
	"math/rand/v2"
	"testing"
	"time"
)

// randString mixes ASCII, every control and escaped character, multi-byte
// runes, U+2028/U+2029 and invalid UTF-8.
func randString(r *rand.Rand) string {
	pieces := []string{"a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "\x00", "\x1f", "\x7f",
		"\b", "\f", "\n", "\r", "\t", "é", "日本", "\u2028", "\u2029", "\xff", "\xc3", "\xe2\x80", "🙂", "\ufffd", "%"}
	var b []byte
	for n := r.IntN(12); n > 0; n-- {
		if r.IntN(4) == 0 {
			b = append(b, byte(r.IntN(256)))
		} else {
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
	}
	return string(b)
}

func randTime(r *rand.Rand) time.Time {
	return time.Unix(0, r.Int64N(1<<62)).UTC().Add(time.Duration(r.IntN(3)) * time.Second)
}

// TestMetaJSONMatches checks Meta.AppendJSON against encoding/json.
func TestMetaJSONMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 3000; i++ {
		m := Meta{Host: randString(r), HostDir: randString(r), Label: randString(r), BootID: randString(r),
			DumpSeq: r.Uint32(), Release: randString(r), Reason: randString(r), ReasonCode: uint8(r.Uint32()),
			ReasonText: randString(r), FirstPacket: randTime(r), LastPacket: randTime(r), StoredAt: randTime(r),
			Source: randString(r), Packets: r.Uint64(), Duplicates: r.Uint64(), Conflicts: r.Uint64(),
			Pieces: r.Uint32(), Copies: uint8(r.Uint32()), TotalLen: r.Uint32(), ReceivedLen: r.Uint64(),
			MissingBytes: r.Uint64(), Complete: r.IntN(2) == 0, Flags: uint16(r.Uint32()),
			Truncated: r.IntN(2) == 0, Prefixed: r.IntN(2) == 0, Log: randString(r)}
		if r.IntN(2) == 0 {
			dt := randTime(r)
			m.DumpTime = &dt
		}
		switch r.IntN(3) {
		case 0:
			m.Missing = []ranges.Range{}
		case 1:
			for n := 1 + r.IntN(3); n > 0; n-- {
				m.Missing = append(m.Missing, ranges.Range{Start: r.Uint32(), End: r.Uint32()})
			}
		}
		m.Schema, m.Title, m.Signature, m.Guilty, m.Corrupted = r.IntN(3), randString(r), randString(r), randString(r), r.IntN(2) == 0
		m.ReportsOmitted = r.IntN(3)
		switch r.IntN(3) {
		case 0:
			m.Reports = []Report{}
		case 1:
			for n := 1 + r.IntN(3); n > 0; n-- {
				rep := Report{Kind: randString(r), Title: randString(r), Guilty: randString(r), Signature: randString(r),
					Corrupted: r.IntN(2) == 0, CorruptedReason: randString(r), Primary: r.IntN(2) == 0,
					Start: r.Int64N(1 << 40), End: r.Int64N(1 << 40), HeaderStart: r.Int64N(1 << 40), HeaderEnd: -r.Int64N(1 << 40)}
				switch r.IntN(3) {
				case 0:
					rep.Frames = []string{}
				case 1:
					for k := 1 + r.IntN(6); k > 0; k-- {
						rep.Frames = append(rep.Frames, randString(r))
					}
				}
				m.Reports = append(m.Reports, rep)
			}
		}
		want, err := json.MarshalIndent(&m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if got := m.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("meta:\n%s\nwant\n%s", got, want)
		}
	}
}

func BenchmarkMetaJSON(b *testing.B) {
	dt := time.Date(2026, 11, 22, 2, 30, 0, 123, time.UTC)
	m := Meta{Host: "web-042.example.net", HostDir: "web-042.example.net", BootID: "00112233445566778899aabbccddeeff",
		DumpSeq: 7, Release: "6.12.48+deb13-amd64", Reason: "panic", ReasonText: "Kernel panic - not syncing: sysrq triggered crash",
		DumpTime: &dt, FirstPacket: dt, LastPacket: dt, StoredAt: dt, Source: "192.0.2.1:6667", Packets: 99,
		TotalLen: 131072, ReceivedLen: 131072, Missing: []ranges.Range{}, Complete: true, Log: "20261122T023000Z-00112233-7.log"}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			json.MarshalIndent(&m, "", "  ")
		}
	})
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for i := 0; i < b.N; i++ {
			buf = m.AppendJSON(buf[:0])
		}
	})
}
