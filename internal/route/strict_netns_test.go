package route

import (
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/netoops/netoops/internal/netnstest"
	"golang.org/x/sys/unix"
)

// TestNetnsStrictRequests sends the resolver's requests on a socket with
// NETLINK_GET_STRICT_CHK forced on: the real kernel must accept them as
// they are (no retry needed).
func TestNetnsStrictRequests(t *testing.T) {
	lab := netnstest.NewLab(t)
	ns, err := OpenNamespace(lab.Client.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	c, err := netlink.Dial(0 /* NETLINK_ROUTE */, &netlink.Config{NetNS: ns.FD(), Strict: true})
	if err != nil {
		t.Skipf("skipping: kernel without strict netlink checking: %v", err)
	}
	defer c.Close()
	for _, m := range []netlink.Message{
		routeGetRequest(netip.MustParseAddr("198.51.100.200"), netip.Addr{}, 0, true),
		routeGetRequest(netip.MustParseAddr("198.51.100.200"), netip.MustParseAddr("192.0.2.1"), 2, true),
		routeGetRequest(netip.MustParseAddr("2001:db8:ff::5"), netip.Addr{}, 0, false),
		linkGetRequest(0, "a0"),
		linkGetRequest(1, ""),
		neighUseRequest(netip.MustParseAddr("192.0.2.2"), 2),
		neighDumpRequest(unix.AF_INET, 2),
		neighDumpRequest(unix.AF_INET6, 2),
	} {
		if _, err := c.Execute(m); err != nil {
			t.Errorf("request type %d: %v", m.Header.Type, withExtack("strict", err))
		}
	}
	// The single-entry neighbour get: the entry exists after NTF_USE.
	if _, err := c.Execute(neighGetRequest(netip.MustParseAddr("192.0.2.2"), 2)); err != nil {
		t.Errorf("neighbour get: %v", withExtack("strict", err))
	}
	// What the kernel says about RTM_F_LOOKUP_TABLE on IPv6 (the resolver
	// does not send it).
	if _, err := c.Execute(routeGetRequest(netip.MustParseAddr("2001:db8:ff::5"), netip.Addr{}, 0, true)); err != nil {
		t.Logf("IPv6 route get with RTM_F_LOOKUP_TABLE under strict checking: %v", withExtack("strict", err))
	}
}
