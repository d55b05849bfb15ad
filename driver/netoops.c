// SPDX-License-Identifier: GPL-2.0
/*
 * netoops: send the kernel log over UDP when the kernel oopses or panics.
 *
 * netoops registers a kmsg dumper. When the kernel dumps its log, netoops
 * copies the log (with syslog prefixes) into a buffer reserved when the
 * first target was configured, cuts it into pieces that fit the device
 * MTU and sends them, last piece first, in UDP packets it builds itself in
 * socket buffers it allocated beforehand. The whole sequence is sent
 * several times. The packet format is described in
 * Documentation/networking/netoops.rst.
 *
 * netoops's own code, while dumping, allocates and frees nothing, defers
 * nothing to a work item, takes no lock but a device's transmit queue lock
 * (with a trylock) and bounds every wait, per packet and per target. One
 * exception, never while a panic is in progress: the oops that ends a
 * test dump which faulted completes the test's writer (taking the
 * completion's and the scheduler's locks) and drops the faulted thread's
 * reference to the test, which may free it. netoops calls into the
 * device's driver (ndo_start_xmit(), and NAPI poll for transmit
 * completions) as netpoll does; what the driver does there is the
 * driver's: the documentation's "The crash path" says what that means.
 *
 * - The configuration is one immutable snapshot published with RCU;
 *   writers make a new one under netoops_mutex and wait for a grace period
 *   before freeing the old one. The per-device part of a target (netpoll
 *   for NAPI polling, the socket buffers) is published with RCU under RTNL.
 *   A dump reads both inside one RCU read-side section per packet.
 * - netoops holds a reference to each of its socket buffers: when the
 *   driver is done with one it only drops its own, nothing is returned to
 *   the allocator, and a dump claims a buffer (a bit of its own) before it
 *   builds a frame into it.
 * - Frames go to the driver's ndo_start_xmit() directly, under a trylock
 *   of the queue's transmit lock. A queue its driver stopped or a frozen
 *   queue, a lock that stays held or no free buffer gets a time-bounded
 *   wait with NAPI polling; then the device is given up for the rest of
 *   the dump and what was not sent is counted in tx_errors.
 * - One context sends at a time (netoops_owner); a real dump takes over
 *   from a test dump, a panic from any dump. What a dump holds (a transmit
 *   lock, a NAPI instance) is recorded in atomics, marked while the driver
 *   has it, so that a panic can release what a dump that never comes back
 *   (stopped with the other CPUs, or interrupted by the panic) held outside
 *   the driver, and leaves alone what it held inside.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bottom_half.h>
#include <linux/completion.h>
#include <linux/ctype.h>
#include <linux/debug_locks.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/fault-inject.h>
#include <linux/hex.h>
#include <linux/if_arp.h>
#include <linux/if_vlan.h>
#include <linux/inet.h>
#include <linux/kmsg_dump.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/netpoll.h>
#include <linux/nmi.h>
#include <linux/panic.h>
#include <linux/printk.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/reboot.h>
#include <linux/rtnetlink.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysctl.h>
#include <linux/timekeeping.h>
#include <linux/utsname.h>
#include <linux/vmalloc.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ipv6.h>
#include <net/net_debug.h>
#include <net/netdev_rx_queue.h>
#include <net/udp.h>

#define NETOOPS_MAGIC		0x4e4f5053	/* "NOPS" */
#define NETOOPS_VERSION		1

#define NETOOPS_F_TRUNCATED	0x0002
#define NETOOPS_F_PREFIXED	0x0004

#define NETOOPS_MAX_TARGETS	4
#define NETOOPS_DEFAULT_SPORT	6667
#define NETOOPS_DEFAULT_DPORT	6668
#define NETOOPS_DEFAULT_COPIES	3
#define NETOOPS_MAX_COPIES	16

#define NETOOPS_STR_MAX		64	/* host name, release, label */
#define NETOOPS_TEXT_MAX	128	/* reason text */

/* Largest UDP payload netoops sends, whatever the MTU. */
#define NETOOPS_MAX_UDP		1460

/* Longest line a sysctl write may contain. */
#define NETOOPS_LINE_MAX	256

/*
 * Log snapshot size when log_buf_len was never written: twice the log
 * buffer the kernel was built with, since the syslog prefixes and time
 * stamps add about 20 bytes to every record.
 */
#define NETOOPS_DEFAULT_LOG_LEN	(2U << CONFIG_LOG_BUF_SHIFT)
#define NETOOPS_MIN_LOG_LEN	4096U
#define NETOOPS_MAX_LOG_LEN	(256U << 20)

/* Socket buffers per target; the device frees them as it sends. */
#define NETOOPS_RING		64

/* How long one packet may wait for a device, and how often it polls. */
#define NETOOPS_TX_WAIT_NS	(200 * NSEC_PER_MSEC)
#define NETOOPS_POLL_US		20

/* How long one target may take in one dump, all its packets together. */
#define NETOOPS_TARGET_BUDGET_NS	(10 * NSEC_PER_SEC)

/*
 * How long a dump waits for another real dump to end, and a panic for a
 * dump that may still run on another CPU to let go of a device.
 */
#define NETOOPS_OWNER_WAIT_NS	(20 * NSEC_PER_MSEC)

/* At most one oops dump this often; panics are always sent. */
#define NETOOPS_OOPS_INTERVAL_NS	(10 * NSEC_PER_SEC)

/* How long a test write waits for its dump: longer than any dump takes. */
#define NETOOPS_TEST_WAIT_MS	((NETOOPS_MAX_TARGETS * 11 + 10) * MSEC_PER_SEC)

/* Wire reasons (Documentation/networking/netoops.rst), not kmsg_dump's. */
enum {
	NETOOPS_REASON_UNKNOWN,
	NETOOPS_REASON_PANIC,
	NETOOPS_REASON_OOPS,
	NETOOPS_REASON_EMERG,
	NETOOPS_REASON_SHUTDOWN,
	NETOOPS_REASON_TEST,
	NETOOPS_NR_REASONS,
};

/*
 * Fixed part of every packet. All fields are big endian and naturally
 * aligned; the strings follow at offset 64.
 */
struct netoops_hdr {
	__be32	magic;
	u8	version;
	u8	reason;
	__be16	header_len;
	__be16	flags;
	__be16	payload_len;
	u8	boot_id[16];
	__be32	dump_seq;
	__be32	index;
	__be32	count;
	__be32	offset;
	__be32	total_len;
	__be64	time_ns;
	u8	copy;
	u8	copies;
	u8	host_len;
	u8	release_len;
	u8	label_len;
	u8	text_len;
	__be16	reserved;
} __packed;

#define NETOOPS_HDR_MAX		(sizeof(struct netoops_hdr) + \
				 3 * NETOOPS_STR_MAX + NETOOPS_TEXT_MAX)

static_assert(sizeof(struct netoops_hdr) == 64);
static_assert(offsetof(struct netoops_hdr, time_ns) == 48);
static_assert(NETOOPS_HDR_MAX < NETOOPS_MAX_UDP);

enum netoops_state {
	NETOOPS_ACTIVE,
	NETOOPS_PARKED,
	NETOOPS_DOWN,
};

static const char * const netoops_state_names[] = {
	[NETOOPS_ACTIVE]	= "active",
	[NETOOPS_PARKED]	= "parked",
	[NETOOPS_DOWN]		= "down",
};

/*
 * The device side of a target: exists while the device it names is up and
 * resolves to a device netoops can send through.
 */
struct netoops_tx {
	/*
	 * For NAPI polling only: netpoll sends nothing for netoops. np.dev is
	 * the device the frames go through: the named one, the real device of
	 * a VLAN device, or the slave a bond sends through.
	 */
	struct netpoll		np;
	struct sk_buff		*skbs[NETOOPS_RING];
	/* A dump building a frame into a buffer owns its bit. */
	unsigned long		claimed[BITS_TO_LONGS(NETOOPS_RING)];
	/* Where the next search for a free buffer starts; a hint. */
	unsigned int		next;
	/* Where a frame starts in a buffer, so that its IP header is aligned. */
	unsigned int		headroom;
	/* Of the named device: MTU, MAC address, VLAN id (0: untagged). */
	unsigned int		mtu;
	u16			vlan_id;
	u8			src_mac[ETH_ALEN] __aligned(2);
};

struct netoops_target {
	/* Constant once the target is published. */
	char			dev_name[IFNAMSIZ];
	union inet_addr		src;
	union inet_addr		dst;
	bool			ipv6;
	u16			sport;
	u16			dport;
	u8			mac[ETH_ALEN] __aligned(2);
	/* Changed under RTNL; the dump path reads it under RCU. */
	struct netoops_tx __rcu	*tx;
	/* Written under RTNL, read with READ_ONCE(). */
	enum netoops_state	state;
};

/* The configuration in force: never changed once published. */
struct netoops_config {
	unsigned int		enabled;
	unsigned int		reasons;	/* BIT() of wire reasons */
	unsigned int		copies;
	unsigned int		log_buf_len;
	char			label[NETOOPS_STR_MAX + 1];
	struct netoops_target	*targets[NETOOPS_MAX_TARGETS];
	/* The log snapshot buffer, log_size bytes, or NULL. */
	char			*log;
	size_t			log_size;
};

static const char * const netoops_reason_names[NETOOPS_NR_REASONS] = {
	[NETOOPS_REASON_PANIC]		= "panic",
	[NETOOPS_REASON_OOPS]		= "oops",
	[NETOOPS_REASON_EMERG]		= "emerg",
	[NETOOPS_REASON_SHUTDOWN]	= "shutdown",
	[NETOOPS_REASON_TEST]		= "test",
};

/* Canonical order of the words in the reasons file. */
static const u8 netoops_reason_order[] = {
	NETOOPS_REASON_OOPS, NETOOPS_REASON_PANIC, NETOOPS_REASON_EMERG,
	NETOOPS_REASON_SHUTDOWN,
};

#define NETOOPS_DEFAULT_REASONS	(BIT(NETOOPS_REASON_OOPS) | \
				 BIT(NETOOPS_REASON_PANIC))

/*
 * Lock order: netoops_mutex, then RTNL. netoops_mutex serialises writers;
 * RTNL protects every target's tx and the config pointer for the netdevice
 * notifier, which runs under RTNL and never takes netoops_mutex. The dump
 * path takes neither.
 */
static DEFINE_MUTEX(netoops_mutex);
static struct netoops_config __rcu *netoops_config;

/*
 * A time bound for a wait that polls every @step_us. The step count bounds
 * it too, should the clock not advance (a jiffies clocksource with
 * interrupts off).
 */
struct netoops_deadline {
	u64		end;
	unsigned long	steps;
};

/* What a target may still use of its time in one dump. */
struct netoops_budget {
	u64		ns;
	unsigned long	steps;
};

/* Where a dump runs: a fault inside it happens at the same level. */
enum netoops_level {
	NETOOPS_LEVEL_TASK,
	NETOOPS_LEVEL_SOFTIRQ,
	NETOOPS_LEVEL_HARDIRQ,
	NETOOPS_LEVEL_NMI,
};

/* One dump slot per kind of dump, so that a dump never reuses another's. */
enum {
	NETOOPS_SLOT_TEST,
	NETOOPS_SLOT_CRASH,	/* oops, emergency restart, shutdown */
	NETOOPS_SLOT_PANIC,
	NETOOPS_NR_SLOTS,
};

/* Set in a hold while the driver has what it records. */
#define NETOOPS_IN_DRIVER	1UL

/* A test write and the kernel thread that sends its dump. */
struct netoops_test {
	struct completion	done;
	long			result;
	bool			cancel;
	refcount_t		refs;
};

/* What one dump needs besides the configuration. */
struct netoops_dump {
	u8			hdr[NETOOPS_HDR_MAX] __aligned(8);
	size_t			hdr_len;
	size_t			total;
	size_t			piece;		/* payload bytes per packet */
	unsigned int		count;
	/* In use, from the claim until the dump has let go of everything. */
	atomic_t		busy;
	/* Who sends; constant while busy (task is NULL while not busy). */
	struct task_struct	*task;
	enum netoops_level	level;
	int			cpu;
	u8			reason;
	unsigned int		stop;
	unsigned int		log_seq;
	struct netoops_test	*test;
	/*
	 * What the dump holds that others need: the transmit queue whose lock
	 * it took, the NAPI instance it polls (poll_owner and NPSVC taken),
	 * each with NETOOPS_IN_DRIVER set while the driver has it, and the
	 * CPU that took it. Changed with atomics only, so that a panic can
	 * take over what is not inside the driver (netoops_take_over()).
	 */
	atomic_long_t		hold_txq;
	atomic_long_t		hold_napi;
	int			hold_cpu;
	u16			ip_id;
	/* Copied from the configuration when the dump starts. */
	struct netoops_target	*targets[NETOOPS_MAX_TARGETS];
	const char		*log;
	unsigned int		copies;
	/* Per target: planned, still sending, packets taken, time used. */
	bool			planned[NETOOPS_MAX_TARGETS];
	bool			live[NETOOPS_MAX_TARGETS];
	unsigned long		sent[NETOOPS_MAX_TARGETS];
	struct netoops_budget	budget[NETOOPS_MAX_TARGETS];
};

