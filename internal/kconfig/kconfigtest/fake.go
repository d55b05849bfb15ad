// Package kconfigtest provides a fake netoops kernel for tests: a
// kconfig.Store that validates writes the way the kernel does (docs/sysctl.md)
// and keeps the old value when it refuses one.
package kconfigtest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/netoops/netoops/internal/kconfig"
)

// Kernel is an in-memory imitation of /proc/sys/kernel/netoops.
type Kernel struct {
	mu    sync.Mutex
	files map[string]string

	// Devices that exist; a target naming another device is -ENODEV.
	// Nil means every device exists.
	Devices map[string]bool
	// Unprivileged makes every write fail with EPERM.
	Unprivileged bool
	// DeadTargets makes test dumps send no packet: -EIO, as the kernel
	// answers then, with tx_errors counting what was not sent.
	DeadTargets bool
	// FailWrite, if set, is called before each write; a non-nil error is
	// returned as the kernel's answer.
	FailWrite func(name, value string) error
	// Writes records every accepted write, in order, as "file=value".
	Writes []string
}

// New returns a fake kernel in its boot-time default state.
func New() *Kernel {
	k := &Kernel{files: map[string]string{
		kconfig.FileEnabled:     "1\n",
		kconfig.FileReasons:     "oops panic\n",
		kconfig.FileCopies:      "3\n",
		kconfig.FileLabel:       "\n",
		kconfig.FileLogBufLen:   "262144\n",
		kconfig.FileState:       "",
		kconfig.FileBootID:      "0123456789abcdef0123456789abcdef\n",
		kconfig.FileDumpsSent:   "0\n",
		kconfig.FilePacketsSent: "0\n",
		kconfig.FileTxErrors:    "0\n",
		kconfig.FileLastDumpUS:  "0\n",
	}}
	for i := 0; i < kconfig.NumTargets; i++ {
		k.files[kconfig.TargetFile(i)] = ""
	}
	return k
}

// Delete removes a file, as on a kernel that does not have it.
func (k *Kernel) Delete(name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.files, name)
}

// Get returns a file's content.
func (k *Kernel) Get(name string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.files[name]
}

// Set sets a file's content without validation.
func (k *Kernel) Set(name, value string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.files[name] = value
}

