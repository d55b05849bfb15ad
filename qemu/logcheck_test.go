package qemu

import "testing"

func TestLogChecks(t *testing.T) {
	dump := []byte("<6>[    0.000000] Linux version x\n<12>[    1.5] " + KnownLine("a", 1, 2) + "\n<12>[    1.6] " + KnownLine("a", 2, 2) + "\n<0>[    2.0] Kernel panic - not syncing: x\n")
	console := "junk\r\n[    0.000000] Linux version x\r\n[    1.5] " + KnownLine("a", 1, 2) + "\n[    1.6] " + KnownLine("a", 2, 2) + "\n[    2.0] Kernel panic - not syncing: x\nafter\n"
	if err := CheckKnown(dump, "a", 2); err != nil {
		t.Error(err)
	}
	if err := CheckKnown(dump, "b", 2); err == nil {
		t.Error("tag b found")
	}
	if n := CountKnown(dump, "a", 2); n != 2 {
		t.Errorf("CountKnown = %d", n)
	}
	if err := CheckAgainstConsole(dump, console); err != nil {
		t.Error(err)
	}
	if err := CheckAgainstConsole(dump, "[    0.000000] Linux version x\n[    2.0] Kernel panic - not syncing: x\n"); err == nil {
		t.Error("console with lines missing accepted")
	}
	if err := CheckContains(dump, "Kernel panic", "Linux version"); err != nil {
		t.Error(err)
	}
}
