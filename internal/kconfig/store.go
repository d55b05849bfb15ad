package kconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultRoot is where the kernel exposes netoops's configuration.
const DefaultRoot = "/proc/sys/kernel/netoops"

// ErrNotPresent means the sysctl directory does not exist: netoops is not
// built into this kernel, or its module is not loaded.
var ErrNotPresent = errors.New("netoops is not in this kernel")

// A Store reads and writes the files of the sysctl directory by name.
// Write must hand value to the kernel in a single write(2).
type Store interface {
	Read(name string) (string, error)
	Write(name, value string) error
}

// DirStore is a Store on a directory: the kernel's /proc/sys/kernel/netoops
// or an ordinary directory imitating it. On procfs each value goes out in a
// single write(2); on an ordinary file system it replaces the file with a
// rename, so readers never see a partial value either.
type DirStore struct {
	Root   string
	procfs bool
}

// NewDirStore returns a Store on root, or an error wrapping ErrNotPresent
// when root does not exist.
func NewDirStore(root string) (*DirStore, error) {
	fi, err := os.Stat(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (%s does not exist)", ErrNotPresent, root)
		}
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}
	var st unix.Statfs_t
	procfs := unix.Statfs(root, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
	return &DirStore{Root: root, procfs: procfs}, nil
}

// Kernel reports whether the directory is the kernel's (on procfs) rather
// than an imitation.
func (s *DirStore) Kernel() bool { return s.procfs }

// Read returns the content of a file.
func (s *DirStore) Read(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(s.Root, name))
	return string(b), err
}

// Write writes value to a file in one write(2) (procfs) or replaces it
// atomically (other file systems).
func (s *DirStore) Write(name, value string) error {
	p := filepath.Join(s.Root, name)
	if !s.procfs {
		return s.replace(p, value)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// Exactly one write(2): (*os.File).Write would send the rest of a
	// short write at a later offset, which the kernel refuses (-EINVAL)
	// and which is no longer one atomic change.
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		n, werr = unix.Write(int(fd), []byte(value))
		return true
	}); err != nil {
		return err
	}
	if werr != nil {
		return &fs.PathError{Op: "write", Path: p, Err: werr}
	}
	if n != len(value) {
		return fmt.Errorf("write %s: short write (%d of %d bytes)", p, n, len(value))
	}
	return nil
}

func (s *DirStore) replace(p, value string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	// Imitate the kernel's permission check for read-only files.
	if fi.Mode().Perm()&0o222 == 0 {
		return &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES}
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(value); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// A WriteError is a write the kernel (or the file system) refused.
type WriteError struct {
	File  string
	Value string
	Err   error
	// Restored lists the files that had already been written in this
	// change and were put back to their previous values; RestoreErr is
	// the first error doing so, if any.
	Restored   []string
	RestoreErr error
}

func (e *WriteError) Error() string {
	v := strings.TrimSuffix(e.Value, "\n")
	msg := fmt.Sprintf("writing %q to %s: %v", v, e.File, errnoText(e.Err))
	if e.RestoreErr != nil {
		msg += fmt.Sprintf("; restoring the previous values also failed: %v (check with 'netoopsctl show')", e.RestoreErr)
	} else {
		msg += "; the previous configuration stays in force"
	}
	return msg
}

func (e *WriteError) Unwrap() error { return e.Err }

// errnoENOTSUPP is the kernel-internal ENOTSUPP (524) that netpoll setup
// returns for a device without netpoll support; it reaches user space as is.
const errnoENOTSUPP = syscall.Errno(524)

func errnoText(err error) string {
	switch {
	case errors.Is(err, syscall.EINVAL):
		return "the kernel refused the value (EINVAL)"
	case errors.Is(err, syscall.ENODEV):
		return "the kernel refused it: no such device (ENODEV)"
	case errors.Is(err, syscall.EBUSY):
		return "the kernel refused it: busy (EBUSY: the device may be enslaved to a bond, or a dump or another change is in progress; see the kernel log)"
	case errors.Is(err, errnoENOTSUPP), errors.Is(err, syscall.EOPNOTSUPP):
		return "the kernel refused it: the device does not support netpoll (see the kernel log)"
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return "permission denied (writing needs root / CAP_NET_ADMIN, from the initial network namespace)"
	case errors.Is(err, syscall.EROFS):
		return "read-only file system (is /proc/sys mounted read-only, as in a container?)"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("the kernel refused it: %v (errno %d; see the kernel log)", err, int(errno))
	}
	return err.Error()
}

// IsPermission reports whether err is a missing privilege (or a read-only
// /proc/sys, as in an unprivileged container).
func IsPermission(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EROFS)
}

