package qemu

import "testing"

func TestSplats(t *testing.T) {
	console := `[    1.0] e2e: init
[    2.0] WARNING: possible circular locking dependency detected
[    2.1] BUG: kernel NULL pointer dereference, address: 0000000000000000
[    2.2] WARNING: CPU: 0 PID: 1 at net/core/skbuff.c:123 skb_put+0x1/0x2
[    2.3] WARNING: CPU: 0 PID: 1 at drivers/misc/lkdtm/bugs.c:100 lkdtm_WARNING+0x1/0x2
[    2.4] WARNING: drivers/net/netoops.c:700 at netoops_build_frame+0x1/0x2, CPU#0: sh/1
[    2.5] BUG: sleeping function called from invalid context at kernel/sched/core.c:1
[    2.6] BUG: KASAN: slab-out-of-bounds in netoops_send_piece+0x1/0x2
[    2.65] BUG: KASAN: null-ptr-deref in lkdtm_EXCEPTION+0xf/0x1a
[    2.66] WARNING: net/core/skbuff.c:1529 at napi_consume_skb+0x35/0xc2, CPU#0: pr/netcon0/41
[    2.7] Kernel panic - not syncing: sysrq triggered crash
`
	got := Splats(console)
	want := []string{
		"[    2.0] WARNING: possible circular locking dependency detected",
		"[    2.2] WARNING: CPU: 0 PID: 1 at net/core/skbuff.c:123 skb_put+0x1/0x2",
		"[    2.4] WARNING: drivers/net/netoops.c:700 at netoops_build_frame+0x1/0x2, CPU#0: sh/1",
		"[    2.5] BUG: sleeping function called from invalid context at kernel/sched/core.c:1",
		"[    2.6] BUG: KASAN: slab-out-of-bounds in netoops_send_piece+0x1/0x2",
	}
	if len(got) != len(want) {
		t.Fatalf("Splats: %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("splat %d: %q, want %q", i, got[i], want[i])
		}
	}
}
