#!/bin/sh
# catcher-storm.sh: one run of a crash storm of docs/performance.md
# (section Catcher, "A crash storm at line rate"): every simulated host
# sends its whole dump at once, once (--copies 1), as fast as one sender
# core can (no --rate). The catcher runs on CPU 0, the sender on CPU 1;
# the store is on the ordinary disk (WORK, not tmpfs).
#
#   scripts/catcher-storm.sh [a|b|HOSTSxBYTES]
#
#   a: 10,000 hosts x 128 KiB      b: 100,000 hosts x 16 KiB
#
# Without an argument it does ROUNDS (default 3) rounds, each: case a,
# case b, then the one-core packets/s comparison of scripts/catcher-pps.sh
# at copies 1, flat out: the bare reader (sink), the catcher, and, if
# NETCONSD is the path of a netconsd binary, netconsd; then it prints
# every line again and exits 1 if any storm run failed.
#
# Prints one line: packets sent and received, the kernel's drops during
# the run (Udp RcvbufErrors and InErrors from /proc/net/snmp, the
# per-CPU backlog drops from /proc/net/softnet_stat, and the socket's own
# drop counter from /proc/net/udp), the dumps loadgen --verify found
# complete and byte-exact, the catcher's peak RSS (VmHWM), the largest
# queue on its socket seen while the sender ran (rx_queue of
# /proc/net/udp, sampled every 0.1 s, against the buffer the kernel
# reports: how close the storm came to a drop), how long the
# sender took and how long until every dump was stored, the catcher's CPU
# time, the CPU time other processes took on CPU 0 and CPU 1 while the
# sender ran (cpu0_others_s, cpu1_others_s: more than a few hundredths
# means the run was disturbed), and the load average when the run
# started. Exits 1 if a dump is missing or wrong or the kernel dropped
# anything. Run `make build` first. Loopback only. CATCHER_FLAGS adds
# catcher flags.
#
# Catcher and sender each run in a session of their own whose autogroup
# (kernel.sched_autogroup_enabled) has nice AUTOGROUP_NICE (default -5):
# with autogroups, `nice` only orders processes within one session, so
# other sessions' nice 19 work would otherwise get half of a CPU.
set -eu
if [ $# -eq 0 ]; then
	self=$0
	out=$(mktemp) one=$(mktemp)
	rc=0
	for round in $(seq "${ROUNDS:-3}"); do
		for c in a b; do
			# not a pipe: its status would be tee's
			sh "$self" $c >"$one" || rc=1
			cat "$one"
			cat "$one" >>"$out"
		done
		for m in sink catcher ${NETCONSD:+netconsd}; do
			sh "$(dirname "$self")/catcher-pps.sh" $m 1 0 | tee -a "$out" || true
		done
	done
	echo "== all rounds"
	cat "$out"
	rm -f "$out" "$one"
	echo "exit $rc ($([ $rc -eq 0 ] && echo 'every storm run lossless and whole' || echo 'a storm run lost packets or dumps'))"
	exit $rc
fi
case=$1
case $case in
a) hosts=10000 bytes=131072 ;;
b) hosts=100000 bytes=16384 ;;
*x*) hosts=${case%x*} bytes=${case#*x} ;;
*) echo "usage: $0 a|b|HOSTSxBYTES" >&2; exit 2 ;;
esac
bin=${BIN:-out/bin}
port=${PORT:-16900}
work=${WORK:-/var/tmp/catcher-storm}
if [ "$(stat -f -c %T "$(dirname "$work")")" = tmpfs ]; then
	echo "$0: WORK=$work is on tmpfs; the storm is measured on disk" >&2
	exit 2
fi
rm -rf "$work"
mkdir -p "$work"

snmp() { awk -v f="$1" '/^Udp:/ { if (h) { print $(c) } else { for (i = 1; i <= NF; i++) if ($i == f) c = i; h = 1 } }' /proc/net/snmp; }
softnet_drops() {
	s=0
	while read -r _ d _; do s=$((s + 0x$d)); done </proc/net/softnet_stat
	echo $s
}
# the drops column of the catcher's sockets (all bound to the port)
sock_drops() { awk -v p=":$(printf %04X "$port")" '$2 ~ p"$" { s += $NF } END { print s + 0 }' /proc/net/udp; }
# bytes queued on the catcher's sockets (rx_queue: the kernel's count,
# truesize, against the buffer it reports, twice --rcvbuf)
sock_queue() {
	s=0
	for h in $(awk -v p=":$(printf %04X "$port")" '$2 ~ p"$" { split($5, q, ":"); print q[2] }' /proc/net/udp); do
		s=$((s + 0x$h))
	done
	echo $s
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# busy ticks of CPU $1 (user nice system steal; not the interrupts,
# where the loopback delivers the packets)
cpu_busy() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $9 }' /proc/stat; }
boost() {
	[ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] || return 0
	echo "${AUTOGROUP_NICE:--5}" >"/proc/$1/autogroup" 2>/dev/null || true
}
metric() { curl -s "127.0.0.1:$((port + 1))/metrics" | awk -v m="netoops_catcher_$1" '$1 == m { printf "%d", $2 }'; }

