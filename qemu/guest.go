package qemu

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Guest is the contents of one scenario's initramfs.
type Guest struct {
	Busybox    string   // static busybox on the host
	Netoopsctl string   // static netoopsctl on the host, optional
	Modules    []string // .ko files on the host, loaded in this order
	Script     string   // scenario shell script, sourced by /init after setup
	// Env is put in /e2e/env, sourced before the script.
	Env map[string]string
	// Files are extra files, path -> contents.
	Files map[string][]byte
}

// initScript brings the guest up: mounts, modules, network, then the
// scenario. The scenario's own output goes to ttyS1 (guest.log) so that
// the kernel console (ttyS0) holds only kernel messages; markers that must
// be in the kernel log go through /dev/kmsg with mark.
const initScript = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /bin /sbin
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox --install -s /bin
exec >/dev/ttyS1 2>&1
export PATH=/bin:/sbin
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t configfs configfs /sys/kernel/config 2>/dev/null
. /e2e/env
. /e2e/lib.sh
hostname "${GUEST_HOSTNAME:-netoops-guest}"
echo "e2e: init on $(uname -r)"
if [ -f /e2e/modules ]; then
	while read -r m; do
		# A module's parameters from the kernel command line, as modprobe
		# gives them: NAME.PARAM=VALUE, and NAME=VALUE for a module whose
		# parameter has its name (netconsole=, what the built-in driver
		# reads from the command line itself).
		n=${m%.ko}
		args=
		for w in $(cat /proc/cmdline); do
			case $w in
			"$n".*=*) args="$args ${w#"$n".}" ;;
			"$n"=*) args="$args $w" ;;
			esac
		done
		insmod "/lib/e2e/$m" $args || echo "e2e: insmod $m failed"
	done < /e2e/modules
fi
ip link set lo up
echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad 2>/dev/null
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
ip -6 addr add fec0::15/64 dev eth0
i=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ping -c 1 -W 2 10.0.2.2 > /dev/null || echo "e2e: gateway does not answer ping"
mark "E2E-BOOTED $(uname -r)"
. /e2e/scenario.sh
mark "E2E-SCRIPT-END"
sync
reboot -f
`

// libScript holds the helpers scenario scripts use.
const libScript = `
# mark TEXT: put a line in the kernel log (and in guest.log).
mark() { echo "$*" > /dev/kmsg; echo "mark: $*"; }
# fail TEXT: report a failure the host looks for, and stop the guest.
fail() { mark "E2E-FAIL: $*"; sync; reboot -f; }
# run CMD...: run a command, fail the scenario if it fails.
run() { echo "+ $*"; "$@" || fail "$* exited $?"; }
# upload NAME FILE: send a file to the host's sink (saved as NAME).
upload() {
	n=$(wc -c < "$2")
	{ echo "$1 $n"; cat "$2"; } | nc 10.0.2.2 "$E2E_SINK" > /dev/null || echo "upload $1 failed"
}
# snapshot NAME: upload the kernel log as the syslog interface gives it
# (the same rendering as a kmsg dump: <N> prefixes, timestamps).
snapshot() { dmesg -r > /tmp/snap; upload "$1" /tmp/snap; }
# crash WHAT: write WHAT into LKDTM in a child process (an oops kills the
# writer; it must not be init).
lkdtm() { sh -c "echo $1 > /sys/kernel/debug/provoke-crash/DIRECT"; }
# known N TAG: log N known lines.
known() { local k=1; while [ $k -le $1 ]; do echo "E2E-KNOWN $2 line $k of $1 abcdefghijklmnopqrstuvwxyz0123456789" > /dev/kmsg; k=$((k+1)); done; }
`

// Build writes the initramfs image to name.
func (g *Guest) Build(name string) error {
	c := NewCPIO()
	for _, d := range []string{"proc", "sys", "dev", "tmp", "run", "sbin", "etc", "root"} {
		c.Dir(d, 0o755)
	}
	c.HostFile("bin/busybox", 0o755, g.Busybox)
	c.Symlink("bin/sh", "busybox")
	c.File("init", 0o755, []byte(initScript))
	c.File("e2e/lib.sh", 0o644, []byte(libScript))
	c.File("e2e/scenario.sh", 0o644, []byte(g.Script))
	c.File("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	var env strings.Builder
	for k, v := range g.Env {
		fmt.Fprintf(&env, "export %s=%s\n", k, shellQuote([]string{v}))
	}
	c.File("e2e/env", 0o644, []byte(env.String()))
	if g.Netoopsctl != "" {
		c.HostFile("bin/netoopsctl", 0o755, g.Netoopsctl)
	}
	if len(g.Modules) > 0 {
		var order strings.Builder
		for _, m := range g.Modules {
			c.HostFile("lib/e2e/"+filepath.Base(m), 0o644, m)
			order.WriteString(filepath.Base(m) + "\n")
		}
		c.File("e2e/modules", 0o644, []byte(order.String()))
	}
	for p, b := range g.Files {
		c.File(p, 0o644, b)
	}
	return c.WriteFile(name)
}

// Sink receives files the guest uploads with the upload helper: a header
// line "NAME LENGTH", then LENGTH bytes. It closes the connection after
// them, which ends the guest's nc.
type Sink struct {
	ln    net.Listener
	Dir   string
	mu    sync.Mutex
	files map[string][]byte
}

// NewSink listens on 127.0.0.1 (the guest reaches it at 10.0.2.2).
func NewSink(dir string) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln, Dir: dir, files: map[string][]byte{}}
	go s.serve()
	return s, nil
}

// Port is the port the guest connects to.
func (s *Sink) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the listener.
func (s *Sink) Close() error { return s.ln.Close() }

func (s *Sink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			r := bufio.NewReader(c)
			hdr, err := r.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Fields(hdr)
			if len(f) != 2 {
				return
			}
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 0 || n > 64<<20 {
				return
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return
			}
			name := filepath.Base(f[0])
			if s.Dir != "" {
				os.WriteFile(filepath.Join(s.Dir, "upload-"+name), b, 0o644)
			}
			s.mu.Lock()
			s.files[name] = b
			s.mu.Unlock()
		}()
	}
}

// Get returns an uploaded file, if it arrived.
func (s *Sink) Get(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.files[name]
	return b, ok
}
