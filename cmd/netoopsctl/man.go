package main

import (
	"io"

	"github.com/netoops/netoops/internal/manpage"
	"github.com/urfave/cli/v3"
)

// writeMan writes the man page (section 8) for root, generated from the
// command tree, in roff.
func writeMan(w io.Writer, root *cli.Command) error {
	return manpage.Write(w, root, manpage.Page{
		Section: "8", Source: "netoops", Manual: "System Administration",
		Extra: []manpage.Section{
			{Title: "ENVIRONMENT", Body: ".TP\n.B NETOOPS_SYSCTL_ROOT\nSame as \\fB\\-\\-sysctl\\-root\\fR.\n.TP\n.B NETOOPS_NETNS\nSame as \\fB\\-\\-netns\\fR.\n"},
			{Title: "FILES", Body: ".TP\n.I /proc/sys/kernel/netoops/\nThe kernel's configuration (see docs/sysctl.md).\n.TP\n.I /etc/netoops/follow.env\nOptional settings of the \\fBnetoopsctl\\-follow@.service\\fR unit.\n"},
			{Title: "SEE ALSO", Body: ".BR ip-route (8),\n.BR ip-neighbour (8),\n.BR netconsole\n"},
		},
	})
}