static struct netoops_dump netoops_dumps[NETOOPS_NR_SLOTS];

/* The dump sending (a struct netoops_dump *), or 0. */
static atomic_long_t netoops_owner = ATOMIC_LONG_INIT(0);
/* Bumped by writers that free what a dump in progress (not a panic) uses. */
static unsigned int netoops_stop;
/* Bumped (odd while writing) when a dump takes a new log snapshot. */
static unsigned int netoops_log_seq;
/* A panic dump was sent (or tried) this boot: a fault in it panics again. */
static atomic_t netoops_panic_dumped = ATOMIC_INIT(0);
static u64 netoops_last_oops_ns;

/* Drawn once, in process context, before the first target goes live. */
static u8 netoops_boot_id[16];
static bool netoops_boot_id_set;

static atomic_t netoops_dump_seq = ATOMIC_INIT(0);

static atomic_long_t netoops_dumps_sent = ATOMIC_LONG_INIT(0);
static atomic_long_t netoops_packets_sent = ATOMIC_LONG_INIT(0);
static atomic_long_t netoops_tx_errors = ATOMIC_LONG_INIT(0);
static atomic_long_t netoops_last_dump_us = ATOMIC_LONG_INIT(0);

static struct ctl_table_header *netoops_sysctl_header;

enum netoops_fault_site {
	NETOOPS_FAULT_XMIT,
	NETOOPS_FAULT_DRIVER,
	NETOOPS_FAULT_POLL,
	NETOOPS_FAULT_NAPI,
	NETOOPS_NR_FAULTS,
};

#ifdef CONFIG_NETOOPS_FAULT_INJECTION
/*
 * debugfs fail_netoops_xmit/, fail_netoops_driver/, fail_netoops_poll/
 * and fail_netoops_napi/ (Documentation/fault-injection/): make a dump
 * oops, or with stall_ms set spin that long with interrupts off, where it
 * holds a device's transmit lock (xmit), where the driver has it (driver:
 * just before ndo_start_xmit(), with bottom halves off as the driver
 * runs), where it holds a NAPI instance (poll), or where the driver has
 * that (napi: just before the NAPI poll, bottom halves off): a fault or a
 * stuck driver inside a dump, for testing what it leaves behind.
 */
struct netoops_fault {
	const char		*name;
	struct fault_attr	attr;
	u32			stall_ms;
	struct dentry		*dir;
};

static struct netoops_fault netoops_faults[NETOOPS_NR_FAULTS] = {
	[NETOOPS_FAULT_XMIT]	= { "fail_netoops_xmit", FAULT_ATTR_INITIALIZER },
	[NETOOPS_FAULT_DRIVER]	= { "fail_netoops_driver", FAULT_ATTR_INITIALIZER },
	[NETOOPS_FAULT_POLL]	= { "fail_netoops_poll", FAULT_ATTR_INITIALIZER },
	[NETOOPS_FAULT_NAPI]	= { "fail_netoops_napi", FAULT_ATTR_INITIALIZER },
};

static void netoops_fault(enum netoops_fault_site site)
{
	struct netoops_fault *f = &netoops_faults[site];
	u32 ms;

	if (!should_fail(&f->attr, 1))
		return;
	ms = READ_ONCE(f->stall_ms);
	if (!ms) {
		/* An oops, as LKDTM's EXCEPTION makes one. */
		WRITE_ONCE(*(int *)NULL, 0);
		return;
	}
	while (ms--)
		mdelay(1);
}

static void netoops_fault_init(void)
{
	int i;

	for (i = 0; i < NETOOPS_NR_FAULTS; i++) {
		struct netoops_fault *f = &netoops_faults[i];

		f->dir = fault_create_debugfs_attr(f->name, NULL, &f->attr);
		if (!IS_ERR(f->dir))
			debugfs_create_u32("stall_ms", 0600, f->dir,
					   &f->stall_ms);
	}
}

static void netoops_fault_exit(void)
{
	int i;

	for (i = 0; i < NETOOPS_NR_FAULTS; i++)
		debugfs_remove_recursive(netoops_faults[i].dir);
}
#else
static void netoops_fault(enum netoops_fault_site site)
{
}

static void netoops_fault_init(void)
{
}

static void netoops_fault_exit(void)
{
}
#endif

static struct netoops_config *netoops_config_locked(void)
{
	return rcu_dereference_protected(netoops_config,
					 lockdep_is_held(&netoops_mutex) ||
					 lockdep_rtnl_is_held());
}

static bool netoops_dev_usable(struct net_device *dev)
{
	return netif_running(dev) && netif_device_present(dev) &&
	       netif_carrier_ok(dev);
}

static void netoops_deadline_init(struct netoops_deadline *dl, u64 ns,
				  unsigned int step_us)
{
	dl->end = ktime_get_mono_fast_ns() + ns;
	dl->steps = div_u64(ns, step_us * NSEC_PER_USEC) + 1;
}

static bool netoops_deadline_passed(const struct netoops_deadline *dl)
{
	return !dl->steps || ktime_get_mono_fast_ns() >= dl->end;
}

static enum netoops_level netoops_level(void)
{
	if (in_nmi())
		return NETOOPS_LEVEL_NMI;
	if (in_hardirq())
		return NETOOPS_LEVEL_HARDIRQ;
	if (in_serving_softirq())
		return NETOOPS_LEVEL_SOFTIRQ;
	return NETOOPS_LEVEL_TASK;
}

/*
 * Whether @d still sends: not once another dump took over, and, unless it
 * is a panic, not once a writer frees what it uses or its test write gave
 * up.
 */
static bool netoops_still_owner(struct netoops_dump *d)
{
	if (atomic_long_read(&netoops_owner) != (unsigned long)d)
		return false;
	if (d->reason == NETOOPS_REASON_PANIC)
		return true;
	if (READ_ONCE(netoops_stop) != d->stop)
		return false;
	return !d->test || !READ_ONCE(d->test->cancel);
}

/* Whether to wait one more step; waits it if so. */
static bool netoops_wait_step(struct netoops_dump *d,
			      struct netoops_deadline *dl,
			      unsigned int step_us)
{
	if (d && !netoops_still_owner(d))
		return false;
	if (netoops_deadline_passed(dl))
		return false;
	dl->steps--;
	udelay(step_us);
	return true;
}

/*
 * Holds. A dump records what it holds (netoops_hold()), marks it while the
 * driver has it (netoops_enter_driver(), netoops_leave_driver()) and stops
 * recording it before it releases it (netoops_unhold()). A panic takes
 * over a hold that is not in the driver with a compare-and-exchange to 0
 * and releases it itself: the dump that held it then fails its next
 * step and releases nothing. Between a trylock (or the NAPI poll_owner
 * cmpxchg) and netoops_hold(), and between netoops_unhold() and the
 * unlock, a lock is held with no record, as it is during the probes of
 * netoops_txqs_free() and netoops_poll(). A panic that stops another
 * CPU there finds what it finds for a holder stopped inside the driver:
 * that queue's trylock fails (and the NAPI instances serving it are not
 * polled), or that NAPI instance is not polled. A panic that interrupts
 * this CPU there does not use the device at all (netoops_inside_dev()).
 */
static void netoops_hold(struct netoops_dump *d, atomic_long_t *hold,
			 void *p)
{
	d->hold_cpu = smp_processor_id();
	atomic_long_set_release(hold, (unsigned long)p);
}

static bool netoops_enter_driver(atomic_long_t *hold, void *p)
{
	long v = (unsigned long)p;

	return atomic_long_try_cmpxchg(hold, &v, v | NETOOPS_IN_DRIVER);
}

static void netoops_leave_driver(atomic_long_t *hold, void *p)
{
	atomic_long_set_release(hold, (unsigned long)p);
}

static bool netoops_unhold(atomic_long_t *hold, void *p)
{
	long v = (unsigned long)p;

	return atomic_long_try_cmpxchg(hold, &v, 0);
}

static void netoops_release_napi(struct napi_struct *napi)
{
	clear_bit(NAPI_STATE_NPSVC, &napi->state);
	/* Pairs with the cmpxchg() of netpoll_poll_lock(). */
	smp_store_release(&napi->poll_owner, -1);
}

/*
 * Release a transmit lock that netoops_xmit_queue() of a dump took and
 * that dump will never release: it faulted (@other_cpu false) or a panic
 * took over from it (the lock may have been taken on another CPU, whose
 * preemption count the unlock must not upset).
 */
static void netoops_release_txq(struct netdev_queue *txq, bool other_cpu)
{
	__acquire(&txq->_xmit_lock);
	if (other_cpu)
		preempt_disable();
	__netif_tx_unlock(txq);
}

/*
 * A dump took a hold and then learnt that a panic took it over and
 * released it: give up the preemption count the lock took, since the
 * unlock happened elsewhere (interrupts are off: no preemption here).
 */
static void netoops_lost_txq(struct netdev_queue *txq)
	__releases(&txq->_xmit_lock)
{
	__release(&txq->_xmit_lock);
	preempt_enable();
}

/*
 * Undo what the dump of this context held outside the driver: it faulted
 * inside. What the driver has (the fault was inside ndo_start_xmit() or a
 * NAPI poll, which may have left the device halfway updated) stays taken,
 * as at a take-over: such a fault is in interrupt context
 * (netoops_driver_bh_off()), so a panic follows, and its dump on this CPU
 * does not call into that device (netoops_inside_dev()). (A die notifier,
 * such as a debugger's, that resumes the faulted frame is not supported:
 * the dump it returns to has been ended.)
 */
static void netoops_unwind(struct netoops_dump *d)
{
	unsigned long v;

	v = atomic_long_xchg(&d->hold_txq, 0);
	if (v & NETOOPS_IN_DRIVER) {
		struct netdev_queue *q = (void *)(v & ~NETOOPS_IN_DRIVER);

		pr_warn("fault inside %s's transmit: queue %u stays locked\n",
			q->dev->name, (unsigned int)(q - q->dev->_tx));
	} else if (v) {
		netoops_release_txq((void *)v, false);
	}
	v = atomic_long_xchg(&d->hold_napi, 0);
	if (v & NETOOPS_IN_DRIVER) {
		struct napi_struct *n = (void *)(v & ~NETOOPS_IN_DRIVER);

		pr_warn("fault inside %s's NAPI poll: it stays CPU %d's\n",
			n->dev->name, smp_processor_id());
	} else if (v) {
		netoops_release_napi((void *)v);
	}
}

static bool netoops_holds(struct netoops_dump *d)
{
	return atomic_long_read(&d->hold_txq) ||
	       atomic_long_read(&d->hold_napi);
}

/*
 * At panic, take over what dump @o holds outside the driver, and say what
 * happened. @o is never coming back to it: panic() stopped the other CPUs
 * and does not return to a dump it interrupted on this one. What the
 * driver has (@o was stopped inside ndo_start_xmit() or a NAPI poll) is
 * left alone: that queue's trylock keeps failing (the panic dump goes
 * through the device's other queues), and if @o ran on this CPU, the
 * panic dump does not use that device at all (netoops_inside_dev()).
 */
static void netoops_take_over(struct netoops_dump *o)
{
	char txq[IFNAMSIZ + 40] = "", napi[IFNAMSIZ + 40] = "";
	int cpu = smp_processor_id();
	unsigned long v;

	/*
	 * kmsg_dump() calls dumpers inside an RCU read-side section: the
	 * held devices cannot be freed under us, even if a holder still
	 * running elsewhere lets go of them.
	 */
	v = atomic_long_read(&o->hold_txq);
	if (v & NETOOPS_IN_DRIVER) {
		struct netdev_queue *q = (void *)(v & ~NETOOPS_IN_DRIVER);

		snprintf(txq, sizeof(txq), ", inside %s's transmit",
			 q->dev->name);
	} else if (v && atomic_long_try_cmpxchg(&o->hold_txq, &v, 0)) {
		struct netdev_queue *q = (void *)v;

		/* Its lockdep state is another context's (as panic() says). */
		debug_locks_off();
		snprintf(txq, sizeof(txq), ", released %s's transmit lock",
			 q->dev->name);
		netoops_release_txq(q, READ_ONCE(o->hold_cpu) != cpu);
	}
	v = atomic_long_read(&o->hold_napi);
	if (v & NETOOPS_IN_DRIVER) {
		struct napi_struct *n = (void *)(v & ~NETOOPS_IN_DRIVER);

		snprintf(napi, sizeof(napi), ", inside %s's NAPI poll",
			 n->dev->name);
	} else if (v && atomic_long_try_cmpxchg(&o->hold_napi, &v, 0)) {
		struct napi_struct *n = (void *)v;

		snprintf(napi, sizeof(napi), ", released %s's NAPI instance",
			 n->dev->name);
		netoops_release_napi(n);
	}
	pr_warn("panic takes over from the %s dump of CPU %d%s%s\n",
		netoops_reason_names[o->reason], o->cpu, txq, napi);
}