// IsRefused reports whether err is the kernel refusing a value: EINVAL,
// ENODEV, or any other error number from the write itself (a target write
// fails with netpoll's error, e.g. EBUSY for a bonded device) that is not
// a missing privilege.
func IsRefused(err error) bool {
	if IsPermission(err) {
		return false
	}
	var errno syscall.Errno
	return errors.As(err, &errno) && errno != syscall.ENOENT
}

// Load reads the writable configuration.
func Load(s Store) (*Config, error) {
	c := &Config{}
	read := func(name string) (string, error) {
		v, err := s.Read(name)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", name, err)
		}
		return strings.TrimSuffix(v, "\n"), nil
	}
	v, err := read(FileEnabled)
	if err != nil {
		return nil, err
	}
	switch strings.TrimSpace(v) {
	case "0":
	case "1":
		c.Enabled = true
	default:
		return nil, fmt.Errorf("enabled: unexpected value %q", v)
	}
	if v, err = read(FileReasons); err != nil {
		return nil, err
	}
	if c.Reasons, err = ParseReasons(v); err != nil {
		return nil, fmt.Errorf("reasons: %w", err)
	}
	if v, err = read(FileCopies); err != nil {
		return nil, err
	}
	if c.Copies, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
		return nil, fmt.Errorf("copies: %w", err)
	}
	if c.Label, err = read(FileLabel); err != nil {
		return nil, err
	}
	// Kernels before log_buf_len sized the snapshot themselves.
	switch v, err = read(FileLogBufLen); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if c.LogBufLen, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
			return nil, fmt.Errorf("log_buf_len: %w", err)
		}
	}
	for i := range c.Targets {
		if v, err = read(TargetFile(i)); err != nil {
			return nil, err
		}
		if c.Targets[i], err = ParseTarget(v); err != nil {
			return nil, fmt.Errorf("%s: %w", TargetFile(i), err)
		}
	}
	return c, nil
}

// LoadStatus reads the read-only files. Missing files read as empty/zero.
func LoadStatus(s Store) (*Status, error) {
	st := &Status{}
	v, err := s.Read(FileState)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading state: %w", err)
	}
	st.State = ParseState(v)
	v, err = s.Read(FileBootID)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading boot_id: %w", err)
	}
	st.BootID = strings.TrimSpace(v)
	for _, f := range []struct {
		name string
		p    *uint64
	}{
		{FileDumpsSent, &st.DumpsSent},
		{FilePacketsSent, &st.PacketsSent},
		{FileTxErrors, &st.TxErrors},
		{FileLastDumpUS, &st.LastDumpUS},
	} {
		v, err := s.Read(f.name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f.name, err)
		}
		if *f.p, err = strconv.ParseUint(strings.TrimSpace(v), 10, 64); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return st, nil
}

// ParseState parses the state file. Lines it does not understand are skipped.
func ParseState(v string) []StateLine {
	var out []StateLine
	for _, line := range strings.Split(v, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[0], "target") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(f[0], "target"))
		if err != nil || n < 0 || n >= NumTargets {
			continue
		}
		out = append(out, StateLine{Slot: n, Dev: f[1], State: f[2]})
	}
	return out
}

// ReadCounters samples the dump counters.
func ReadCounters(s Store) (Counters, error) {
	st, err := LoadStatus(s)
	if err != nil {
		return Counters{}, err
	}
	return Counters{DumpsSent: st.DumpsSent, PacketsSent: st.PacketsSent, TxErrors: st.TxErrors}, nil
}

// TriggerTest writes 1 to the test file: the kernel sends a test dump.
func TriggerTest(s Store) error {
	if err := s.Write(FileTest, "1\n"); err != nil {
		return &WriteError{File: FileTest, Value: "1", Err: err}
	}
	return nil
}

