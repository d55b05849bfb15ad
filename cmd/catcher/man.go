package main

import (
	"context"
	"io"

	"github.com/netoops/netoops/internal/manpage"
	"github.com/urfave/cli/v3"
)

// The man page is generated from the command tree; TestManPage fails when
// docs/catcher.1 is stale. Regenerate with `go generate ./cmd/catcher`.
//go:generate sh -c "go run . man > ../../docs/catcher.1"

const manDescription = `catcher receives the UDP packets netoops sends from a crashing kernel,
from a socket (listen), an interface (capture) or a capture file (read).
It takes every packet apart on its own, deduplicates the copies of a dump,
reassembles the log and stores each dump once under a directory per host
and boot, written to a temporary name, synced and renamed. A dump that
stops arriving is stored as partial, with its holes listed.

The store is read with ls and show. docs/catcher.md describes the store,
the events file, the --exec environment and the metrics.`

const manExitStatus = `0  success
1  a runtime failure: cannot bind, capture, read the file or use the store directory
2  bad flags or arguments
3  show: no such dump`

func manCommand(stdout io.Writer) *cli.Command {
	return &cli.Command{
		Name:         "man",
		Usage:        "print the manual page (roff) generated from this command tree",
		OnUsageError: usageErr,
		Action: func(ctx context.Context, cmd *cli.Command) error {
			return writeMan(stdout, cmd.Root())
		},
	}
}

func writeMan(w io.Writer, root *cli.Command) error {
	return manpage.Write(w, root, manpage.Page{
		Section: "1", Source: "netoops", Manual: "User Commands",
		Description: manDescription, ExitStatus: manExitStatus,
		Extra: []manpage.Section{
			{Title: "FILES", Body: ".TP\n.I /usr/lib/systemd/system/netoops\\-catcher.service\nThe packaged service: \\fBcatcher listen\\fR on UDP port 6668, storing under \\fI/var/lib/netoops\\-catcher\\fR; extra flags in \\fBCATCHER_ARGS\\fR in \\fI/etc/netoops/catcher.env\\fR.\n"},
			{Title: "SEE ALSO", Body: ".BR netoopsctl (8)\n"},
		},
	})
}
