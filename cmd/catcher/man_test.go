package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// TestManPage: the man page lists every command and the exit codes, and
// the committed docs/catcher.1 is what `catcher man` prints.
func TestManPage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"catcher", "man"}, &out, &errb); code != exitOK {
		t.Fatalf("catcher man: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{".TH CATCHER 1", "\\fB\\-\\-max\\-dumps\\fR \\fIN\\fR", ".SH EXIT STATUS", ".B 3\nshow: no such dump"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	// A subsection for every command.
	for _, c := range newApp(io.Discard, io.Discard).Commands {
		if !c.Hidden && !strings.Contains(out.String(), ".SS \""+c.Name) {
			t.Errorf("man page has no section for %q", c.Name)
		}
	}
	committed, err := os.ReadFile("../../docs/catcher.1")
	if err != nil {
		t.Fatalf("%v (run 'go generate ./cmd/catcher')", err)
	}
	if !bytes.Equal(committed, out.Bytes()) {
		t.Errorf("docs/catcher.1 is stale: run 'go generate ./cmd/catcher'")
	}
}
