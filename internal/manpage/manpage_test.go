package manpage

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v3"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"--dir":           "\\-\\-dir",
		"a\\b":            "a\\eb",
		".TH x\n'quote":   "\\&.TH x\n\\&'quote",
		"plain text here": "plain text here",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWrite(t *testing.T) {
	root := &cli.Command{
		Name:  "tool",
		Usage: "do things",
		Commands: []*cli.Command{
			{Name: "run", Usage: "run it", ArgsUsage: "FILE", Description: "Runs FILE.\n\nExample:\n   tool run x",
				Flags: []cli.Flag{&cli.StringFlag{Name: "dir", Value: "/tmp", Usage: "work in `DIR`"}}},
			{Name: "secret", Hidden: true},
		},
	}
	var b strings.Builder
	if err := Write(&b, root, Page{Section: "1", Source: "s", Manual: "m", Description: "Tool does things.",
		ExitStatus: "0  fine\n1  not fine", Extra: []Section{{Title: "SEE ALSO", Body: ".BR other (1)"}}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		".TH TOOL 1 \"\" \"s\" \"m\"\n", ".SH NAME\ntool \\- do things\n",
		".SH SYNOPSIS\n.B tool\n\\fIcommand\\fR", ".SH DESCRIPTION\nTool does things.\n",
		".SS \"run \\fIFILE\\fR\"\nrun it\n", ".nf\n    tool run x\n.fi\n",
		".TP\n\\fB\\-\\-dir\\fR \\fIDIR\\fR\nwork in DIR (default: \"/tmp\")\n",
		".SH EXIT STATUS\n.TP\n.B 0\nfine\n.TP\n.B 1\nnot fine\n", ".SH SEE ALSO\n.BR other (1)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") || strings.Contains(out, "GLOBAL OPTIONS") {
		t.Errorf("hidden command or empty global options in the page:\n%s", out)
	}
}