// Read implements kconfig.Store.
func (k *Kernel) Read(name string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if name == kconfig.FileTest {
		return "", &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	v, ok := k.files[name]
	if !ok {
		return "", &fs.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
	}
	return v, nil
}

// Write implements kconfig.Store, validating like the kernel.
func (k *Kernel) Write(name, value string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	perr := func(e syscall.Errno) error { return &fs.PathError{Op: "write", Path: name, Err: e} }
	if _, ok := k.files[name]; !ok && name != kconfig.FileTest {
		return &fs.PathError{Op: "open", Path: name, Err: syscall.ENOENT}
	}
	switch name {
	case kconfig.FileState, kconfig.FileBootID, kconfig.FileDumpsSent, kconfig.FilePacketsSent, kconfig.FileTxErrors, kconfig.FileLastDumpUS:
		return &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	if k.Unprivileged {
		return perr(syscall.EPERM)
	}
	if k.FailWrite != nil {
		if err := k.FailWrite(name, value); err != nil {
			return err
		}
	}
	canon, errno := k.validate(name, value)
	if errno != 0 {
		return perr(errno)
	}
	if name == kconfig.FileTest {
		return k.testDump()
	}
	k.files[name] = canon
	k.Writes = append(k.Writes, name+"="+strings.TrimSuffix(value, "\n"))
	k.updateState()
	return nil
}

func (k *Kernel) validate(name, value string) (string, syscall.Errno) {
	v := strings.TrimSuffix(value, "\n")
	if strings.Contains(v, "\n") {
		return "", syscall.EINVAL
	}
	switch name {
	case kconfig.FileEnabled:
		if v != "0" && v != "1" {
			return "", syscall.EINVAL
		}
		return v + "\n", 0
	case kconfig.FileTest:
		// Only "1" sends a test dump; anything else is -EINVAL.
		if v != "1" {
			return "", syscall.EINVAL
		}
		return v + "\n", 0
	case kconfig.FileReasons:
		for _, w := range strings.Fields(v) {
			if !contains(kconfig.Reasons, w) {
				return "", syscall.EINVAL
			}
		}
		r, err := kconfig.ParseReasons(strings.Join(strings.Fields(v), " "))
		if err != nil || strings.Contains(v, ",") {
			return "", syscall.EINVAL
		}
		return strings.Join(r, " ") + "\n", 0
	case kconfig.FileCopies:
		// Decimal digits only: no sign, no blanks.
		if v == "" || strings.Trim(v, "0123456789") != "" {
			return "", syscall.EINVAL
		}
		n, err := strconv.Atoi(v)
		if err != nil || kconfig.ValidateCopies(n) != nil {
			return "", syscall.EINVAL
		}
		return strconv.Itoa(n) + "\n", 0
	case kconfig.FileLogBufLen:
		n, err := strconv.Atoi(v)
		if err != nil || strings.TrimLeft(v, "0123456789") != "" || kconfig.ValidateLogBufLen(n) != nil || n == 0 {
			return "", syscall.EINVAL
		}
		return v + "\n", 0
	case kconfig.FileLabel:
		if kconfig.ValidateLabel(v) != nil {
			return "", syscall.EINVAL
		}
		return v + "\n", 0
	}
	t, err := kconfig.ParseTarget(v)
	if err != nil {
		return "", syscall.EINVAL
	}
	if t.IsZero() {
		return "", 0
	}
	if k.Devices != nil && !k.Devices[t.Dev] {
		return "", syscall.ENODEV
	}
	return t.String() + "\n", 0
}

func (k *Kernel) updateState() {
	var b strings.Builder
	for i := 0; i < kconfig.NumTargets; i++ {
		t, _ := kconfig.ParseTarget(k.files[kconfig.TargetFile(i)])
		if t.IsZero() {
			continue
		}
		state := "active"
		if k.Devices != nil && !k.Devices[t.Dev] {
			state = "parked"
		}
		fmt.Fprintf(&b, "target%d %s %s\n", i, t.Dev, state)
	}
	k.files[kconfig.FileState] = b.String()
}

func (k *Kernel) testDump() error {
	active := 0
	for _, l := range kconfig.ParseState(k.files[kconfig.FileState]) {
		if l.State == "active" {
			active++
		}
	}
	if active == 0 {
		return &fs.PathError{Op: "write", Path: kconfig.FileTest, Err: syscall.ENODEV}
	}
	bump := func(f string, n uint64) {
		v, _ := strconv.ParseUint(strings.TrimSpace(k.files[f]), 10, 64)
		k.files[f] = strconv.FormatUint(v+n, 10) + "\n"
	}
	if k.DeadTargets {
		// As the kernel: nothing sent is -EIO, and not a dump sent.
		bump(kconfig.FileTxErrors, uint64(active))
		return &fs.PathError{Op: "write", Path: kconfig.FileTest, Err: syscall.EIO}
	}
	bump(kconfig.FileDumpsSent, 1)
	copies, _ := strconv.Atoi(strings.TrimSpace(k.files[kconfig.FileCopies]))
	bump(kconfig.FilePacketsSent, uint64(active*copies*4))
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// WriteDir creates the files of a default fake kernel in dir, for code that
// takes a directory (kconfig.DirStore, netoopsctl --sysctl-root).
func WriteDir(dir string) error {
	k := New()
	for name, v := range k.files {
		mode := os.FileMode(0o644)
		switch name {
		case kconfig.FileState, kconfig.FileBootID, kconfig.FileDumpsSent, kconfig.FilePacketsSent, kconfig.FileTxErrors, kconfig.FileLastDumpUS:
			mode = 0o444
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), mode); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, kconfig.FileTest), nil, 0o200)
}