/* Whether this CPU is inside one of @dev's NAPI polls (netpoll's rule). */
static bool netoops_napi_owner(struct net_device *dev, int cpu)
{
	struct napi_struct *napi;

	list_for_each_entry_rcu(napi, &dev->napi_list, dev_list) {
		if (READ_ONCE(napi->poll_owner) == cpu)
			return true;
	}
	return false;
}

/*
 * The first of @dev's transmit queues from @i whose lock is held right now,
 * or real_num_tx_queues.
 */
static unsigned int netoops_next_held(struct net_device *dev, unsigned int i)
{
	for (; i < dev->real_num_tx_queues; i++) {
		struct netdev_queue *txq = netdev_get_tx_queue(dev, i);

		if (!__netif_tx_trylock(txq))
			return i;
		__netif_tx_unlock(txq);
	}
	return i;
}

/* Whether no transmit lock of @dev is held right now. */
static bool netoops_txqs_free(struct net_device *dev)
{
	unsigned int i;

	for (i = 0; i < dev->num_tx_queues; i++) {
		struct netdev_queue *txq = netdev_get_tx_queue(dev, i);

		if (!__netif_tx_trylock(txq))
			return false;
		__netif_tx_unlock(txq);
	}
	return true;
}

/* The NAPI instance the driver says serves @txq (netif_queue_set_napi()). */
static struct napi_struct *netoops_txq_napi(const struct netdev_queue *txq)
{
	return READ_ONCE(txq->napi);
}

/* Whether the driver tells which NAPI instance serves a transmit queue. */
static bool netoops_tx_assoc(struct net_device *dev)
{
	unsigned int i;

	for (i = 0; i < dev->real_num_tx_queues; i++) {
		if (netoops_txq_napi(netdev_get_tx_queue(dev, i)))
			return true;
	}
	return false;
}

/* Whether the driver tells which NAPI instance serves a receive queue. */
static bool netoops_rx_assoc(struct net_device *dev)
{
	unsigned int i;

	for (i = 0; i < dev->real_num_rx_queues; i++) {
		if (READ_ONCE(__netif_get_rx_queue(dev, i)->napi))
			return true;
	}
	return false;
}

/*
 * Whether this CPU is inside @dev's NAPI poll or transmit: polling one of
 * its NAPI instances, or holding one of its transmit locks, which a frame
 * below this one took (a fault or an NMI came inside the driver's
 * transmit, or the stack's). These are netpoll's two rules
 * (netpoll_owner_active(), netif_local_xmit_active()). The driver may then
 * hold locks of its own, device-wide, that this CPU would wait for
 * forever. Its interrupt handler and other entry points are not seen.
 */
static bool netoops_inside_dev(struct net_device *dev, int cpu)
{
	unsigned int i;

	if (netoops_napi_owner(dev, cpu))
		return true;
	for (i = 0; i < dev->num_tx_queues; i++) {
		struct netdev_queue *txq = netdev_get_tx_queue(dev, i);

		if (READ_ONCE(txq->xmit_lock_owner) == cpu)
			return true;
	}
	return false;
}

/*
 * Whether this CPU may poll @napi: every queue it serves has its lock free
 * (see netoops_poll()), and it serves one. A walk of all the queues.
 */
static bool netoops_napi_pollable(struct net_device *dev,
				  struct napi_struct *napi)
{
	bool serves = false;
	unsigned int i;

	for (i = 0; i < dev->real_num_tx_queues; i++) {
		struct netdev_queue *txq = netdev_get_tx_queue(dev, i);

		if (netoops_txq_napi(txq) != napi)
			continue;
		if (!__netif_tx_trylock(txq))
			return false;
		__netif_tx_unlock(txq);
		serves = true;
	}
	return serves;
}

/*
 * Calls into the driver run with bottom halves off, as the stack's own
 * transmit path and NAPI polls do (drivers count on it, for example for
 * per-CPU socket buffer caches), unless already in interrupt context.
 * _local_bh_enable() then leaves a softirq the driver raised pending
 * instead of running it or waking ksoftirqd (whose run queue lock a CPU
 * that panic() stopped may hold). A fault inside the driver call thus
 * counts as one in interrupt context, as it would on those paths.
 */
static bool netoops_driver_bh_off(void)
{
	if (in_interrupt())
		return false;
	local_bh_disable();
	return true;
}

static void netoops_driver_bh_on(bool bh)
{
	if (bh)
		_local_bh_enable();
}

/*
 * Run the softirqs that the driver calls raised (they run with interrupts
 * off, and netoops_driver_bh_on() leaves them pending) rather than leave
 * them for the next interrupt on this CPU, or for a CPU going idle with
 * softirq work pending. Only in task context with interrupts and bottom
 * halves on, where any local_bh_enable() or interrupt would run them: a
 * test dump's kernel thread, a shutdown dump, an oops dump in such a task
 * (which exits or panics next). Never while a panic is in progress.
 */
static void netoops_run_softirqs(void)
{
	if (panic_in_progress() || in_interrupt() || irqs_disabled())
		return;
	local_bh_disable();
	local_bh_enable();
}

/* Poll @napi for transmit completions (budget 0), as netpoll does. */
static void netoops_poll_one(struct netoops_dump *d, struct napi_struct *napi,
			     int cpu)
{
	if (cmpxchg(&napi->poll_owner, -1, cpu) != -1)
		return;
	if (test_and_set_bit(NAPI_STATE_NPSVC, &napi->state)) {
		/* Being polled by netpoll elsewhere, or disabled. */
		smp_store_release(&napi->poll_owner, -1);
		return;
	}
	netoops_hold(d, &d->hold_napi, napi);
	netoops_fault(NETOOPS_FAULT_POLL);
	if (netoops_enter_driver(&d->hold_napi, napi)) {
		bool bh = netoops_driver_bh_off();

		netoops_fault(NETOOPS_FAULT_NAPI);
		napi->poll(napi, 0);
		netoops_driver_bh_on(bh);
		netoops_leave_driver(&d->hold_napi, napi);
	}
	if (netoops_unhold(&d->hold_napi, napi))
		netoops_release_napi(napi);
}

/* The NAPI instances netoops_poll() lists as kept from polling, at most. */
#define NETOOPS_MAX_HELD	16

static bool netoops_napi_in(struct napi_struct *const *l, unsigned int n,
			    const struct napi_struct *napi)
{
	while (n--) {
		if (l[n] == napi)
			return true;
	}
	return false;
}

/*
 * Let the driver clean up its transmit rings, unless this CPU is inside
 * the device's NAPI poll or transmit. Drivers take a queue's transmit lock
 * in its transmit completion, and a CPU that panic() stopped may hold one
 * forever. With the driver's queue-to-NAPI association
 * (netif_queue_set_napi()), the NAPI instances that serve a transmit queue
 * are polled, but those serving one whose lock is held: a first walk of
 * the queues lists these, a second polls the others, once per run of
 * queues they serve (so an instance serving queues of several traffic
 * classes is polled once for each). With more than NETOOPS_MAX_HELD of
 * them, each instance's queues are checked instead. Instances that serve
 * no transmit queue are left alone: they may refill receive rings, which
 * allocates, even at budget 0. A held lock of a queue that no instance
 * serves stops all polling. Without the association, every instance is
 * polled (as netpoll does), and only while no transmit lock of the device
 * is held; with it for receive queues only, none is.
 */
static void netoops_poll(struct netoops_dump *d, struct net_device *dev)
{
	struct napi_struct *held[NETOOPS_MAX_HELD], *napi, *last = NULL;
	unsigned int i, n = dev->real_num_tx_queues, nheld = 0;
	int cpu = smp_processor_id();
	bool full = false;

	if (netoops_inside_dev(dev, cpu))
		return;
	for (i = netoops_next_held(dev, 0); i < n;
	     i = netoops_next_held(dev, i + 1)) {
		napi = netoops_txq_napi(netdev_get_tx_queue(dev, i));
		if (!napi)
			return;
		if (full || netoops_napi_in(held, nheld, napi))
			continue;
		if (nheld < ARRAY_SIZE(held))
			held[nheld++] = napi;
		else
			full = true;
	}
	if (full) {
		list_for_each_entry_rcu(napi, &dev->napi_list, dev_list) {
			if (netoops_napi_pollable(dev, napi))
				netoops_poll_one(d, napi, cpu);
		}
		return;
	}
	if (!netoops_tx_assoc(dev)) {
		if (netoops_rx_assoc(dev) || !netoops_txqs_free(dev))
			return;
		list_for_each_entry_rcu(napi, &dev->napi_list, dev_list)
			netoops_poll_one(d, napi, cpu);
		return;
	}
	/*
	 * Calling the instance the association names is safe as long as the
	 * driver clears the association before napi_disable() or
	 * netif_napi_del() (as e1000, igb, tg3, ena and netvsc do): that
	 * waits for a grace period, and kmsg_dump() and the dumps' packets
	 * are inside RCU read-side sections. A driver that frees an instance
	 * still named by a queue, without a grace period, would have netoops
	 * call freed memory.
	 */
	for (i = 0; i < n; i++) {
		napi = netoops_txq_napi(netdev_get_tx_queue(dev, i));
		if (!napi || napi == last || netoops_napi_in(held, nheld, napi))
			continue;
		last = napi;
		netoops_poll_one(d, napi, cpu);
	}
}

/*
 * A buffer the driver let go of, claimed for this dump: netoops holds one
 * reference to each of its buffers, the driver one more while it has it,
 * and a clone it made shares its data until freed. *@slot is the claim to
 * give back.
 */
static struct sk_buff *netoops_get_skb(struct netoops_dump *d,
				       struct netoops_tx *tx,
				       struct netoops_deadline *dl,
				       unsigned int *slot)
{
	unsigned int i, n;

	for (;;) {
		for (n = 0; n < NETOOPS_RING; n++) {
			struct sk_buff *skb;

			i = (READ_ONCE(tx->next) + n) % NETOOPS_RING;
			skb = tx->skbs[i];
			if (refcount_read(&skb->users) != 1 ||
			    test_and_set_bit(i, tx->claimed))
				continue;
			/* Pairs with the driver's reference drop. */
			smp_rmb();
			if (refcount_read(&skb->users) == 1 &&
			    !skb_cloned(skb)) {
				WRITE_ONCE(tx->next, (i + 1) % NETOOPS_RING);
				*slot = i;
				return skb;
			}
			clear_bit_unlock(i, tx->claimed);
		}
		netoops_poll(d, tx->np.dev);
		if (!netoops_wait_step(d, dl, NETOOPS_POLL_US))
			return NULL;
	}
}

/*
 * Whether @txq cannot take a frame: the driver stopped it (its ring is
 * full) or it is frozen. A queue stopped by byte queue limits alone (the
 * stack's own pacing, lifted as completions are reaped) can: the driver
 * has room, and some drivers reap completions in ndo_start_xmit() itself.
 */
static bool netoops_txq_blocked(const struct netdev_queue *txq)
{
	return netif_xmit_frozen_or_drv_stopped(txq);
}

/*
 * Hand a frame to the driver through one queue, under its transmit lock
 * (netoops refuses devices that transmit without it).
 */
static netdev_tx_t netoops_xmit_queue(struct netoops_dump *d,
				      struct net_device *dev,
				      struct netdev_queue *txq,
				      struct sk_buff *skb, unsigned int i)
{
	netdev_tx_t status = NETDEV_TX_BUSY;

	if (!__netif_tx_trylock(txq))
		return status;
	netoops_hold(d, &d->hold_txq, txq);
	netoops_fault(NETOOPS_FAULT_XMIT);
	if (!netoops_txq_blocked(txq) &&
	    netoops_enter_driver(&d->hold_txq, txq)) {
		bool bh;

		skb_set_queue_mapping(skb, i);
		bh = netoops_driver_bh_off();
		netoops_fault(NETOOPS_FAULT_DRIVER);
		status = netdev_start_xmit(skb, dev, txq, false);
		netoops_driver_bh_on(bh);
		netoops_leave_driver(&d->hold_txq, txq);
	}
	if (netoops_unhold(&d->hold_txq, txq))
		__netif_tx_unlock(txq);
	else
		netoops_lost_txq(txq);
	return status;
}

