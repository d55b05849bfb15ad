package route

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/netoops/netoops/internal/netnstest"
	"golang.org/x/sys/unix"
)

func labResolver(t *testing.T, lab *netnstest.Lab) *Resolver {
	t.Helper()
	ns, err := OpenNamespace(lab.Client.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	c, err := Dial(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := NewResolver(c)
	r.NetNS = ns.FD()
	r.Logf = t.Logf
	return r
}

func TestNetnsResolve(t *testing.T) {
	lab := netnstest.NewLab(t)
	// RTA_VIA: an IPv4 route through an IPv6 gateway (kernel 5.2+).
	viaErr := lab.Client.TryIP("route add 198.51.100.128/26 via inet6 2001:db8:1::2 dev a0")
	r := labResolver(t, lab)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, tc := range []struct {
		name, dst, dev     string
		wantDev, src, nh   string
		mac                string
		gateway, broadcast bool
	}{
		{name: "on-link", dst: "192.0.2.2", wantDev: "a0", src: "192.0.2.1", nh: "192.0.2.2", mac: netnstest.MACr0},
		{name: "via gateway", dst: "198.51.100.200", wantDev: "a0", src: "192.0.2.1", nh: "192.0.2.2", mac: netnstest.MACr0, gateway: true},
		{name: "forced device", dst: "198.51.100.2", dev: "a1", wantDev: "a1", src: "198.51.100.1", nh: "198.51.100.2", mac: netnstest.MACr1},
		{name: "ipv6 on-link", dst: "2001:db8:1::2", wantDev: "a0", src: "2001:db8:1::1", nh: "2001:db8:1::2", mac: netnstest.MACr0},
		{name: "ipv6 via gateway", dst: "2001:db8:ff::5", wantDev: "a0", src: "2001:db8:1::1", nh: "2001:db8:1::2", mac: netnstest.MACr0, gateway: true},
		{name: "ipv6 link-local", dst: "fe80::ff:fe00:b00", dev: "a0", wantDev: "a0", src: "fe80::ff:fe00:a00", nh: "fe80::ff:fe00:b00", mac: netnstest.MACr0},
		{name: "ipv4 via ipv6 gateway", dst: "198.51.100.130", wantDev: "a0", src: "192.0.2.1", nh: "2001:db8:1::2", mac: netnstest.MACr0, gateway: true},
		{name: "subnet broadcast", dst: "192.0.2.255", wantDev: "a0", src: "192.0.2.1", nh: "192.0.2.255", mac: "ff:ff:ff:ff:ff:ff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "ipv4 via ipv6 gateway" && viaErr != nil {
				t.Skipf("kernel without IPv4 routes via IPv6 gateways (5.2+): %v", viaErr)
			}
			res, err := r.Resolve(ctx, Request{Dst: netip.MustParseAddr(tc.dst), Dev: tc.dev, Timeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", res)
			if res.Link.Name != tc.wantDev || res.Src.String() != tc.src || res.NextHop.String() != tc.nh || res.MAC.String() != tc.mac || res.Gateway.IsValid() != tc.gateway {
				t.Fatalf("got dev %s src %s next hop %s mac %s gateway %v", res.Link.Name, res.Src, res.NextHop, res.MAC, res.Gateway)
			}
		})
	}

	t.Run("neighbour failed", func(t *testing.T) {
		start := time.Now()
		_, err := r.Resolve(ctx, Request{Dst: netip.MustParseAddr("192.0.2.99"), Timeout: 3 * time.Second})
		// ARP on a0 gives up after one 100ms probe: FAILED, well before
		// the timeout.
		var ne *NeighbourError
		if !errors.As(err, &ne) || ne.State&unix.NUD_FAILED == 0 || ne.NextHop.String() != "192.0.2.99" || ne.Dev != "a0" {
			t.Fatalf("err = %v (%+v), want a FAILED NeighbourError for 192.0.2.99 on a0", err, ne)
		}
		t.Logf("%v after %s", err, time.Since(start))
		// The host comes up: the FAILED entry is probed again and resolves.
		lab.Router.IP("addr add 192.0.2.99/24 dev r0")
		res, err := r.Resolve(ctx, Request{Dst: netip.MustParseAddr("192.0.2.99"), Timeout: 3 * time.Second})
		if err != nil || res.MAC.String() != netnstest.MACr0 || !res.Probed {
			t.Fatalf("after FAILED: %+v, %v", res, err)
		}
	})
	t.Run("udp probe", func(t *testing.T) {
		// The fallback for kernels that refuse NTF_USE: a datagram to the
		// discard port, sent from inside the namespace.
		lab.Client.IP("neigh flush dev a1")
		r2 := *r
		r2.Probe = func(nh netip.Addr, l Link) error { return udpProbe(r.NetNS, nh, l) }
		res, err := r2.Resolve(ctx, Request{Dst: netip.MustParseAddr("198.51.100.2"), Timeout: 3 * time.Second})
		if err != nil || !res.Probed || res.MAC.String() != netnstest.MACr1 {
			t.Fatalf("got %+v, %v", res, err)
		}
	})
	t.Run("no route", func(t *testing.T) {
		_, err := r.Resolve(ctx, Request{Dst: netip.MustParseAddr("2001:db8:eeee::1"), Timeout: time.Second})
		var nr *NoRouteError
		if !errors.As(err, &nr) {
			t.Fatalf("err = %v", err)
		}
		t.Log(err)
	})
	t.Run("local and loopback", func(t *testing.T) {
		for _, d := range []string{"127.0.0.1", "192.0.2.1", "::1", "2001:db8:1::1"} {
			_, err := r.Resolve(ctx, Request{Dst: netip.MustParseAddr(d), Timeout: time.Second})
			var de *DeviceError
			if !errors.As(err, &de) {
				t.Fatalf("%s: err = %v", d, err)
			}
			t.Log(err)
		}
	})
	t.Run("unknown device", func(t *testing.T) {
		_, err := r.Resolve(ctx, Request{Dst: netip.MustParseAddr("192.0.2.2"), Dev: "nope0"})
		var de *DeviceError
		if !errors.As(err, &de) {
			t.Fatalf("err = %v", err)
		}
	})
}
