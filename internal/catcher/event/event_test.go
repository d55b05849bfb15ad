package event

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/catcher/store"
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

// TestEventJSONMatches checks Event.AppendJSON against encoding/json.
func TestEventJSONMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 3000; i++ {
		m := store.Meta{Host: randString(r), HostDir: randString(r), Label: randString(r), BootID: randString(r),
			DumpSeq: r.Uint32(), Release: randString(r), Reason: randString(r), ReasonCode: uint8(r.Uint32()),
			ReasonText: randString(r), FirstPacket: randTime(r), LastPacket: randTime(r), StoredAt: randTime(r),
			Source: randString(r), Packets: r.Uint64(), Duplicates: r.Uint64(), Conflicts: r.Uint64(),
			Pieces: r.Uint32(), Copies: uint8(r.Uint32()), TotalLen: r.Uint32(), ReceivedLen: r.Uint64(),
			MissingBytes: r.Uint64(), Complete: r.IntN(2) == 0, Flags: uint16(r.Uint32()),
			Truncated: r.IntN(2) == 0, Prefixed: r.IntN(2) == 0, Log: randString(r),
			Title: randString(r), Signature: randString(r), Guilty: randString(r), Corrupted: r.IntN(2) == 0,
			Reports: make([]store.Report, r.IntN(3)), ReportsOmitted: r.IntN(2)}
		if r.IntN(2) == 0 {
			dt := randTime(r)
			m.DumpTime = &dt
		}
		ev := New(&m, randString(r), randString(r))
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(ev); err != nil {
			t.Fatal(err)
		}
		if got := ev.AppendJSON(nil); !bytes.Equal(got, buf.Bytes()) {
			t.Fatalf("event:\n%s\nwant\n%s", got, buf.Bytes())
		}
	}
}

// TestEnvDropsNUL: the environment cannot hold NUL bytes.
func TestEnvDropsNUL(t *testing.T) {
	ev := Event{Host: "a\x00b", Label: "\x00"}
	for _, v := range ev.Env() {
		if strings.IndexByte(v, 0) >= 0 {
			t.Fatalf("NUL in %q", v)
		}
		if strings.HasPrefix(v, "NETOOPS_HOST=") && v != "NETOOPS_HOST=ab" {
			t.Fatalf("got %q", v)
		}
	}
}

// TestEnvCrash: the crash fields are in the environment.
func TestEnvCrash(t *testing.T) {
	m := store.Meta{Title: "WARNING in lkdtm_WARNING", Signature: "0123456789abcdef", Guilty: "lkdtm_WARNING",
		Reports: make([]store.Report, 2)}
	env := strings.Join(New(&m, "l", "m").Env(), "\n") + "\n"
	for _, want := range []string{"NETOOPS_TITLE=WARNING in lkdtm_WARNING", "NETOOPS_SIGNATURE=0123456789abcdef",
		"NETOOPS_GUILTY=lkdtm_WARNING", "NETOOPS_CORRUPTED=false", "NETOOPS_REPORTS=2"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("no %s in\n%s", want, env)
		}
	}
}