/*
 * Hand a frame to the driver; any queue that has room will do, starting
 * with this CPU's own, so that dumps on two CPUs use different queues.
 * Not while this CPU is inside the device's driver (one of its NAPI polls,
 * netpoll's rule, or its transmit): the driver is in the middle of
 * something.
 */
static int netoops_xmit(struct netoops_dump *d, struct net_device *dev,
			struct sk_buff *skb, struct netoops_deadline *dl)
{
	unsigned int i, k, n = dev->real_num_tx_queues;
	int cpu = smp_processor_id();
	netdev_tx_t status;

	for (;;) {
		if (netoops_inside_dev(dev, cpu))
			return -EBUSY;
		for (k = 0; k < n; k++) {
			struct netdev_queue *txq;

			/*
			 * Stopped (another dump took over, or a writer): end
			 * here, as at the next wait step.
			 */
			if (k && !netoops_still_owner(d))
				return -ECANCELED;
			i = (cpu + k) % n;
			txq = netdev_get_tx_queue(dev, i);
			if (netoops_txq_blocked(txq))
				continue;
			status = netoops_xmit_queue(d, dev, txq, skb, i);
			if (dev_xmit_complete(status))
				return 0;
		}
		netoops_poll(d, dev);
		if (!netoops_wait_step(d, dl, NETOOPS_POLL_US))
			return netoops_still_owner(d) ? -ETIMEDOUT : -ECANCELED;
	}
}

/*
 * Build a frame at @skb->data, which has room for it: Ethernet (with an
 * 802.1Q tag for a VLAN), IPv4 or IPv6, UDP, then @hdr_len bytes of @hdr
 * and @len of @payload.
 */
static void netoops_build_frame(struct sk_buff *skb,
				const struct netoops_target *nt,
				const u8 *src_mac, u16 vlan_id, u16 ip_id,
				const u8 *hdr, size_t hdr_len,
				const u8 *payload, size_t len)
{
	size_t udp_len = sizeof(struct udphdr) + hdr_len + len;
	__be16 proto = htons(nt->ipv6 ? ETH_P_IPV6 : ETH_P_IP);
	struct udphdr *udph;
	struct ethhdr *eth;
	__wsum csum;
	u8 *p;

	skb_reset_mac_header(skb);
	if (vlan_id) {
		struct vlan_ethhdr *veth = skb_put(skb, VLAN_ETH_HLEN);

		veth->h_vlan_TCI = htons(vlan_id);
		veth->h_vlan_encapsulated_proto = proto;
		eth = (struct ethhdr *)veth;
		eth->h_proto = htons(ETH_P_8021Q);
	} else {
		eth = skb_put(skb, ETH_HLEN);
		eth->h_proto = proto;
	}
	ether_addr_copy(eth->h_dest, nt->mac);
	ether_addr_copy(eth->h_source, src_mac);
	skb->protocol = eth->h_proto;
	skb_set_network_header(skb, skb->len);
	skb_reset_mac_len(skb);
	/* Aligned by the target's headroom (netoops_tx_create()). */
	DEBUG_NET_WARN_ON_ONCE((unsigned long)skb_network_header(skb) & 3);

	if (nt->ipv6) {
		struct ipv6hdr *ip6h = skb_put(skb, sizeof(*ip6h));

		ip6_flow_hdr(ip6h, 0, 0);
		ip6h->payload_len = htons(udp_len);
		ip6h->nexthdr = IPPROTO_UDP;
		ip6h->hop_limit = 64;
		ip6h->saddr = nt->src.in6;
		ip6h->daddr = nt->dst.in6;
	} else {
		struct iphdr *iph = skb_put(skb, sizeof(*iph));

		iph->version = 4;
		iph->ihl = 5;
		iph->tos = 0;
		iph->tot_len = htons(sizeof(*iph) + udp_len);
		iph->id = htons(ip_id);
		iph->frag_off = htons(IP_DF);
		iph->ttl = 64;
		iph->protocol = IPPROTO_UDP;
		iph->check = 0;
		iph->saddr = nt->src.ip;
		iph->daddr = nt->dst.ip;
		iph->check = ip_fast_csum((u8 *)iph, iph->ihl);
	}

	skb_set_transport_header(skb, skb->len);
	udph = skb_put(skb, sizeof(*udph));
	udph->source = htons(nt->sport);
	udph->dest = htons(nt->dport);
	udph->len = htons(udp_len);
	udph->check = 0;

	p = skb_put(skb, hdr_len + len);
	if (hdr_len)
		memcpy(p, hdr, hdr_len);
	if (len)
		memcpy(p + hdr_len, payload, len);

	csum = csum_partial(udph, udp_len, 0);
	if (nt->ipv6)
		udph->check = csum_ipv6_magic(&nt->src.in6, &nt->dst.in6,
					      udp_len, IPPROTO_UDP, csum);
	else
		udph->check = csum_tcpudp_magic(nt->src.ip, nt->dst.ip,
						udp_len, IPPROTO_UDP, csum);
	if (!udph->check)
		udph->check = CSUM_MANGLED_0;

	skb->ip_summed = CHECKSUM_NONE;
	skb->priority = 0;
	skb->pkt_type = PACKET_HOST;
}

/* Make one of a target's buffers empty, as allocated, for a new frame. */
static void netoops_reset_skb(struct sk_buff *skb, struct netoops_tx *tx,
			      struct net_device *dev)
{
	skb->data = skb->head + tx->headroom;
	skb->len = 0;
	skb->data_len = 0;
	skb_reset_tail_pointer(skb);
	skb->dev = dev;
	__vlan_hwaccel_clear_tag(skb);
	skb_shinfo(skb)->tx_flags = 0;
}

/*
 * Send one piece to one target, with interrupts off for this packet only.
 * Returns 0 when the driver took the packet, -ECANCELED when another dump
 * or a writer stopped this one.
 */
static int netoops_send_piece(struct netoops_dump *d, int t,
			      const struct netoops_target *nt,
			      struct netoops_tx *tx, unsigned int idx,
			      unsigned int copy)
{
	size_t ip_len = nt->ipv6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	struct netoops_hdr *hdr = (struct netoops_hdr *)d->hdr;
	struct netoops_budget *budget = &d->budget[t];
	size_t off = (size_t)idx * d->piece;
	size_t len = min(d->piece, d->total - off);
	struct net_device *dev = tx->np.dev;
	u64 start = ktime_get_mono_fast_ns();
	struct netoops_deadline dl;
	unsigned long flags, steps;
	struct sk_buff *skb;
	int err = -ENETDOWN;
	unsigned int slot;

	netoops_deadline_init(&dl, min_t(u64, NETOOPS_TX_WAIT_NS, budget->ns),
			      NETOOPS_POLL_US);
	dl.steps = min(dl.steps, budget->steps);
	steps = dl.steps;

	local_irq_save(flags);
	if (!netoops_dev_usable(dev))
		goto out;
	/* The MTU may have shrunk since the dump was planned. */
	err = -EMSGSIZE;
	if (ip_len + sizeof(struct udphdr) + d->hdr_len + len >
	    min(READ_ONCE(dev->mtu), tx->mtu))
		goto out;
	/* Not into a driver this CPU is inside (netoops_xmit()). */
	err = -EBUSY;
	if (netoops_inside_dev(dev, smp_processor_id()))
		goto out;
	err = -ETIMEDOUT;
	skb = netoops_get_skb(d, tx, &dl, &slot);
	if (!skb)
		goto out;

	hdr->index = cpu_to_be32(idx);
	hdr->offset = cpu_to_be32(off);
	hdr->payload_len = cpu_to_be16(len);
	hdr->copy = copy;

	netoops_reset_skb(skb, tx, dev);
	netoops_build_frame(skb, nt, tx->src_mac, tx->vlan_id, d->ip_id++,
			    d->hdr, d->hdr_len, d->log + off, len);
	/*
	 * A newer dump may have taken a snapshot over the log meanwhile:
	 * the bytes copied before the count (netoops_snapshot()'s barriers).
	 */
	smp_rmb();
	if (READ_ONCE(netoops_log_seq) != d->log_seq) {
		err = -ECANCELED;
	} else {
		/* The driver's reference; netoops keeps its own. */
		skb_get(skb);
		err = netoops_xmit(d, dev, skb, &dl);
		if (err)
			refcount_dec(&skb->users);
	}
	clear_bit_unlock(slot, tx->claimed);
out:
	local_irq_restore(flags);
	if (err == -ETIMEDOUT && !netoops_still_owner(d))
		err = -ECANCELED;
	/* What this packet used of the target's budget. */
	budget->ns -= min(budget->ns, ktime_get_mono_fast_ns() - start);
	budget->steps -= steps - dl.steps;
	return err;
}

static size_t netoops_put_str(u8 *p, u8 *lenp, const char *s, size_t max)
{
	size_t len = s ? strnlen(s, max) : 0;

	/* panic() strips it, but do not rely on every caller doing so. */
	if (len && s[len - 1] == '\n')
		len--;
	if (len)
		memcpy(p, s, len);
	*lenp = len;
	return len;
}

/* Write what every packet of this dump has before the log is read. */
static void netoops_fill_header(struct netoops_dump *d,
				const struct netoops_config *cfg,
				const char *text)
{
	struct netoops_hdr *hdr = (struct netoops_hdr *)d->hdr;
	struct new_utsname *uts = init_utsname();
	u8 *p = d->hdr + sizeof(*hdr);

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_be32(NETOOPS_MAGIC);
	hdr->version = NETOOPS_VERSION;
	hdr->reason = d->reason;
	memcpy(hdr->boot_id, netoops_boot_id, sizeof(hdr->boot_id));
	hdr->copies = cfg->copies;

	p += netoops_put_str(p, &hdr->host_len, uts->nodename,
			     NETOOPS_STR_MAX);
	p += netoops_put_str(p, &hdr->release_len, uts->release,
			     NETOOPS_STR_MAX);
	p += netoops_put_str(p, &hdr->label_len, cfg->label, NETOOPS_STR_MAX);
	p += netoops_put_str(p, &hdr->text_len, text, NETOOPS_TEXT_MAX);

	d->hdr_len = p - d->hdr;
	hdr->header_len = cpu_to_be16(d->hdr_len);
}

/*
 * Decide which targets take part and the piece size, the same for all of
 * them so that every packet of the dump has the same count. A target whose
 * MTU leaves no room for a piece is left out (one tx_error).
 */
static bool netoops_plan(struct netoops_dump *d,
			 const struct netoops_config *cfg)
{
	size_t piece = NETOOPS_MAX_UDP;
	bool any = false;
	int i;

	for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
		struct netoops_target *nt = cfg->targets[i];
		size_t room, overhead;
		struct netoops_tx *tx;

		d->targets[i] = nt;
		d->planned[i] = false;
		d->live[i] = false;
		d->sent[i] = 0;
		d->budget[i].ns = NETOOPS_TARGET_BUDGET_NS;
		d->budget[i].steps = NETOOPS_TARGET_BUDGET_NS /
				     (NETOOPS_POLL_US * NSEC_PER_USEC);
		if (!nt)
			continue;
		tx = rcu_dereference(nt->tx);
		if (!tx)
			continue;
		overhead = sizeof(struct udphdr) + (nt->ipv6 ?
			   sizeof(struct ipv6hdr) : sizeof(struct iphdr));
		room = min(READ_ONCE(tx->np.dev->mtu), tx->mtu);
		room = room > overhead ? room - overhead : 0;
		room = min_t(size_t, room, NETOOPS_MAX_UDP);
		if (room <= d->hdr_len) {
			atomic_long_inc(&netoops_tx_errors);
			continue;
		}
		piece = min(piece, room - d->hdr_len);
		d->planned[i] = true;
		d->live[i] = true;
		any = true;
	}
	d->piece = piece;
	return any;
}

/*
 * Take a snapshot of the log into the configuration's buffer. A dump that
 * a newer one took over from may still be reading the buffer; the sequence
 * count tells it to drop the packet it was building.
 */
static size_t netoops_snapshot(struct netoops_dump *d,
			       const struct netoops_config *cfg, u16 *flags)
{
	struct kmsg_dump_iter iter;
	size_t len = 0;

	d->log_seq = READ_ONCE(netoops_log_seq) + 2;
	WRITE_ONCE(netoops_log_seq, d->log_seq - 1);
	/* The odd count before the new bytes: pairs with send_piece's. */
	smp_wmb();
	kmsg_dump_rewind(&iter);
	kmsg_dump_get_buffer(&iter, true, cfg->log, cfg->log_size, &len);
	/* Older records that did not fit are left before next_seq. */
	if (iter.next_seq > iter.cur_seq)
		*flags |= NETOOPS_F_TRUNCATED;
	/* The new bytes before the even count. */
	smp_wmb();
	WRITE_ONCE(netoops_log_seq, d->log_seq);
	return len;
}

