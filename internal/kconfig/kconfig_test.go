package kconfig_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/netoops/netoops/internal/kconfig"
	"github.com/netoops/netoops/internal/kconfig/kconfigtest"
)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func target(dev, src, dst, mac string) kconfig.Target {
	return kconfig.Target{Dev: dev, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), MAC: mustMAC(mac)}.Normalize()
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "", want: ""},
		{in: "\n", want: ""},
		{in: "dev=eth0 src=10.0.2.15 dst=10.0.2.2 mac=52:55:0a:00:02:02 sport=6667 dport=6668\n",
			want: "dev=eth0 src=10.0.2.15 dst=10.0.2.2 mac=52:55:0a:00:02:02 sport=6667 dport=6668"},
		{in: "mac=FF:FF:FF:FF:FF:FF\tdst=fec0::2 src=fec0::15 dev=eth0",
			want: "dev=eth0 src=fec0::15 dst=fec0::2 mac=ff:ff:ff:ff:ff:ff sport=6667 dport=6668"},
		{in: "dev=eth0 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01 dport=514", want: "dev=eth0 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01 sport=6667 dport=514"},
		{in: "dev=eth0 src=10.0.0.1 dst=fec0::2 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=eth0 src=10.0.0.1 dst=10.0.0.2 mac=01:00:5e:00:00:01", bad: true},
		{in: "dev=eth0 src=10.0.0.1 dst=10.0.0.2 mac=00:00:00:00:00:00", bad: true},
		{in: "dev=eth0 src=10.0.0.1 dst=10.0.0.2", bad: true},
		{in: "dev=eth0 dev=eth1 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=eth0 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01 sport=0", bad: true},
		{in: "dev=eth0 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01 dport=65536", bad: true},
		{in: "dev=eth0 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01 foo=1", bad: true},
		{in: "dev=eth0 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01\nx", bad: true},
		{in: "dev=averyveryverylongname src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=eth0:1 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=.. src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=eth0 src=0.0.0.0 dst=10.0.0.2 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=eth0 src=:: dst=fec0::2 mac=02:00:00:00:00:01", bad: true},
		// The kernel refuses an unspecified destination as well.
		{in: "dev=eth0 src=10.0.0.1 dst=0.0.0.0 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=eth0 src=fec0::15 dst=:: mac=02:00:00:00:00:01", bad: true},
		// dev_valid_name: isspace() bytes other than the separators.
		{in: "dev=eth0\r src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=eth\v0 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=eth\xa00 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=eth/0 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01", bad: true},
		{in: "dev=eth0.100 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01",
			want: "dev=eth0.100 src=10.0.0.1 dst=10.0.0.2 mac=02:00:00:00:00:01 sport=6667 dport=6668"},
		{in: " \t \n", want: ""},
	} {
		got, err := kconfig.ParseTarget(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseTarget(%q) = %q, want error", tc.in, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseTarget(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseReasons(t *testing.T) {
	got, err := kconfig.ParseReasons("panic,oops  emerg,panic")
	if err != nil || !slices.Equal(got, []string{"oops", "panic", "emerg"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", " , ", "oops,reboot"} {
		if _, err := kconfig.ParseReasons(bad); err == nil {
			t.Errorf("ParseReasons(%q) succeeded", bad)
		}
	}
}

func TestPlanOrder(t *testing.T) {
	k := kconfigtest.New()
	k.Set("enabled", "0\n")
	k.Set("target1", "dev=eth1 src=10.0.0.1 dst=10.0.0.9 mac=02:00:00:00:00:09 sport=6667 dport=6668\n")
	cur, err := kconfig.Load(k)
	if err != nil {
		t.Fatal(err)
	}
	want := *cur
	want.Enabled = true
	want.Label = "rack7"
	want.Targets = [4]kconfig.Target{target("eth0", "10.0.0.1", "10.0.0.2", "02:00:00:00:00:02")}
	got := kconfig.Plan(cur, &want)
	if w := []string{"label", "target0", "target1", "enabled"}; !slices.Equal(got, w) {
		t.Fatalf("Plan = %v, want %v", got, w)
	}
	// Disabling goes first.
	off := want
	off.Enabled = false
	off.Targets = [4]kconfig.Target{}
	if got, w := kconfig.Plan(&want, &off), []string{"enabled", "target0"}; !slices.Equal(got, w) {
		t.Fatalf("Plan(off) = %v, want %v", got, w)
	}
}

func TestApplyRollsBack(t *testing.T) {
	k := kconfigtest.New()
	k.Devices = map[string]bool{"eth0": true}
	cur, _ := kconfig.Load(k)
	want := *cur
	want.Label = "new"
	want.Copies = 5
	want.Targets[0] = target("eth9", "10.0.0.1", "10.0.0.2", "02:00:00:00:00:02")
	_, err := kconfig.Apply(k, cur, &want)
	var we *kconfig.WriteError
	if !errors.As(err, &we) || we.File != "target0" || !errors.Is(err, syscall.ENODEV) || !kconfig.IsRefused(err) {
		t.Fatalf("Apply error = %v", err)
	}
	if !strings.Contains(err.Error(), "previous configuration stays in force") {
		t.Errorf("error text %q", err)
	}
	got, _ := kconfig.Load(k)
	if d := kconfig.Diff(cur, got); len(d) > 0 {
		t.Fatalf("not rolled back: %v", d)
	}
}

func TestApplyAndVerify(t *testing.T) {
	k := kconfigtest.New()
	cur, _ := kconfig.Load(k)
	want := *cur
	want.Reasons = []string{"panic", "oops", "shutdown"}
	want.Targets[0] = target("eth0", "::ffff:10.0.0.1", "10.0.0.2", "02:00:00:00:00:02")
	if _, err := kconfig.ApplyAndVerify(k, cur, &want); err != nil {
		t.Fatal(err)
	}
	if got := k.Get("reasons"); got != "oops panic shutdown\n" {
		t.Errorf("reasons = %q", got)
	}
	// A kernel that ends up with something else than was written is caught.
	cur, _ = kconfig.Load(k)
	want = *cur
	want.Label = "x"
	orig := k.Get("label")
	_, err := kconfig.Apply(k, cur, &want)
	if err != nil {
		t.Fatal(err)
	}
	k.Set("label", orig)
	got, _ := kconfig.Load(k)
	if d := kconfig.Diff(&want, got); len(d) != 1 || !strings.HasPrefix(d[0], "label") {
		t.Errorf("Diff = %v", d)
	}
}

func TestDirStore(t *testing.T) {
	dir := t.TempDir()
	if _, err := kconfig.NewDirStore(filepath.Join(dir, "nope")); !errors.Is(err, kconfig.ErrNotPresent) {
		t.Fatalf("NewDirStore(missing) = %v", err)
	}
	if err := kconfigtest.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	s, err := kconfig.NewDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := kconfig.Load(s)
	if err != nil {
		t.Fatal(err)
	}
	want := *cur
	want.Targets[2] = target("eth0", "2001:db8::1", "2001:db8::2", "ff:ff:ff:ff:ff:ff")
	if _, err := kconfig.ApplyAndVerify(s, cur, &want); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "target2"))
	if string(b) != "dev=eth0 src=2001:db8::1 dst=2001:db8::2 mac=ff:ff:ff:ff:ff:ff sport=6667 dport=6668\n" {
		t.Errorf("target2 = %q", b)
	}
	st, err := kconfig.LoadStatus(s)
	if err != nil || st.BootID != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("LoadStatus = %+v, %v", st, err)
	}
	if err := s.Write("packets_sent", "5\n"); !kconfig.IsPermission(err) {
		t.Errorf("writing a read-only file: %v", err)
	}
}

