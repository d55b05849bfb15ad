package store

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizeName(t *testing.T) {
	hostile := []string{"", ".", "..", "../../etc", "/", "/etc/passwd", "a/b", "a\x00b", "\x00",
		strings.Repeat("x", 300), strings.Repeat("/", 300), "héllo", "\x1b[31mred", "tab\there", ".hidden",
		"a%2Fb", "a/b", "A", "a", "-rf", "con", "日本語", "\xff\xfe", "a..b", "web-1.example.net", "unknown", "%", "%25", "%empty", "%2"}
	seen := map[string]string{}
	for _, h := range hostile {
		s := SanitizeName(h)
		if s == "" || s == "." || s == ".." || strings.HasPrefix(s, ".") || strings.ContainsAny(s, "/\\\x00") || len(s) > 200 {
			t.Errorf("SanitizeName(%q) = %q", h, s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f || r >= utf8.RuneSelf {
				t.Errorf("SanitizeName(%q) = %q has %q", h, s, r)
			}
		}
		if prev, ok := seen[s]; ok && prev != h {
			t.Errorf("SanitizeName(%q) = SanitizeName(%q) = %q", h, prev, s)
		}
		seen[s] = h
		if filepath.Clean(filepath.Join("/store", s)) != filepath.Join("/store", s) || filepath.Dir(filepath.Join("/store", s)) != "/store" {
			t.Errorf("%q escapes", s)
		}
	}
	if SanitizeName("web-1.example.net") != "web-1.example.net" {
		t.Error("plain name changed")
	}
}

// TestHostOfDir: every host name comes back from its directory name, byte
// for byte; other names are refused.
func TestHostOfDir(t *testing.T) {
	for _, h := range []string{"", "web-1", "/", "%", "%25", "a b", "\xff\xfe", "..", ".x", "日本", "unknown"} {
		if got, ok := HostOfDir(SanitizeName(h)); !ok || got != h {
			t.Errorf("HostOfDir(SanitizeName(%q)) = %q, %v", h, got, ok)
		}
	}
	for _, d := range []string{"%2", "%zz", "%2f", "a b", ".x", "%"} {
		if h, ok := HostOfDir(d); ok {
			t.Errorf("HostOfDir(%q) = %q, want refused", d, h)
		}
	}
}