/*
 * Take a snapshot of the log and send it to every active target. Runs with
 * the caller's interrupt state, turning interrupts off for each packet, in
 * one RCU read-side section per packet. Returns the number of packets the
 * devices took, -ENODEV without an active target, or -EBUSY when stopped
 * (by another dump or a writer) before the first packet.
 */
static long netoops_send_dump(struct netoops_dump *d, const char *text)
{
	struct netoops_hdr *hdr = (struct netoops_hdr *)d->hdr;
	unsigned long planned, total_sent = 0;
	u64 start = ktime_get_mono_fast_ns();
	bool irqs_off = irqs_disabled();
	u16 flags = NETOOPS_F_PREFIXED;
	struct netoops_config *cfg;
	unsigned int copy, idx;
	bool stopped = false;
	int i, err;

	rcu_read_lock();
	cfg = rcu_dereference(netoops_config);
	netoops_fill_header(d, cfg, text);
	if (!cfg->log || !netoops_plan(d, cfg)) {
		rcu_read_unlock();
		return -ENODEV;
	}
	d->log = cfg->log;
	d->copies = cfg->copies;
	d->total = netoops_snapshot(d, cfg, &flags);
	rcu_read_unlock();

	d->count = d->total ? DIV_ROUND_UP(d->total, d->piece) : 1;
	hdr->flags = cpu_to_be16(flags);
	hdr->dump_seq = cpu_to_be32(atomic_inc_return(&netoops_dump_seq));
	hdr->count = cpu_to_be32(d->count);
	hdr->total_len = cpu_to_be32(d->total);
	hdr->time_ns = cpu_to_be64(ktime_get_real_fast_ns());

	/* The whole sequence is repeated, not each packet back to back. */
	for (copy = 0; copy < d->copies; copy++) {
		for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
			struct netoops_target *nt = d->targets[i];
			struct netoops_tx *tx;

			if (!d->live[i])
				continue;
			idx = d->count;
			while (idx--) {
				/* Out of time: give the device up. */
				if (!d->budget[i].ns || !d->budget[i].steps) {
					d->live[i] = false;
					break;
				}
				if (irqs_off) {
					touch_nmi_watchdog();
				} else if (d->test) {
					netoops_run_softirqs();
					cond_resched();
				}
				/*
				 * Writers free nt and the log only after
				 * bumping netoops_stop and a grace period.
				 */
				rcu_read_lock();
				err = -ECANCELED;
				if (netoops_still_owner(d)) {
					tx = rcu_dereference(nt->tx);
					err = tx ? netoops_send_piece(d, i, nt, tx,
								      idx, copy) :
						   -ENODEV;
				}
				rcu_read_unlock();
				if (err == -ECANCELED) {
					stopped = true;
					goto out;
				}
				if (err) {
					/* Give the device up for this dump. */
					d->live[i] = false;
					break;
				}
				d->sent[i]++;
				atomic_long_inc(&netoops_packets_sent);
			}
		}
	}
out:
	/*
	 * What a device was not given counts as tx_errors, unless the dump
	 * was stopped on purpose (by a panic, a real dump or a writer).
	 */
	planned = (unsigned long)d->copies * d->count;
	for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
		if (!d->planned[i])
			continue;
		if (d->sent[i] < planned && !stopped)
			atomic_long_add(planned - d->sent[i],
					&netoops_tx_errors);
		total_sent += d->sent[i];
	}
	if (total_sent)
		atomic_long_inc(&netoops_dumps_sent);
	atomic_long_set(&netoops_last_dump_us,
			div_u64(ktime_get_mono_fast_ns() - start,
				NSEC_PER_USEC));
	if (!total_sent && stopped)
		return -EBUSY;
	return total_sent;
}

/*
 * Become the dump that sends. Returns the slot to use, or NULL.
 *
 * - Nobody sends: go.
 * - A test dump sends: another test gives up; a real dump takes over at
 *   once (the test dump stops at its next step).
 * - Another real dump sends: unless it is this very context's, below this
 *   one, wait a little for it to end, then give up.
 * - A panic takes over from any dump, and from what it holds outside the
 *   driver (netoops_take_over()).
 */
static struct netoops_dump *netoops_claim(u8 reason, struct netoops_test *test)
{
	struct netoops_dump *d, *o;
	struct netoops_deadline dl;
	long old = 0;
	int i;

	switch (reason) {
	case NETOOPS_REASON_TEST:
		d = &netoops_dumps[NETOOPS_SLOT_TEST];
		break;
	case NETOOPS_REASON_PANIC:
		d = &netoops_dumps[NETOOPS_SLOT_PANIC];
		break;
	default:
		d = &netoops_dumps[NETOOPS_SLOT_CRASH];
		break;
	}
	if (atomic_cmpxchg(&d->busy, 0, 1))
		return NULL;
	d->task = current;
	d->level = netoops_level();
	d->cpu = raw_smp_processor_id();
	d->reason = reason;
	d->test = test;
	d->stop = READ_ONCE(netoops_stop);

	if (reason == NETOOPS_REASON_PANIC) {
		old = atomic_long_xchg(&netoops_owner, (unsigned long)d);
		netoops_deadline_init(&dl, NETOOPS_OWNER_WAIT_NS, 1);
		for (i = 0; i < NETOOPS_NR_SLOTS; i++) {
			o = &netoops_dumps[i];
			if (o == d || !atomic_read(&o->busy))
				continue;
			/* One still running elsewhere lets go by itself. */
			if (READ_ONCE(o->task) != current)
				while (netoops_holds(o) &&
				       netoops_wait_step(NULL, &dl, 1))
					;
			netoops_take_over(o);
		}
		return d;
	}

	for (;;) {
		if (atomic_long_try_cmpxchg(&netoops_owner, &old,
					    (unsigned long)d))
			return d;
		o = (struct netoops_dump *)old;
		if (reason == NETOOPS_REASON_TEST)
			goto busy;
		if (o->reason != NETOOPS_REASON_TEST)
			break;
		/* A real dump takes over from a test dump: try again. */
	}
	if (READ_ONCE(o->task) == current)
		goto busy;
	netoops_deadline_init(&dl, NETOOPS_OWNER_WAIT_NS, 1);
	do {
		old = 0;
		if (atomic_long_try_cmpxchg(&netoops_owner, &old,
					    (unsigned long)d))
			return d;
	} while (netoops_wait_step(NULL, &dl, 1));
busy:
	d->test = NULL;
	WRITE_ONCE(d->task, NULL);
	atomic_set_release(&d->busy, 0);
	return NULL;
}

static void netoops_release(struct netoops_dump *d)
{
	atomic_long_cmpxchg(&netoops_owner, (unsigned long)d, 0);
	d->test = NULL;
	WRITE_ONCE(d->task, NULL);
	atomic_set_release(&d->busy, 0);
}

static void netoops_test_put(struct netoops_test *t)
{
	if (refcount_dec_and_test(&t->refs))
		kfree(t);
}

/*
 * An oops inside a dump: the dump of this very context (same task, same
 * interrupt level) faulted, in netoops or in the driver, and its frame
 * never comes back. Undo what it held outside the driver, so that the
 * device, later dumps and tests keep working, and end it (and its test
 * write).
 */
static bool netoops_dump_faulted(void)
{
	enum netoops_level level = netoops_level();
	bool found = false;
	int i;

	for (i = 0; i < NETOOPS_NR_SLOTS; i++) {
		struct netoops_dump *d = &netoops_dumps[i];
		struct netoops_test *t = d->test;

		if (!atomic_read(&d->busy) || READ_ONCE(d->task) != current ||
		    d->level != level)
			continue;
		netoops_unwind(d);
		/*
		 * Not in a panic (an oops inside its dump, in this task):
		 * complete() wakes the writer through locks a stopped CPU may
		 * hold. The writer then stays blocked, as does everything else.
		 */
		if (t && !panic_in_progress()) {
			t->result = -EIO;
			complete(&t->done);
			/* The test thread's reference: it never returns. */
			netoops_test_put(t);
		}
		netoops_release(d);
		found = true;
	}
	return found;
}

/*
 * An oops storm sends one dump per NETOOPS_OOPS_INTERVAL_NS (the next one
 * has the whole log, later oopses included). An oops in interrupt context
 * is followed by a panic, whose dump holds everything, so it sends
 * nothing itself.
 */
static bool netoops_oops_limited(void)
{
	u64 last = READ_ONCE(netoops_last_oops_ns);

	if (in_interrupt())
		return true;
	return last && ktime_get_mono_fast_ns() - last < NETOOPS_OOPS_INTERVAL_NS;
}

static void netoops_oops_sent(void)
{
	u64 now = ktime_get_mono_fast_ns();

	WRITE_ONCE(netoops_last_oops_ns, now ? now : 1);
}

/*
 * Send a dump if it is selected (a test dump always is). Returns the
 * number of packets sent, or an error: -ENODEV (not selected, no active
 * target), -EBUSY (another dump is being sent, or stopped this one first).
 */
static long netoops_dump(u8 reason, const char *text, struct netoops_test *test)
{
	struct netoops_config *cfg;
	struct netoops_dump *d;
	bool selected = true;
	long ret;

	if (reason != NETOOPS_REASON_TEST) {
		rcu_read_lock();
		cfg = rcu_dereference(netoops_config);
		selected = cfg->enabled && (cfg->reasons & BIT(reason));
		rcu_read_unlock();
	}
	if (!selected)
		return -ENODEV;
	if (reason == NETOOPS_REASON_OOPS && netoops_oops_limited())
		return -EBUSY;

	d = netoops_claim(reason, test);
	if (!d)
		return -EBUSY;
	if (reason == NETOOPS_REASON_OOPS)
		netoops_oops_sent();
	ret = netoops_send_dump(d, text);
	netoops_release(d);
	/* An emergency restart follows at once. */
	if (reason != NETOOPS_REASON_EMERG)
		netoops_run_softirqs();
	return ret;
}

static u8 netoops_wire_reason(enum kmsg_dump_reason reason)
{
	switch (reason) {
	case KMSG_DUMP_PANIC:
		return NETOOPS_REASON_PANIC;
	case KMSG_DUMP_OOPS:
		return NETOOPS_REASON_OOPS;
	case KMSG_DUMP_EMERG:
		return NETOOPS_REASON_EMERG;
	case KMSG_DUMP_SHUTDOWN:
		return NETOOPS_REASON_SHUTDOWN;
	default:
		return NETOOPS_REASON_UNKNOWN;
	}
}

static void netoops_kmsg_dump(struct kmsg_dumper *dumper,
			      struct kmsg_dump_detail *detail)
{
	u8 reason = netoops_wire_reason(detail->reason);

	switch (reason) {
	case NETOOPS_REASON_OOPS:
		/* An oops inside a dump ends it, whatever is selected. */
		if (netoops_dump_faulted())
			return;
		/* The panic's dump has it. */
		if (panic_in_progress())
			return;
		break;
	case NETOOPS_REASON_PANIC:
		/* Once: a fault inside the panic's dump panics again. */
		if (atomic_xchg(&netoops_panic_dumped, 1))
			return;
		break;
	case NETOOPS_REASON_EMERG:
		/*
		 * panic() ends in emergency_restart() when panic_timeout is
		 * set: nothing is sent then (a fault here would panic again,
		 * and so on); a panic is dumped only if panic is selected.
		 */
		if (panic_in_progress())
			return;
		break;
	default:
		/* Shutdown dumps come from netoops_reboot_event(). */
		return;
	}
	netoops_dump(reason, detail->description, NULL);
}

static struct kmsg_dumper netoops_dumper = {
	.dump		= netoops_kmsg_dump,
	.max_reason	= KMSG_DUMP_OOPS,
};

/*
 * The shutdown dump, before the devices are shut down (kmsg_dump()'s
 * KMSG_DUMP_SHUTDOWN comes after device_shutdown(), when no NIC sends).
 */
static int netoops_reboot_event(struct notifier_block *nb,
				unsigned long action, void *data)
{
	static const char * const what[] = {
		[SYS_RESTART]	= "restart",
		[SYS_HALT]	= "halt",
		[SYS_POWER_OFF]	= "power off",
	};

	if (action < ARRAY_SIZE(what) && what[action])
		netoops_dump(NETOOPS_REASON_SHUTDOWN, what[action], NULL);
	return NOTIFY_DONE;
}

static struct notifier_block netoops_reboot_notifier = {
	.notifier_call	= netoops_reboot_event,
	/* Before other reboot notifiers quiesce devices. */
	.priority	= INT_MAX,
};

