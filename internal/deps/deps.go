//go:build tools

// Package deps pins the module's direct dependencies before every user of
// them exists, so that go.mod does not churn while they land.
package deps

import (
	_ "github.com/gopacket/gopacket"
	_ "github.com/jsimonetti/rtnetlink/v2"
	_ "github.com/mdlayher/netlink"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/urfave/cli/v3"
	_ "golang.org/x/sys/unix"
)
