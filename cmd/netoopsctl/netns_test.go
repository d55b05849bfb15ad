package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/kconfig/kconfigtest"
	"github.com/netoops/netoops/internal/lockedbuf"
	"github.com/netoops/netoops/internal/netnstest"
)

// labEnv is the real environment (rtnetlink, directory store) with output
// captured.
func labEnv(t *testing.T) (*env, string, *lockedbuf.Buffer) {
	dir := t.TempDir()
	if err := kconfigtest.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	out := &lockedbuf.Buffer{}
	e := defaultEnv()
	e.stdout, e.stderr = out, out
	e.kexecCrashLoaded = filepath.Join(dir, "nonexistent")
	return e, dir, out
}

func readTarget(t *testing.T, dir string, i int) string {
	b, err := os.ReadFile(filepath.Join(dir, "target"+string(rune('0'+i))))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// TestNetnsSetShow runs set and show against a real kernel's routes in a
// namespace and a fake sysctl directory.
func TestNetnsSetShow(t *testing.T) {
	lab := netnstest.NewLab(t)
	e, dir, out := labEnv(t)
	g := []string{"netoopsctl", "--netns", lab.Client.Name, "--sysctl-root", dir}
	if code := run(context.Background(), append(g, "set", "198.51.100.200:514", "--label", "lab"), e); code != 0 {
		t.Fatalf("set: exit %d\n%s", code, out)
	}
	want := "dev=a0 src=192.0.2.1 dst=198.51.100.200 mac=" + netnstest.MACr0 + " sport=6667 dport=514"
	if got := readTarget(t, dir, 0); got != want {
		t.Fatalf("target0 %q, want %q\n%s", got, want, out)
	}
	if code := run(context.Background(), append(g, "set", "--add", "2001:db8:ff::5"), e); code != 0 {
		t.Fatalf("set --add: exit %d\n%s", code, out)
	}
	if got := readTarget(t, dir, 1); got != "dev=a0 src=2001:db8:1::1 dst=2001:db8:ff::5 mac="+netnstest.MACr0+" sport=6667 dport=6668" {
		t.Fatalf("target1 %q", got)
	}
	if code := run(context.Background(), append(g, "set", "192.0.2.99", "--timeout", "2s"), e); code != exitNeighbour {
		t.Fatalf("set to a silent host: exit %d\n%s", code, out)
	}
	if code := run(context.Background(), append(g, "set", "127.0.0.1"), e); code != exitDevice {
		t.Fatalf("set to loopback: exit %d\n%s", code, out)
	}
	// Enslave a1 to a bridge, point a target at it: show warns.
	lab.Client.IP("link add br0 type bridge")
	lab.Client.IP("link set a1 master br0")
	os.WriteFile(filepath.Join(dir, "target2"), []byte("dev=a1 src=198.51.100.1 dst=198.51.100.2 mac="+netnstest.MACr1+"\n"), 0o644)
	before := len(out.String())
	if code := run(context.Background(), append(g, "show"), e); code != 0 {
		t.Fatalf("show: exit %d\n%s", code, out)
	}
	shown := out.String()[before:]
	if !strings.Contains(shown, "a1 is enslaved to br0 (bridge)") || !strings.Contains(shown, "target1  a0") {
		t.Errorf("show:\n%s", shown)
	}
	t.Log(shown)
}

// TestNetnsFollowGatewayChange: follow writes the target, then picks up a
// default route moved to another gateway with another MAC.
func TestNetnsFollowGatewayChange(t *testing.T) {
	lab := netnstest.NewLab(t)
	e, dir, out := labEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"netoopsctl", "--netns", lab.Client.Name, "--sysctl-root", dir,
			"follow", "198.51.100.200", "--debounce", "50ms"}, e)
	}()
	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(8 * time.Second)
		for readTarget(t, dir, 0) != want {
			if time.Now().After(deadline) {
				t.Fatalf("target0 %q, want %q\nlog:\n%s", readTarget(t, dir, 0), want, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("dev=a0 src=192.0.2.1 dst=198.51.100.200 mac=" + netnstest.MACr0 + " sport=6667 dport=6668")

	lab.Client.IP("route replace default via 198.51.100.2 dev a1")
	wait("dev=a1 src=198.51.100.1 dst=198.51.100.200 mac=" + netnstest.MACr1 + " sport=6667 dport=6668")

	// The gateway gets a new MAC and says so (gratuitous ARP-like update
	// via a neighbour change): follow rewrites the MAC.
	lab.Client.IP("neigh replace 198.51.100.2 lladdr 02:00:00:00:0b:99 dev a1 nud reachable")
	wait("dev=a1 src=198.51.100.1 dst=198.51.100.200 mac=02:00:00:00:0b:99 sport=6667 dport=6668")

	// Back to the first gateway.
	lab.Client.IP("route replace default via 192.0.2.2 dev a0")
	wait("dev=a0 src=192.0.2.1 dst=198.51.100.200 mac=" + netnstest.MACr0 + " sport=6667 dport=6668")

	// The interface is renamed (down, rename, up, route back).
	lab.Client.IP("link set a0 down")
	lab.Client.IP("link set a0 name lan0")
	lab.Client.IP("link set lan0 up")
	lab.Client.IP("route replace default via 192.0.2.2 dev lan0")
	wait("dev=lan0 src=192.0.2.1 dst=198.51.100.200 mac=" + netnstest.MACr0 + " sport=6667 dport=6668")

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("follow exited %d\n%s", code, out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not stop")
	}
	log := out.String()
	if n := strings.Count(log, "target written"); n != 5 {
		t.Errorf("%d writes logged, want 5:\n%s", n, log)
	}
	t.Log(log)
}