/* Device side of targets */

static void netoops_tx_free(struct netoops_tx *tx)
{
	unsigned int i;

	ASSERT_RTNL();
	/* A buffer the driver still has is freed when it lets go. */
	for (i = 0; i < NETOOPS_RING; i++)
		consume_skb(tx->skbs[i]);
	do_netpoll_cleanup(&tx->np);
	kfree(tx);
}

/*
 * Whether a target may name @dev: an Ethernet device that is not enslaved
 * (but for an L3 master such as a VRF), and not stacked or virtual, but
 * for a VLAN device and a bond, which netoops_resolve() looks through.
 */
static int netoops_check_named(struct net_device *dev, const char **why)
{
	struct net_device *master = netdev_master_upper_dev_get(dev);

	if (dev->type != ARPHRD_ETHER || dev->addr_len != ETH_ALEN) {
		*why = "not an Ethernet device";
		return -EOPNOTSUPP;
	}
	if (master && !netif_is_l3_master(master)) {
		*why = "enslaved to another device: name that one";
		return -EBUSY;
	}
	if (is_vlan_dev(dev) || netif_is_bond_master(dev))
		return 0;
	if (dev->priv_flags & IFF_NO_QUEUE) {
		*why = "stacked or virtual (bridge, team, macvlan, veth)";
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Whether netoops can send through @dev itself: it must take the transmit
 * queue lock that netoops trylocks (not LLTX, not without a queue), and
 * let a socket buffer be sent again once it let go of it.
 */
static int netoops_check_phys(struct net_device *dev, const char **why)
{
	if (dev->type != ARPHRD_ETHER || dev->addr_len != ETH_ALEN)
		*why = "not an Ethernet device";
	else if (dev->priv_flags & IFF_DISABLE_NETPOLL)
		*why = "does not support netpoll";
	else if ((dev->priv_flags & IFF_NO_QUEUE) || dev->lltx)
		*why = "transmits without a queue lock (LLTX, such as tun/tap)";
	else if (!(dev->priv_flags & IFF_TX_SKB_SHARING))
		*why = "cannot send a socket buffer twice (such as Wi-Fi, tun/tap)";
	return *why ? -EOPNOTSUPP : 0;
}

/*
 * The slave bond @bond sends a target's frames through now: asks the bond
 * (ndo_get_xmit_slave()) with a frame of the target. Called under RTNL.
 */
static struct net_device *netoops_bond_slave(const struct netoops_target *nt,
					     struct net_device *bond)
{
	struct net_device *slave;
	struct sk_buff *skb;

	skb = alloc_skb(ALIGN(ETH_HLEN, 4) + sizeof(struct ipv6hdr) +
			sizeof(struct udphdr), GFP_KERNEL);
	if (!skb)
		return NULL;
	/* The IP header aligned, as netoops_build_frame() expects. */
	skb_reserve(skb, ALIGN(ETH_HLEN, 4) - ETH_HLEN);
	skb->dev = bond;
	netoops_build_frame(skb, nt, bond->dev_addr, 0, 0, NULL, 0, NULL, 0);
	rcu_read_lock();
	slave = netdev_get_xmit_slave(bond, skb, false);
	rcu_read_unlock();
	consume_skb(skb);
	return slave;
}

/*
 * The device a target naming @named sends through, and the VLAN id its
 * frames get: @named itself; for an 802.1Q VLAN device, its real device
 * and the tag, built into the frame; for a bond (also under a VLAN), the
 * slave it sends through now, which the netdevice notifier follows. NULL
 * with *@err and *@why if netoops cannot send for it. Called under RTNL.
 */
static struct net_device *netoops_resolve(const struct netoops_target *nt,
					  struct net_device *named,
					  u16 *vlan_id, int *err,
					  const char **why)
{
	struct net_device *dev = named, *master;

	*vlan_id = 0;
	*err = netoops_check_named(named, why);
	if (*err)
		return NULL;
	*err = -EOPNOTSUPP;
	if (is_vlan_dev(dev)) {
		if (vlan_dev_vlan_proto(dev) != htons(ETH_P_8021Q)) {
			*why = "an 802.1ad VLAN device";
			return NULL;
		}
		*vlan_id = vlan_dev_vlan_id(dev);
		dev = vlan_dev_real_dev(dev);
		master = netdev_master_upper_dev_get(dev);
		if (is_vlan_dev(dev)) {
			*why = "a VLAN device on a VLAN device";
			return NULL;
		}
		if (master && !netif_is_l3_master(master)) {
			*why = "a VLAN device on an enslaved device";
			*err = -EBUSY;
			return NULL;
		}
	}
	if (netif_is_bond_master(dev)) {
		dev = netoops_bond_slave(nt, dev);
		if (!dev) {
			*why = "a bond without a slave to send through";
			*err = -ENETDOWN;
			return NULL;
		}
		if (netif_is_bond_master(dev) || is_vlan_dev(dev)) {
			*why = "a bond on stacked devices";
			return NULL;
		}
	}
	*err = netoops_check_phys(dev, why);
	return *err ? NULL : dev;
}

/* Set up sending through @dev for a target naming @named. Under RTNL. */
static struct netoops_tx *netoops_tx_create(const struct netoops_target *nt,
					    struct net_device *named,
					    struct net_device *dev,
					    u16 vlan_id)
{
	unsigned int i, size, ip_off, l2;
	struct netoops_tx *tx;
	int err;

	ASSERT_RTNL();

	tx = kzalloc_obj(*tx);
	if (!tx)
		return ERR_PTR(-ENOMEM);

	/*
	 * The IP header 16-byte aligned (drivers and checksum helpers read it
	 * in words), with the device's headroom before the link header.
	 */
	l2 = vlan_id ? VLAN_ETH_HLEN : ETH_HLEN;
	ip_off = ALIGN(dev->hard_header_len + dev->needed_headroom +
		       l2 - ETH_HLEN, 16);
	tx->headroom = ip_off - l2;
	size = ip_off + (nt->ipv6 ? sizeof(struct ipv6hdr) :
			 sizeof(struct iphdr)) + sizeof(struct udphdr) +
	       NETOOPS_MAX_UDP + dev->needed_tailroom;
	tx->mtu = min(named->mtu, dev->mtu);
	tx->vlan_id = vlan_id;
	ether_addr_copy(tx->src_mac, named->dev_addr);

	for (i = 0; i < NETOOPS_RING; i++) {
		tx->skbs[i] = alloc_skb(size, GFP_KERNEL);
		if (!tx->skbs[i]) {
			err = -ENOMEM;
			goto free_skbs;
		}
	}

	tx->np.name = "netoops";
	strscpy(tx->np.dev_name, dev->name, IFNAMSIZ);
	err = __netpoll_setup(&tx->np, dev);
	if (err)
		goto free_skbs;
	/* netpoll's pool of socket buffers is for its send path only. */
	skb_queue_purge(&tx->np.skb_pool);
	netdev_hold(dev, &tx->np.dev_tracker, GFP_KERNEL);
	return tx;

free_skbs:
	for (i = 0; i < NETOOPS_RING; i++)
		kfree_skb(tx->skbs[i]);
	kfree(tx);
	return ERR_PTR(err);
}

/*
 * Stop sending through @nt's device: unpublish its device side, wait until
 * no dump's packet uses it and free it. Called under RTNL.
 */
static void netoops_target_detach(struct netoops_target *nt,
				  enum netoops_state state)
{
	struct netoops_tx *tx = rtnl_dereference(nt->tx);

	WRITE_ONCE(nt->state, state);
	if (!tx)
		return;
	RCU_INIT_POINTER(nt->tx, NULL);
	synchronize_net();
	netoops_tx_free(tx);
}

/*
 * Bring @nt in line with the device of its name: active when the device is
 * up and resolves to a device netoops can send through, else without a
 * device side; *@namedp is the device (or NULL) and *@why says why it
 * cannot send. Never opens a device. Called under RTNL; may sleep.
 */
static int __netoops_target_sync(struct netoops_target *nt,
				 struct net_device **namedp, const char **why)
{
	struct netoops_tx *tx = rtnl_dereference(nt->tx), *old;
	struct net_device *named, *dev;
	u16 vlan_id;
	int err;

	ASSERT_RTNL();

	*why = NULL;
	named = __dev_get_by_name(&init_net, nt->dev_name);
	*namedp = named;
	if (!named) {
		netoops_target_detach(nt, NETOOPS_PARKED);
		return -ENODEV;
	}
	if (!netif_running(named)) {
		*why = "down: bring it up first";
		netoops_target_detach(nt, NETOOPS_DOWN);
		return -ENETDOWN;
	}
	dev = netoops_resolve(nt, named, &vlan_id, &err, why);
	if (dev && !netif_running(dev)) {
		*why = "the device it sends through is down";
		err = -ENETDOWN;
		dev = NULL;
	}
	if (!dev) {
		netoops_target_detach(nt, NETOOPS_DOWN);
		return err;
	}
	if (tx && tx->np.dev == dev && tx->vlan_id == vlan_id &&
	    tx->mtu == min(named->mtu, dev->mtu) &&
	    ether_addr_equal(tx->src_mac, named->dev_addr))
		return 0;

	old = tx;
	tx = netoops_tx_create(nt, named, dev, vlan_id);
	if (IS_ERR(tx)) {
		*why = "cannot allocate its socket buffers or set up netpoll";
		netoops_target_detach(nt, NETOOPS_DOWN);
		return PTR_ERR(tx);
	}
	/* NAPI polls that started before npinfo was visible are over. */
	synchronize_net();
	rcu_assign_pointer(nt->tx, tx);
	WRITE_ONCE(nt->state, NETOOPS_ACTIVE);
	if (old) {
		synchronize_net();
		netoops_tx_free(old);
	}
	return 0;
}

/* What netoops_target_sync() says in the kernel log when it fails. */
#define NETOOPS_WARN		1	/* why netoops cannot send */
#define NETOOPS_WARN_DOWN	2	/* also: the device is missing or down */

static int netoops_target_sync(struct netoops_target *nt, unsigned int warn)
{
	struct net_device *named;
	const char *why;
	int err;

	err = __netoops_target_sync(nt, &named, &why);
	if (!err || !warn || (!(warn & NETOOPS_WARN_DOWN) &&
			      (err == -ENODEV || err == -ENETDOWN)))
		return err;
	if (named)
		netdev_warn(named, "netoops: cannot send through it: %s\n", why);
	else
		pr_warn("%s: no such device\n", nt->dev_name);
	return err;
}

/* Tear down a target nothing can see any more. Called under RTNL. */
static void netoops_target_free(struct netoops_target *nt)
{
	struct netoops_tx *tx = rtnl_dereference(nt->tx);

	if (tx)
		netoops_tx_free(tx);
	kfree(nt);
}

static int netoops_netdev_event(struct notifier_block *nb,
				unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct netoops_config *cfg;
	int i;

	switch (event) {
	case NETDEV_REGISTER:
	case NETDEV_UP:
	case NETDEV_GOING_DOWN:
	case NETDEV_UNREGISTER:
	case NETDEV_CHANGENAME:
	case NETDEV_CHANGEUPPER:
	case NETDEV_CHANGELOWERSTATE:
	case NETDEV_BONDING_FAILOVER:
	case NETDEV_CHANGEADDR:
	case NETDEV_CHANGEMTU:
		break;
	default:
		return NOTIFY_DONE;
	}

	cfg = netoops_config_locked();
	for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
		struct netoops_target *nt = cfg->targets[i];
		bool mine, named, stacked;
		struct netoops_tx *tx;

		if (!nt)
			continue;
		tx = rtnl_dereference(nt->tx);
		mine = tx && tx->np.dev == dev;
		named = !strcmp(dev->name, nt->dev_name);
		/* Sends through another device than it names. */
		stacked = !tx || strcmp(tx->np.dev->name, nt->dev_name);

		switch (event) {
		case NETDEV_GOING_DOWN:
			/* It comes back when the admin brings it up. */
			if (mine || named)
				netoops_target_detach(nt, NETOOPS_DOWN);
			break;
		case NETDEV_UNREGISTER:
			if (named)
				netoops_target_detach(nt, NETOOPS_PARKED);
			else if (mine)
				netoops_target_detach(nt, NETOOPS_DOWN);
			break;
		default:
			/*
			 * Registered, up or renamed, joined or left a master,
			 * a bond's slave changed, a new address or MTU. A
			 * device that is missing or down is not worth a
			 * warning: the target comes back when it is up.
			 */
			if (mine || named || stacked)
				netoops_target_sync(nt, NETOOPS_WARN);
			break;
		}
	}
	return NOTIFY_DONE;
}

static struct notifier_block netoops_netdev_notifier = {
	.notifier_call = netoops_netdev_event,
};

/* Configuration */

/* Draw the boot id once. Called with netoops_mutex held. */
static int netoops_draw_boot_id(void)
{
	int err;

	lockdep_assert_held(&netoops_mutex);

	if (netoops_boot_id_set)
		return 0;
	err = get_random_bytes_wait(netoops_boot_id, sizeof(netoops_boot_id));
	if (err)
		return err;
	netoops_boot_id_set = true;
	return 0;
}

/* A copy of the configuration in force to change. Under netoops_mutex. */
static struct netoops_config *netoops_config_dup(void)
{
	struct netoops_config *cur = netoops_config_locked();

	return kmemdup(cur, sizeof(*cur), GFP_KERNEL);
}

/*
 * Put @cfg in force and free what only the old configuration used: its
 * targets not in @cfg (set @free_targets), its log buffer if @cfg has
 * another one. Called with netoops_mutex and RTNL held; drops RTNL.
 */
static void netoops_config_publish(struct netoops_config *cfg)
{
	struct netoops_config *old = netoops_config_locked();
	struct netoops_target *gone[NETOOPS_MAX_TARGETS];
	int i, n = 0;

	ASSERT_RTNL();
	rcu_assign_pointer(netoops_config, cfg);
	for (i = 0; i < NETOOPS_MAX_TARGETS; i++)
		if (old->targets[i] && old->targets[i] != cfg->targets[i])
			gone[n++] = old->targets[i];
	if (n || old->log != cfg->log)
		WRITE_ONCE(netoops_stop, netoops_stop + 1);
	rtnl_unlock();

	synchronize_rcu();
	if (old->log != cfg->log)
		vfree(old->log);
	if (n) {
		rtnl_lock();
		for (i = 0; i < n; i++)
			netoops_target_free(gone[i]);
		rtnl_unlock();
	}
	kfree(old);
}

/* Make sure @cfg has a log buffer of its size. Called with netoops_mutex. */
static int netoops_config_log(struct netoops_config *cfg)
{
	char *log;

	if (cfg->log && cfg->log_size == cfg->log_buf_len)
		return 0;
	log = vmalloc(cfg->log_buf_len);
	if (!log)
		return -ENOMEM;
	cfg->log = log;
	cfg->log_size = cfg->log_buf_len;
	return 0;
}

/* sysctl helpers */

static int netoops_read_str(const char *s, void *buffer, size_t *lenp,
			    loff_t *ppos)
{
	size_t len = strlen(s);

	if (*ppos >= len) {
		*lenp = 0;
		return 0;
	}
	len = min_t(size_t, len - *ppos, *lenp);
	memcpy(buffer, s + *ppos, len);
	*lenp = len;
	*ppos += len;
	return 0;
}

/*
 * Copy a write into @line, NUL-terminated, after the checks every file
 * shares: the capability, the initial network namespace, one write from
 * offset 0, no NUL and at most one newline, at the very end (which is
 * dropped).
 */
static int netoops_get_line(char *line, const void *buffer, size_t len,
			    loff_t *ppos)
{
	const char *nl;

	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	/* Devices are looked up in the initial namespace. */
	if (!net_eq(current->nsproxy->net_ns, &init_net))
		return -EPERM;
	if (*ppos || len > NETOOPS_LINE_MAX || memchr(buffer, '\0', len))
		return -EINVAL;

	memcpy(line, buffer, len);
	line[len] = '\0';
	nl = strchr(line, '\n');
	if (nl) {
		if (nl != line + len - 1)
			return -EINVAL;
		line[len - 1] = '\0';
	}
	return 0;
}

static void netoops_write_done(size_t *lenp, loff_t *ppos)
{
	*ppos += *lenp;
}

/* A decimal number: digits only, no sign, no spaces. */
static int netoops_parse_uint(const char *s, unsigned int min,
			      unsigned int max, unsigned int *val)
{
	const char *p;

	if (!*s)
		return -EINVAL;
	for (p = s; *p; p++)
		if (!isdigit(*p))
			return -EINVAL;
	if (kstrtouint(s, 10, val) || *val < min || *val > max)
		return -EINVAL;
	return 0;
}

enum netoops_uint_field {
	NETOOPS_FIELD_ENABLED,
	NETOOPS_FIELD_COPIES,
	NETOOPS_FIELD_LOG_BUF_LEN,
};

static unsigned int *netoops_uint_field(struct netoops_config *cfg,
					enum netoops_uint_field field)
{
	switch (field) {
	case NETOOPS_FIELD_ENABLED:
		return &cfg->enabled;
	case NETOOPS_FIELD_COPIES:
		return &cfg->copies;
	default:
		return &cfg->log_buf_len;
	}
}

static int netoops_uint_handler(void *buffer, size_t *lenp, loff_t *ppos,
				int write, enum netoops_uint_field field,
				unsigned int min, unsigned int max)
{
	char line[NETOOPS_LINE_MAX + 1];
	struct netoops_config *cfg;
	unsigned int new;
	int err;

	if (!write) {
		rcu_read_lock();
		cfg = rcu_dereference(netoops_config);
		snprintf(line, sizeof(line), "%u\n",
			 *netoops_uint_field(cfg, field));
		rcu_read_unlock();
		return netoops_read_str(line, buffer, lenp, ppos);
	}

	err = netoops_get_line(line, buffer, *lenp, ppos);
	if (!err)
		err = netoops_parse_uint(line, min, max, &new);
	if (err)
		return err;

	mutex_lock(&netoops_mutex);
	cfg = netoops_config_dup();
	if (!cfg) {
		err = -ENOMEM;
		goto unlock;
	}
	*netoops_uint_field(cfg, field) = new;
	/* A new size takes effect at once if a buffer is in use. */
	if (field == NETOOPS_FIELD_LOG_BUF_LEN && cfg->log) {
		err = netoops_config_log(cfg);
		if (err) {
			kfree(cfg);
			goto unlock;
		}
	}
	rtnl_lock();
	netoops_config_publish(cfg);
unlock:
	mutex_unlock(&netoops_mutex);
	if (err)
		return err;

	netoops_write_done(lenp, ppos);
	return 0;
}

static int netoops_enabled_handler(const struct ctl_table *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	return netoops_uint_handler(buffer, lenp, ppos, write,
				    NETOOPS_FIELD_ENABLED, 0, 1);
}

static int netoops_copies_handler(const struct ctl_table *table, int write,
				  void *buffer, size_t *lenp, loff_t *ppos)
{
	return netoops_uint_handler(buffer, lenp, ppos, write,
				    NETOOPS_FIELD_COPIES, 1,
				    NETOOPS_MAX_COPIES);
}

static int netoops_log_buf_len_handler(const struct ctl_table *table,
				       int write, void *buffer, size_t *lenp,
				       loff_t *ppos)
{
	return netoops_uint_handler(buffer, lenp, ppos, write,
				    NETOOPS_FIELD_LOG_BUF_LEN,
				    NETOOPS_MIN_LOG_LEN, NETOOPS_MAX_LOG_LEN);
}

static enum kmsg_dump_reason netoops_max_reason(unsigned int mask)
{
	/*
	 * kmsg_dump() calls a dumper for every reason up to its max_reason
	 * (in the kernel's order panic, oops, emerg, shutdown). Oopses are
	 * always asked for, so that an oops inside a dump ends it; shutdown
	 * dumps come from the reboot notifier.
	 */
	if (mask & BIT(NETOOPS_REASON_EMERG))
		return KMSG_DUMP_EMERG;
	return KMSG_DUMP_OOPS;
}

static int netoops_reasons_handler(const struct ctl_table *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	char line[NETOOPS_LINE_MAX + 1];
	struct netoops_config *cfg;
	unsigned int mask = 0;
	char *s = line, *word;
	int i, err;

	if (!write) {
		unsigned int cur;
		size_t n = 0;

		rcu_read_lock();
		cur = rcu_dereference(netoops_config)->reasons;
		rcu_read_unlock();
		for (i = 0; i < ARRAY_SIZE(netoops_reason_order); i++) {
			u8 r = netoops_reason_order[i];

			if (cur & BIT(r))
				n += scnprintf(line + n, sizeof(line) - n,
					       "%s%s", n ? " " : "",
					       netoops_reason_names[r]);
		}
		scnprintf(line + n, sizeof(line) - n, "\n");
		return netoops_read_str(line, buffer, lenp, ppos);
	}

	err = netoops_get_line(line, buffer, *lenp, ppos);
	if (err)
		return err;

	while ((word = strsep(&s, " \t"))) {
		unsigned int bit = 0;

		if (!*word)
			continue;
		for (i = 0; i < ARRAY_SIZE(netoops_reason_order); i++) {
			u8 r = netoops_reason_order[i];

			if (!strcmp(word, netoops_reason_names[r]))
				bit = BIT(r);
		}
		if (!bit)
			return -EINVAL;
		mask |= bit;
	}
	if (!mask)
		return -EINVAL;

	mutex_lock(&netoops_mutex);
	cfg = netoops_config_dup();
	if (!cfg) {
		mutex_unlock(&netoops_mutex);
		return -ENOMEM;
	}
	cfg->reasons = mask;
	WRITE_ONCE(netoops_dumper.max_reason, netoops_max_reason(mask));
	rtnl_lock();
	netoops_config_publish(cfg);
	mutex_unlock(&netoops_mutex);

	netoops_write_done(lenp, ppos);
	return 0;
}

static int netoops_label_handler(const struct ctl_table *table, int write,
				 void *buffer, size_t *lenp, loff_t *ppos)
{
	char line[NETOOPS_LINE_MAX + 1];
	struct netoops_config *cfg;
	size_t len, i;
	int err;

	if (!write) {
		rcu_read_lock();
		cfg = rcu_dereference(netoops_config);
		snprintf(line, sizeof(line), "%s\n", cfg->label);
		rcu_read_unlock();
		return netoops_read_str(line, buffer, lenp, ppos);
	}

	err = netoops_get_line(line, buffer, *lenp, ppos);
	if (err)
		return err;

	len = strlen(line);
	if (len > NETOOPS_STR_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			return -EINVAL;

	mutex_lock(&netoops_mutex);
	cfg = netoops_config_dup();
	if (!cfg) {
		mutex_unlock(&netoops_mutex);
		return -ENOMEM;
	}
	strscpy(cfg->label, line, sizeof(cfg->label));
	rtnl_lock();
	netoops_config_publish(cfg);
	mutex_unlock(&netoops_mutex);

	netoops_write_done(lenp, ppos);
	return 0;
}

/* Target lines */

enum {
	NETOOPS_KEY_DEV,
	NETOOPS_KEY_SRC,
	NETOOPS_KEY_DST,
	NETOOPS_KEY_MAC,
	NETOOPS_KEY_SPORT,
	NETOOPS_KEY_DPORT,
	NETOOPS_NR_KEYS,
};

static const char * const netoops_keys[NETOOPS_NR_KEYS] = {
	[NETOOPS_KEY_DEV]	= "dev",
	[NETOOPS_KEY_SRC]	= "src",
	[NETOOPS_KEY_DST]	= "dst",
	[NETOOPS_KEY_MAC]	= "mac",
	[NETOOPS_KEY_SPORT]	= "sport",
	[NETOOPS_KEY_DPORT]	= "dport",
};

#define NETOOPS_KEYS_REQUIRED	(BIT(NETOOPS_KEY_DEV) | BIT(NETOOPS_KEY_SRC) | \
				 BIT(NETOOPS_KEY_DST) | BIT(NETOOPS_KEY_MAC))

static int netoops_parse_ip(const char *s, union inet_addr *addr, bool *ipv6)
{
	const char *end;

	if (strchr(s, ':')) {
		if (!IS_ENABLED(CONFIG_IPV6) ||
		    !in6_pton(s, -1, addr->in6.s6_addr, -1, &end) || *end ||
		    ipv6_addr_any(&addr->in6))
			return -EINVAL;
		*ipv6 = true;
	} else {
		if (!in4_pton(s, -1, (u8 *)&addr->ip, -1, &end) || *end ||
		    !addr->ip)
			return -EINVAL;
		*ipv6 = false;
	}
	return 0;
}

static int netoops_parse_port(const char *s, u16 *port)
{
	unsigned int val;

	if (netoops_parse_uint(s, 1, U16_MAX, &val))
		return -EINVAL;
	*port = val;
	return 0;
}

/* Parse a target line into @nt. Returns -EINVAL on any syntax error. */
static int netoops_parse_target(char *s, struct netoops_target *nt)
{
	bool src6 = false, dst6 = false;
	unsigned int seen = 0;
	char *word;

	nt->sport = NETOOPS_DEFAULT_SPORT;
	nt->dport = NETOOPS_DEFAULT_DPORT;

	while ((word = strsep(&s, " \t"))) {
		char *val = strchr(word, '=');
		int key, err = 0;

		if (!*word)
			continue;
		if (!val)
			return -EINVAL;
		*val++ = '\0';

		key = match_string(netoops_keys, NETOOPS_NR_KEYS, word);
		if (key < 0 || (seen & BIT(key)))
			return -EINVAL;
		seen |= BIT(key);

		switch (key) {
		case NETOOPS_KEY_DEV:
			if (!dev_valid_name(val))
				return -EINVAL;
			strscpy(nt->dev_name, val, IFNAMSIZ);
			break;
		case NETOOPS_KEY_SRC:
			err = netoops_parse_ip(val, &nt->src, &src6);
			break;
		case NETOOPS_KEY_DST:
			err = netoops_parse_ip(val, &nt->dst, &dst6);
			break;
		case NETOOPS_KEY_MAC:
			if (strlen(val) != 3 * ETH_ALEN - 1 ||
			    !mac_pton(val, nt->mac) ||
			    is_zero_ether_addr(nt->mac) ||
			    (is_multicast_ether_addr(nt->mac) &&
			     !is_broadcast_ether_addr(nt->mac)))
				return -EINVAL;
			break;
		case NETOOPS_KEY_SPORT:
			err = netoops_parse_port(val, &nt->sport);
			break;
		case NETOOPS_KEY_DPORT:
			err = netoops_parse_port(val, &nt->dport);
			break;
		}
		if (err)
			return err;
	}

	if ((seen & NETOOPS_KEYS_REQUIRED) != NETOOPS_KEYS_REQUIRED ||
	    src6 != dst6)
		return -EINVAL;
	nt->ipv6 = src6;
	return 0;
}

static void netoops_format_target(const struct netoops_target *nt,
				  char *buf, size_t size)
{
	if (nt->ipv6)
		snprintf(buf, size,
			 "dev=%s src=%pI6c dst=%pI6c mac=%pM sport=%u dport=%u\n",
			 nt->dev_name, &nt->src.in6, &nt->dst.in6, nt->mac,
			 nt->sport, nt->dport);
	else
		snprintf(buf, size,
			 "dev=%s src=%pI4 dst=%pI4 mac=%pM sport=%u dport=%u\n",
			 nt->dev_name, &nt->src.ip, &nt->dst.ip, nt->mac,
			 nt->sport, nt->dport);
}

/*
 * Replace target @idx by @nt (NULL to clear it). @nt's device must exist
 * and be up: netoops does not open devices. Takes netoops_mutex; frees @nt
 * on error.
 */
static int netoops_set_target(int idx, struct netoops_target *nt)
{
	struct netoops_config *cfg;
	int err;

	mutex_lock(&netoops_mutex);
	if (nt) {
		err = netoops_draw_boot_id();
		if (err)
			goto free_nt;
	}
	cfg = netoops_config_dup();
	if (!cfg) {
		err = -ENOMEM;
		goto free_nt;
	}
	if (nt) {
		err = netoops_config_log(cfg);
		if (err)
			goto free_cfg;
	}

	rtnl_lock();
	if (nt) {
		err = netoops_target_sync(nt, NETOOPS_WARN | NETOOPS_WARN_DOWN);
		if (err) {
			rtnl_unlock();
			if (cfg->log != netoops_config_locked()->log)
				vfree(cfg->log);
			goto free_cfg;
		}
	}
	cfg->targets[idx] = nt;
	netoops_config_publish(cfg);
	mutex_unlock(&netoops_mutex);
	return 0;

free_cfg:
	kfree(cfg);
free_nt:
	mutex_unlock(&netoops_mutex);
	kfree(nt);
	return err;
}

static int netoops_target_handler(const struct ctl_table *table, int write,
				  void *buffer, size_t *lenp, loff_t *ppos)
{
	struct netoops_target *nt = NULL;
	char line[NETOOPS_LINE_MAX + 1];
	int idx = (long)table->extra1;
	int err;

	if (!write) {
		struct netoops_config *cfg;

		rcu_read_lock();
		cfg = rcu_dereference(netoops_config);
		if (cfg->targets[idx])
			netoops_format_target(cfg->targets[idx], line,
					      sizeof(line));
		else
			line[0] = '\0';
		rcu_read_unlock();
		return netoops_read_str(line, buffer, lenp, ppos);
	}

	err = netoops_get_line(line, buffer, *lenp, ppos);
	if (err)
		return err;

	/* A line of nothing but blanks clears the target. */
	if (line[strspn(line, " \t")]) {
		nt = kzalloc_obj(*nt);
		if (!nt)
			return -ENOMEM;
		nt->state = NETOOPS_PARKED;
		err = netoops_parse_target(line, nt);
		if (err) {
			kfree(nt);
			return err;
		}
	}
	err = netoops_set_target(idx, nt);
	if (err)
		return err;

	netoops_write_done(lenp, ppos);
	return 0;
}

static int netoops_state_handler(const struct ctl_table *table, int write,
				 void *buffer, size_t *lenp, loff_t *ppos)
{
	char text[NETOOPS_MAX_TARGETS * (IFNAMSIZ + 24)];
	struct netoops_config *cfg;
	size_t n = 0;
	int i;

	rcu_read_lock();
	cfg = rcu_dereference(netoops_config);
	for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
		struct netoops_target *nt = cfg->targets[i];

		if (!nt)
			continue;
		n += scnprintf(text + n, sizeof(text) - n, "target%d %s %s\n",
			       i, nt->dev_name,
			       netoops_state_names[READ_ONCE(nt->state)]);
	}
	rcu_read_unlock();
	text[n] = '\0';

	return netoops_read_str(text, buffer, lenp, ppos);
}