func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		err           error
		refused, perm bool
	}{
		{syscall.EINVAL, true, false},
		{syscall.ENODEV, true, false},
		{syscall.EBUSY, true, false},
		{syscall.Errno(524), true, false},
		{syscall.EPERM, false, true},
		{syscall.EACCES, false, true},
		{syscall.EROFS, false, true},
		{syscall.ENOENT, false, false},
	} {
		we := &kconfig.WriteError{File: "target0", Value: "x", Err: &os.PathError{Op: "write", Path: "target0", Err: tc.err}}
		if kconfig.IsRefused(we) != tc.refused || kconfig.IsPermission(we) != tc.perm {
			t.Errorf("%v: refused %v permission %v", tc.err, kconfig.IsRefused(we), kconfig.IsPermission(we))
		}
	}
}

func TestParseState(t *testing.T) {
	got := kconfig.ParseState("target0 eth0 active\ntarget2 bond0 parked\ngarbage\n")
	if len(got) != 2 || got[1] != (kconfig.StateLine{Slot: 2, Dev: "bond0", State: "parked"}) {
		t.Fatalf("ParseState = %+v", got)
	}
}

// TestFakeKernelRefuses checks that the fake kernel is as strict as the
// real one (docs/sysctl.md, patches/) where netoopsctl's tests rely on it.
func TestFakeKernelRefuses(t *testing.T) {
	k := kconfigtest.New()
	k.Set("state", "target0 eth0 active\n")
	for _, w := range []struct{ file, value string }{
		{"test", "0\n"},
		{"test", "2"},
		{"copies", "+3\n"},
		{"copies", " 3"},
		{"copies", "17"},
		{"enabled", "2\n"},
		{"reasons", "oops,panic\n"},
	} {
		if err := k.Write(w.file, w.value); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("write %q to %s: %v, want EINVAL", w.value, w.file, err)
		}
	}
	if k.Get("dumps_sent") != "0\n" || k.Get("copies") != "3\n" {
		t.Errorf("a refused write changed something: dumps_sent %q copies %q", k.Get("dumps_sent"), k.Get("copies"))
	}
	if err := k.Write("test", "1\n"); err != nil || k.Get("dumps_sent") != "1\n" {
		t.Errorf("test dump: %v, dumps_sent %q", err, k.Get("dumps_sent"))
	}
}

// failRead is a store on which reading one file fails.
type failRead struct {
	kconfig.Store
	file string
	err  error
}

func (f failRead) Read(name string) (string, error) {
	if name == f.file {
		return "", &os.PathError{Op: "open", Path: name, Err: f.err}
	}
	return f.Store.Read(name)
}

func TestLoadStatusReadErrors(t *testing.T) {
	k := kconfigtest.New()
	for _, file := range []string{"state", "boot_id", "dumps_sent", "packets_sent"} {
		// A file the kernel does not have reads as empty ...
		st, err := kconfig.LoadStatus(failRead{k, file, syscall.ENOENT})
		if err != nil || st == nil {
			t.Errorf("%s missing: %v", file, err)
		}
		// ... any other failure is reported, not taken for empty.
		if _, err := kconfig.LoadStatus(failRead{k, file, syscall.EACCES}); !errors.Is(err, syscall.EACCES) || !strings.Contains(err.Error(), file) {
			t.Errorf("%s unreadable: %v", file, err)
		}
	}
}
