#!/bin/sh
# catcher-pps.sh: one run of the one-core packets/s measurement of
# docs/performance.md (section Catcher). The receiver runs on CPU 0 with
# GOMAXPROCS=1, the sender on CPU 1. Receivers: the catcher; the bare
# reader `loadgen --sink` (sink); and the bare reader writing every
# datagram into files under the same directory (store: the least a
# receiver that keeps what it gets must do). All use the same recvmmsg
# loop and socket buffer, and get the same packets from the same sender.
# netconsd: facebook/netconsd (NETCONSD=path to its binary, built by
# hand from its source; one listener and one worker thread, no output
# module: it parses every message and keeps nothing; its socket buffer is
# net.core.rmem_default, it sets none), sent the same logs as extended
# netconsole records of up to 1000 bytes (loadgen --format netconsole),
# each simulated host from its own address.
#
#   scripts/catcher-pps.sh catcher|sink|store|netconsd COPIES RATE [DUMPS]
#
# Receiver and sender each run in a session of their own whose autogroup
# (kernel.sched_autogroup_enabled) has nice AUTOGROUP_NICE (default -5):
# with autogroups, `nice` only orders processes within one session, so
# other sessions' nice 19 work would otherwise get as much of a CPU as the
# receiver.
#
# RATE 0 sends as fast as the sender can. Prints one line: the sender's
# rate, packets sent and received, kernel drops (Udp RcvbufErrors, global
# to the machine), the receiver's CPU time per packet, and for the catcher
# the dumps stored complete. Run `make build` first. Loopback only.
set -eu
mode=$1 copies=$2 rate=$3 dumps=${4:-20000}
bin=${BIN:-out/bin}
port=${PORT:-16700}
work=${WORK:-/dev/shm/catcher-pps}
rm -rf "$work"
mkdir -p "$work"

boost() {
	[ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] || return 0
	echo "${AUTOGROUP_NICE:--5}" >"/proc/$1/autogroup" 2>/dev/null || true
}
rcvbuf_errors() { awk '/^Udp:/ { if (h) print $6; h = 1 }' /proc/net/snmp; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
received() { curl -s "127.0.0.1:$((port + 2401))/metrics" | awk '$1 == "netoops_catcher_packets_received_total" { printf "%d", $2 }'; }

if [ "$mode" = sink ] || [ "$mode" = store ]; then
	store=""
	if [ "$mode" = store ]; then
		mkdir -p "$work/store"
		store="--sink-store $work/store"
	fi
	GOMAXPROCS=1 setsid taskset -c 0 "$bin/loadgen" --sink $store --target "127.0.0.1:$port" >"$work/sink.json" 2>"$work/sink.err" &
elif [ "$mode" = netconsd ]; then
	[ -x "${NETCONSD:-}" ] || { echo "$0: netconsd: set NETCONSD to the path of a netconsd binary" >&2; exit 2; }
	setsid taskset -c 0 "$NETCONSD" -l 1 -w 1 -a 127.0.0.1 -u "$port" >"$work/netconsd.err" 2>&1 &
else
	# --rcvbuf: the same socket buffer as the sink's (the catcher's default is larger)
	GOMAXPROCS=1 setsid taskset -c 0 "$bin/catcher" listen --listen "127.0.0.1:$port" --rcvbuf 67108864 \
		--dir "$work/crashes" --events "$work/ev.jsonl" --max-per-source 1000000 \
		--metrics "127.0.0.1:$((port + 2401))" ${CATCHER_FLAGS:-} 2>"$work/catcher.err" &
fi
pid=$!
boost $pid
# wait until the socket is bound (a loaded machine can take seconds)
hexport=$(printf %04X "$port")
until grep -q 'listening' "$work"/*.err 2>/dev/null ||
	{ [ "$mode" = netconsd ] && grep -q ":$hexport " /proc/net/udp6; }; do
	kill -0 $pid 2>/dev/null || { cat "$work"/*.err >&2; exit 1; }
	sleep 0.1
done
sleep 0.2
load=$(cut -d" " -f1-3 /proc/loadavg)
e0=$(rcvbuf_errors)
c0=$(cpu_ticks $pid)
format=netoops
[ "$mode" = netconsd ] && format=netconsole
setsid taskset -c 1 "$bin/loadgen" --format $format --target "127.0.0.1:$port" --hosts 1000 --dumps "$dumps" \
	--dump-bytes 131072 --copies "$copies" --rate "$rate" >"$work/send.json" &
spid=$!
boost $spid
wait $spid
sent=$(sed 's/.*"packets_sent":\([0-9]*\).*/\1/' "$work/send.json")
spps=$(sed 's/.*"pps":\([0-9.]*\).*/\1/' "$work/send.json")
if [ "$mode" = netconsd ]; then
	# idle, it uses no CPU: wait until its CPU time stops growing
	c1=-1
	while :; do
		c=$(cpu_ticks $pid)
		[ "$c" = "$c1" ] && break
		c1=$c
		sleep 1
	done
	kill -INT $pid
	wait $pid || true
	got=$(sed -n 's/.*Total messages processed by workers: \([0-9]*\).*/\1/p' "$work/netconsd.err")
	extra=""
elif [ "$mode" != catcher ]; then
	# the sink exits 2 s after the last packet; idle, it uses no CPU
	c1=$c0
	while [ ! -s "$work/sink.json" ]; do c1=$(cpu_ticks $pid); sleep 0.2; done
	wait $pid || true
	got=$(sed 's/.*"packets":\([0-9]*\).*/\1/' "$work/sink.json")
	extra=""
else
	prev=-1
	while :; do
		got=$(received)
		[ "$got" = "$prev" ] && break
		prev=$got
		sleep 1
	done
	# let the store workers finish the last dumps
	sleep 1
	c1=$(cpu_ticks $pid)
	kill -INT $pid
	wait $pid || true
	complete=$(grep -c '"complete":true' "$work/ev.jsonl" || true)
	extra=" complete=$complete"
fi
e1=$(rcvbuf_errors)
echo "$mode copies=$copies rate=$rate sender_pps=${spps%.*} sent=$sent received=$got rcvbuf_errors=$((e1 - e0)) cpu_us_per_pkt=$(awk -v c=$((c1 - c0)) -v n="$got" 'BEGIN { printf "%.2f", c * 10000 / n }')$extra load=\"$load\""