/*
 * The test dump runs in a kernel thread of its own, on the writer's CPU: a
 * fault inside it kills that thread, not the writer inside the sysctl
 * handler (whose table a later unregister would wait for forever).
 */
static int netoops_test_thread(void *arg)
{
	struct netoops_test *t = arg;

	t->result = netoops_dump(NETOOPS_REASON_TEST, "netoops test dump", t);
	complete(&t->done);
	netoops_test_put(t);
	module_put_and_kthread_exit(0);
}

static int netoops_test_handler(const struct ctl_table *table, int write,
				void *buffer, size_t *lenp, loff_t *ppos)
{
	char line[NETOOPS_LINE_MAX + 1];
	struct task_struct *task;
	struct netoops_test *t;
	long left;
	int err;

	err = netoops_get_line(line, buffer, *lenp, ppos);
	if (err)
		return err;
	if (strcmp(line, "1"))
		return -EINVAL;

	t = kzalloc_obj(*t);
	if (!t)
		return -ENOMEM;
	init_completion(&t->done);
	refcount_set(&t->refs, 2);
	__module_get(THIS_MODULE);
	task = kthread_create(netoops_test_thread, t, "netoops-test");
	if (IS_ERR(task)) {
		module_put(THIS_MODULE);
		kfree(t);
		return PTR_ERR(task);
	}
	kthread_bind(task, raw_smp_processor_id());
	wake_up_process(task);

	left = msecs_to_jiffies(NETOOPS_TEST_WAIT_MS);
	left = wait_for_completion_killable_timeout(&t->done, left);
	if (left <= 0) {
		/* Killed, or the dump never ended: it stops at its next step. */
		WRITE_ONCE(t->cancel, true);
		err = left ? -EINTR : -ETIMEDOUT;
	} else if (t->result < 0) {
		err = t->result;
	} else if (!t->result) {
		/* No device took a single packet: say so. */
		err = -EIO;
	}
	netoops_test_put(t);
	if (err)
		return err;

	netoops_write_done(lenp, ppos);
	return 0;
}