load=$(cut -d' ' -f1-3 /proc/loadavg)
setsid taskset -c 0 "$bin/catcher" listen --listen "127.0.0.1:$port" --dir "$work/crashes" \
	--events "$work/events.jsonl" --max-per-source 1000000 --max-dumps 262144 \
	--metrics "127.0.0.1:$((port + 1))" ${CATCHER_FLAGS:-} 2>"$work/catcher.err" &
pid=$!
boost $pid
# wait until the socket is bound (a loaded machine can take seconds)
until grep -q 'msg=listening' "$work/catcher.err" 2>/dev/null; do
	kill -0 $pid 2>/dev/null || { cat "$work/catcher.err" >&2; exit 1; }
	sleep 0.1
done
sleep 0.2
rcvbuf=$(sed -n 's/.*msg=listening.* rcvbuf_kernel=\([0-9]*\).*/\1/p' "$work/catcher.err" | head -1)
rcvbuf=${rcvbuf:-0}
r0=$(snmp RcvbufErrors) i0=$(snmp InErrors) s0=$(softnet_drops) k0=$(sock_drops) c0=$(cpu_ticks $pid)
b00=$(cpu_busy 0) b10=$(cpu_busy 1)
t0=$(date +%s.%N)
rc=0
# --verify-wait: storing 100,000 dumps (a file, a sidecar and fsyncs
# each) takes minutes on this disk
setsid taskset -c 1 "$bin/loadgen" --target "127.0.0.1:$port" --hosts "$hosts" --dump-bytes "$bytes" \
	--copies 1 --verify "$work/crashes" --verify-wait ${VERIFY_WAIT:-600s} >"$work/send.json" 2>"$work/send.err" &
spid=$!
boost $spid
# the send ends when loadgen says it is verifying; sample the CPUs then
# (the catcher's and the sender's shares are their own ticks)
cs0=$(cpu_ticks $pid) ss0=$(cpu_ticks $spid)
b01=$b00 b11=$b10 cs1=$cs0 ss1=$ss0 qmax=0
while kill -0 $spid 2>/dev/null && ! grep -q verifying "$work/send.err"; do
	b01=$(cpu_busy 0) b11=$(cpu_busy 1) cs1=$(cpu_ticks $pid) ss1=$(cpu_ticks $spid 2>/dev/null || echo $ss0)
	q=$(sock_queue)
	[ "$q" -gt "$qmax" ] && qmax=$q
	sleep 0.1
done
# the queue peaks as the send ends
q=$(sock_queue)
[ "$q" -gt "$qmax" ] && qmax=$q
wait $spid || rc=1
t1=$(date +%s.%N)
r1=$(snmp RcvbufErrors) i1=$(snmp InErrors) s1=$(softnet_drops) k1=$(sock_drops) c1=$(cpu_ticks $pid)
hwm=$(awk '/^VmHWM/ { printf "%d", $2 / 1024 }' /proc/$pid/status)
got=$(metric packets_received_total)
kill -INT $pid
wait $pid || rc=1
sent=$(sed 's/.*"packets_sent":\([0-9]*\).*/\1/' "$work/send.json")
elapsed=$(sed 's/.*"elapsed_s":\([0-9.]*\).*/\1/' "$work/send.json")
verified=$(sed -n 's/.*"verified_complete":\([0-9]*\).*/\1/p' "$work/send.json")
drops=$((r1 - r0 + i1 - i0 + s1 - s0 + k1 - k0))
[ "$drops" -eq 0 ] || rc=1
echo "storm hosts=$hosts dump_bytes=$bytes sent=$sent received=$got" \
	"rcvbuf_errors=$((r1 - r0)) in_errors=$((i1 - i0)) softnet_drops=$((s1 - s0)) socket_drops=$((k1 - k0))" \
	"complete=${verified:-0}/$hosts peak_rss_mib=$hwm peak_queue_mib=$((qmax >> 20))/$((rcvbuf >> 20)) send_s=$(printf %.2f "$elapsed")" \
	"stored_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
	"cpu_s=$(awk -v c=$((c1 - c0)) 'BEGIN { printf "%.1f", c / 100 }')" \
	"cpu0_others_s=$(awk -v c=$((b01 - b00 - (cs1 - cs0))) 'BEGIN { printf "%.2f", (c < 0 ? 0 : c) / 100 }')" \
	"cpu1_others_s=$(awk -v c=$((b11 - b10 - (ss1 - ss0))) 'BEGIN { printf "%.2f", (c < 0 ? 0 : c) / 100 }')" \
	"load=\"$load\""
[ $rc -eq 0 ] || sed -n 's/.*"verify_error":"\([^"]*\)".*/verify: \1/p' "$work/send.json" >&2
exit $rc