// fileValue returns the value writable file name gets for c.
func (c *Config) fileValue(name string) string {
	switch name {
	case FileEnabled:
		return boolStr(c.Enabled) + "\n"
	case FileReasons:
		return strings.Join(canonReasons(c.Reasons), " ") + "\n"
	case FileCopies:
		return strconv.Itoa(c.Copies) + "\n"
	case FileLabel:
		return c.Label + "\n"
	case FileLogBufLen:
		return strconv.Itoa(c.LogBufLen) + "\n"
	}
	for i := range c.Targets {
		if name == TargetFile(i) {
			return c.Targets[i].String() + "\n"
		}
	}
	panic("kconfig: unknown file " + name)
}

// Plan returns the files to write to go from cur to want, in the order that
// keeps every intermediate state a working configuration:
//
//   - When disabling, enabled=0 goes first, so nothing is sent from a
//     half-changed configuration.
//   - reasons, copies and label come next: they are valid with any target.
//   - log_buf_len comes before the targets, so that the first target
//     reserves a snapshot of the size asked for.
//   - Targets that get a (new) value come before targets that are cleared,
//     so there is no moment without any target.
//   - When enabling, enabled=1 goes last, once everything else is in place.
//
// Each file is one write(2), which the kernel applies atomically, so a crash
// between two writes leaves every file either old or new, never half.
// Files whose value does not change are not written.
func Plan(cur, want *Config) []string {
	var files []string
	if cur.Enabled && !want.Enabled {
		files = append(files, FileEnabled)
	}
	if !slices.Equal(canonReasons(cur.Reasons), canonReasons(want.Reasons)) {
		files = append(files, FileReasons)
	}
	if cur.Copies != want.Copies {
		files = append(files, FileCopies)
	}
	if cur.Label != want.Label {
		files = append(files, FileLabel)
	}
	if want.LogBufLen != 0 && cur.LogBufLen != want.LogBufLen {
		files = append(files, FileLogBufLen)
	}
	for i := range want.Targets {
		if !want.Targets[i].IsZero() && !want.Targets[i].Equal(cur.Targets[i]) {
			files = append(files, TargetFile(i))
		}
	}
	for i := range want.Targets {
		if want.Targets[i].IsZero() && !cur.Targets[i].IsZero() {
			files = append(files, TargetFile(i))
		}
	}
	if !cur.Enabled && want.Enabled {
		files = append(files, FileEnabled)
	}
	return files
}

// Apply writes the files that differ between cur (what the kernel has now)
// and want, in Plan's order. If the kernel refuses one, the files already
// written are put back to cur's values, newest first, and a *WriteError is
// returned. Apply returns the files it wrote.
func Apply(s Store, cur, want *Config) ([]string, error) {
	if err := want.Validate(); err != nil {
		return nil, err
	}
	plan := Plan(cur, want)
	for i, f := range plan {
		v := want.fileValue(f)
		if err := s.Write(f, v); err != nil {
			we := &WriteError{File: f, Value: v, Err: err}
			for j := i - 1; j >= 0; j-- {
				if rerr := s.Write(plan[j], cur.fileValue(plan[j])); rerr != nil {
					if we.RestoreErr == nil {
						we.RestoreErr = fmt.Errorf("%s: %w", plan[j], rerr)
					}
					continue
				}
				we.Restored = append(we.Restored, plan[j])
			}
			return plan[:i], we
		}
	}
	return plan, nil
}

// ApplyAndVerify is Apply followed by reading the configuration back and
// comparing it semantically with want. A difference is returned as a
// *MismatchError.
func ApplyAndVerify(s Store, cur, want *Config) ([]string, error) {
	written, err := Apply(s, cur, want)
	if err != nil {
		return written, err
	}
	got, err := Load(s)
	if err != nil {
		return written, fmt.Errorf("reading the configuration back: %w", err)
	}
	if d := Diff(want, got); len(d) > 0 {
		return written, &MismatchError{Diffs: d}
	}
	return written, nil
}

// A MismatchError is a configuration that reads back differently from what
// was written.
type MismatchError struct{ Diffs []string }

func (e *MismatchError) Error() string {
	return "the kernel's configuration differs from what was written: " + strings.Join(e.Diffs, "; ")
}