static int netoops_boot_id_handler(const struct ctl_table *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	char text[2 * sizeof(netoops_boot_id) + 2];
	int err;

	mutex_lock(&netoops_mutex);
	err = netoops_draw_boot_id();
	if (!err)
		snprintf(text, sizeof(text), "%*phN\n",
			 (int)sizeof(netoops_boot_id), netoops_boot_id);
	mutex_unlock(&netoops_mutex);
	if (err)
		return err;

	return netoops_read_str(text, buffer, lenp, ppos);
}

static int netoops_counter_handler(const struct ctl_table *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	char text[24];

	snprintf(text, sizeof(text), "%lu\n",
		 atomic_long_read((atomic_long_t *)table->data));
	return netoops_read_str(text, buffer, lenp, ppos);
}

#define NETOOPS_TARGET_ENTRY(n) {				\
	.procname	= "target" #n,				\
	.mode		= 0644,					\
	.proc_handler	= netoops_target_handler,		\
	.extra1		= (void *)n,				\
}

#define NETOOPS_COUNTER_ENTRY(name) {				\
	.procname	= #name,				\
	.data		= &netoops_##name,			\
	.mode		= 0444,					\
	.proc_handler	= netoops_counter_handler,		\
}

static const struct ctl_table netoops_sysctl_table[] = {
	{
		.procname	= "enabled",
		.mode		= 0644,
		.proc_handler	= netoops_enabled_handler,
	},
	{
		.procname	= "reasons",
		.mode		= 0644,
		.proc_handler	= netoops_reasons_handler,
	},
	{
		.procname	= "copies",
		.mode		= 0644,
		.proc_handler	= netoops_copies_handler,
	},
	{
		.procname	= "label",
		.mode		= 0644,
		.proc_handler	= netoops_label_handler,
	},
	{
		.procname	= "log_buf_len",
		.mode		= 0644,
		.proc_handler	= netoops_log_buf_len_handler,
	},
	NETOOPS_TARGET_ENTRY(0),
	NETOOPS_TARGET_ENTRY(1),
	NETOOPS_TARGET_ENTRY(2),
	NETOOPS_TARGET_ENTRY(3),
	{
		.procname	= "state",
		.mode		= 0444,
		.proc_handler	= netoops_state_handler,
	},
	{
		.procname	= "test",
		.mode		= 0200,
		.proc_handler	= netoops_test_handler,
	},
	{
		.procname	= "boot_id",
		.mode		= 0444,
		.proc_handler	= netoops_boot_id_handler,
	},
	NETOOPS_COUNTER_ENTRY(dumps_sent),
	NETOOPS_COUNTER_ENTRY(packets_sent),
	NETOOPS_COUNTER_ENTRY(tx_errors),
	NETOOPS_COUNTER_ENTRY(last_dump_us),
};

static int __init netoops_init(void)
{
	struct netoops_config *cfg;
	int err;

	cfg = kzalloc_obj(*cfg);
	if (!cfg)
		return -ENOMEM;
	cfg->enabled = 1;
	cfg->reasons = NETOOPS_DEFAULT_REASONS;
	cfg->copies = NETOOPS_DEFAULT_COPIES;
	cfg->log_buf_len = NETOOPS_DEFAULT_LOG_LEN;
	RCU_INIT_POINTER(netoops_config, cfg);

	err = register_netdevice_notifier(&netoops_netdev_notifier);
	if (err)
		goto free_cfg;

	err = kmsg_dump_register(&netoops_dumper);
	if (err)
		goto unregister_notifier;

	err = register_reboot_notifier(&netoops_reboot_notifier);
	if (err)
		goto unregister_dumper;

	netoops_sysctl_header = register_sysctl("kernel/netoops",
						netoops_sysctl_table);
	if (!netoops_sysctl_header) {
		err = -ENOMEM;
		goto unregister_reboot;
	}
	netoops_fault_init();

	return 0;

unregister_reboot:
	unregister_reboot_notifier(&netoops_reboot_notifier);
unregister_dumper:
	kmsg_dump_unregister(&netoops_dumper);
unregister_notifier:
	unregister_netdevice_notifier(&netoops_netdev_notifier);
free_cfg:
	kfree(cfg);
	return err;
}

static void __exit netoops_exit(void)
{
	struct netoops_config *cfg;
	int i;

	netoops_fault_exit();
	unregister_sysctl_table(netoops_sysctl_header);
	unregister_reboot_notifier(&netoops_reboot_notifier);
	kmsg_dump_unregister(&netoops_dumper);
	unregister_netdevice_notifier(&netoops_netdev_notifier);
	/* kmsg_dump_unregister() waited for dumps in progress. */
	cfg = rcu_dereference_protected(netoops_config, true);
	rtnl_lock();
	for (i = 0; i < NETOOPS_MAX_TARGETS; i++)
		if (cfg->targets[i])
			netoops_target_free(cfg->targets[i]);
	rtnl_unlock();
	vfree(cfg->log);
	kfree(cfg);
}

module_init(netoops_init);
module_exit(netoops_exit);

MODULE_AUTHOR("netoops developers <dev@netoops.invalid>");
MODULE_DESCRIPTION("Send the kernel log over UDP on oops and panic");
MODULE_LICENSE("GPL");
