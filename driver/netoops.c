// SPDX-License-Identifier: GPL-2.0
/*
 * netoops: send the kernel log over UDP when the kernel oopses or panics.
 *
 * netoops registers a kmsg dumper. When the kernel dumps its log, netoops
 * copies the whole log buffer (with syslog prefixes) into a buffer that was
 * allocated when the first target was configured, cuts it into packets that
 * fit the device MTU and hands them to netpoll, last piece first. The whole
 * sequence is sent several times. The packet format is described in
 * Documentation/networking/netoops.rst.
 *
 * Configuration lives under /proc/sys/kernel/netoops/. Writes are validated
 * in full in process context and swapped in under netoops_mutex and
 * netoops_lock; the dump path only ever tries netoops_lock, and gives up if
 * it is held.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/inet.h>
#include <linux/kmsg_dump.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/netpoll.h>
#include <linux/nmi.h>
#include <linux/printk.h>
#include <linux/random.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysctl.h>
#include <linux/timekeeping.h>
#include <linux/utsname.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/udp.h>

#define NETOOPS_MAGIC		0x4e4f5053	/* "NOPS" */
#define NETOOPS_VERSION		1

#define NETOOPS_F_TRUNCATED	0x0002
#define NETOOPS_F_PREFIXED	0x0004

#define NETOOPS_REASON_TEST	5

#define NETOOPS_MAX_TARGETS	4
#define NETOOPS_DEFAULT_SPORT	6667
#define NETOOPS_DEFAULT_DPORT	6668
#define NETOOPS_DEFAULT_COPIES	3
#define NETOOPS_MAX_COPIES	16

#define NETOOPS_STR_MAX		64	/* host name, release, label */
#define NETOOPS_TEXT_MAX	128	/* reason text */

/*
 * Largest UDP payload we hand to netpoll. netpoll falls back to skbs from
 * its own pool when GFP_ATOMIC allocations fail; those hold MAX_UDP_CHUNK
 * (1460) bytes of UDP payload, so never ask for more, whatever the MTU.
 */
#define NETOOPS_MAX_UDP		1460

/* Longest line a sysctl write may contain. */
#define NETOOPS_LINE_MAX	256

/* How long a dump waits for another dump or a writer to get out of the way. */
#define NETOOPS_WAIT_US		20000

/* How long a packet waits for a device to make room in its transmit ring. */
#define NETOOPS_TX_WAIT_US	50000

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

static_assert(sizeof(struct netoops_hdr) == 64);
static_assert(offsetof(struct netoops_hdr, time_ns) == 48);
static_assert(sizeof(struct netoops_hdr) + 3 * NETOOPS_STR_MAX +
	      NETOOPS_TEXT_MAX < NETOOPS_MAX_UDP);

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

struct netoops_target {
	/* Configuration; constant once the target is published. */
	struct netpoll		np;
	/*
	 * Written under RTNL and netoops_lock; read under either. Only an
	 * NETOOPS_ACTIVE target has its netpoll set up.
	 */
	enum netoops_state	state;
};

static const char * const netoops_reason_names[] = {
	[KMSG_DUMP_PANIC]	= "panic",
	[KMSG_DUMP_OOPS]	= "oops",
	[KMSG_DUMP_EMERG]	= "emerg",
	[KMSG_DUMP_SHUTDOWN]	= "shutdown",
};

/* Canonical order of the words in the reasons file. */
static const enum kmsg_dump_reason netoops_reason_order[] = {
	KMSG_DUMP_OOPS, KMSG_DUMP_PANIC, KMSG_DUMP_EMERG, KMSG_DUMP_SHUTDOWN,
};

#define NETOOPS_DEFAULT_REASONS	(BIT(KMSG_DUMP_OOPS) | BIT(KMSG_DUMP_PANIC))

/*
 * Lock order: netoops_mutex, then RTNL, then netoops_lock.
 *
 * netoops_mutex serialises configuration changes (sysctl writes and the
 * setup work). The netdevice notifier runs under RTNL and must not take it.
 * netoops_lock protects everything the dump path reads; the dump path only
 * ever trylocks it. netoops_owner is the CPU sending a dump, or -1: a second
 * dump, or an oops inside the dumper, must not use the buffers below (and
 * trylock does not tell on UP).
 */
static DEFINE_MUTEX(netoops_mutex);
static DEFINE_SPINLOCK(netoops_lock);
static atomic_t netoops_owner = ATOMIC_INIT(-1);
/* A real dump waiting for a test dump asks it to stop. */
static bool netoops_abort;

static struct netoops_target *netoops_targets[NETOOPS_MAX_TARGETS];
static unsigned int netoops_enabled = 1;
static unsigned int netoops_reasons = NETOOPS_DEFAULT_REASONS;
static unsigned int netoops_copies = NETOOPS_DEFAULT_COPIES;
static char netoops_label[NETOOPS_STR_MAX + 1];

/* Drawn once, in process context, before the first target goes live. */
static u8 netoops_boot_id[16];
static bool netoops_boot_id_set;

/* The log copy and the packet being built; used under netoops_lock. */
static char *netoops_log;
static size_t netoops_log_size;
static u8 netoops_pkt[NETOOPS_MAX_UDP] __aligned(8);
static u32 netoops_dump_seq;

static unsigned long netoops_dumps_sent;
static unsigned long netoops_packets_sent;
static unsigned long netoops_tx_errors;
static unsigned long netoops_last_dump_us;

static struct ctl_table_header *netoops_sysctl_header;

static void netoops_setup_work_fn(struct work_struct *work);
static DECLARE_WORK(netoops_setup_work, netoops_setup_work_fn);

static bool netoops_dev_usable(struct net_device *dev)
{
	return netif_running(dev) && netif_device_present(dev) &&
	       netif_carrier_ok(dev);
}

static bool netoops_aborted(u8 reason)
{
	return reason == NETOOPS_REASON_TEST && READ_ONCE(netoops_abort);
}

static bool netoops_tx_stopped(struct net_device *dev)
{
	unsigned int i;

	for (i = 0; i < dev->real_num_tx_queues; i++)
		if (netif_xmit_stopped(netdev_get_tx_queue(dev, i)))
			return true;
	return false;
}

/*
 * When a device's transmit ring stays full for a clock tick, netpoll defers
 * the packet to a work item and queues every later packet behind it; a
 * dying kernel never runs that work, so the rest of the dump would be lost.
 * A paravirtual NIC whose host is busy fills its ring that way. Give the
 * device time to free room, polling it as netpoll does. A ring that stays
 * full for NETOOPS_TX_WAIT_US is not waited for again in this round.
 */
static void netoops_wait_tx(struct net_device *dev, bool *stalled)
{
	unsigned int waited;

	if (*stalled)
		return;
	for (waited = 0; netoops_tx_stopped(dev); waited += 5) {
		if (waited >= NETOOPS_TX_WAIT_US) {
			*stalled = true;
			return;
		}
		netpoll_poll_dev(dev);
		touch_nmi_watchdog();
		udelay(5);
	}
}

/* Send every piece of the log to one target, last piece first. */
static void netoops_send_target(struct netoops_target *nt, size_t hdr_len,
				size_t total, u8 copy)
{
	struct netoops_hdr *hdr = (struct netoops_hdr *)netoops_pkt;
	struct net_device *dev = nt->np.dev;
	unsigned int mtu = READ_ONCE(dev->mtu);
	size_t overhead, udp_max, max, count, idx;
	bool stalled = false;

	overhead = sizeof(struct udphdr) + (nt->np.ipv6 ?
		   sizeof(struct ipv6hdr) : sizeof(struct iphdr));
	udp_max = mtu > overhead ? mtu - overhead : 0;
	udp_max = min_t(size_t, udp_max, NETOOPS_MAX_UDP);
	if (udp_max <= hdr_len) {
		netoops_tx_errors++;
		return;
	}
	max = udp_max - hdr_len;
	count = total ? DIV_ROUND_UP(total, max) : 1;

	hdr->count = cpu_to_be32(count);
	hdr->copy = copy;

	idx = count;
	while (idx--) {
		size_t off = idx * max;
		size_t len = min(max, total - off);

		touch_nmi_watchdog();
		if (netoops_aborted(hdr->reason))
			return;
		if (!netoops_dev_usable(dev)) {
			netoops_tx_errors++;
			continue;
		}

		hdr->index = cpu_to_be32(idx);
		hdr->offset = cpu_to_be32(off);
		hdr->payload_len = cpu_to_be16(len);
		memcpy(netoops_pkt + hdr_len, netoops_log + off, len);

		netoops_wait_tx(dev, &stalled);
		netpoll_send_udp(&nt->np, netoops_pkt, hdr_len + len);
		netoops_packets_sent++;
	}
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

/* Write the header common to every packet of this dump; return its length. */
static size_t netoops_fill_header(u8 reason, const char *text, u16 flags,
				  size_t total)
{
	struct netoops_hdr *hdr = (struct netoops_hdr *)netoops_pkt;
	struct new_utsname *uts = init_utsname();
	u8 *p = netoops_pkt + sizeof(*hdr);

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_be32(NETOOPS_MAGIC);
	hdr->version = NETOOPS_VERSION;
	hdr->reason = reason;
	hdr->flags = cpu_to_be16(flags);
	memcpy(hdr->boot_id, netoops_boot_id, sizeof(hdr->boot_id));
	hdr->dump_seq = cpu_to_be32(netoops_dump_seq);
	hdr->total_len = cpu_to_be32(total);
	hdr->time_ns = cpu_to_be64(ktime_get_real_fast_ns());
	hdr->copies = netoops_copies;

	p += netoops_put_str(p, &hdr->host_len, uts->nodename,
			     NETOOPS_STR_MAX);
	p += netoops_put_str(p, &hdr->release_len, uts->release,
			     NETOOPS_STR_MAX);
	p += netoops_put_str(p, &hdr->label_len, netoops_label,
			     NETOOPS_STR_MAX);
	p += netoops_put_str(p, &hdr->text_len, text, NETOOPS_TEXT_MAX);

	hdr->header_len = cpu_to_be16(p - netoops_pkt);
	return p - netoops_pkt;
}

static bool netoops_any_active(void)
{
	int i;

	for (i = 0; i < NETOOPS_MAX_TARGETS; i++)
		if (netoops_targets[i] &&
		    netoops_targets[i]->state == NETOOPS_ACTIVE)
			return true;
	return false;
}

/*
 * Take a snapshot of the log and send it to every active target. Called
 * with netoops_lock held and interrupts off. Allocates nothing, sleeps
 * nowhere and resolves nothing.
 */
static void netoops_dump_locked(u8 reason, const char *text)
{
	u64 start = ktime_get_mono_fast_ns();
	struct kmsg_dump_iter iter;
	u16 flags = NETOOPS_F_PREFIXED;
	unsigned long packets;
	size_t hdr_len, len = 0;
	unsigned int copy;
	int i;

	if (!netoops_log || !netoops_any_active())
		return;

	kmsg_dump_rewind(&iter);
	kmsg_dump_get_buffer(&iter, true, netoops_log, netoops_log_size, &len);
	/* Older records that did not fit are left before next_seq. */
	if (iter.next_seq > iter.cur_seq)
		flags |= NETOOPS_F_TRUNCATED;

	netoops_dump_seq++;
	hdr_len = netoops_fill_header(reason, text, flags, len);
	packets = netoops_packets_sent;

	/* The whole sequence is repeated, not each packet back to back. */
	for (copy = 0; copy < netoops_copies; copy++) {
		for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
			struct netoops_target *nt = netoops_targets[i];

			if (nt && nt->state == NETOOPS_ACTIVE)
				netoops_send_target(nt, hdr_len, len, copy);
		}
	}

	if (netoops_packets_sent != packets)
		WRITE_ONCE(netoops_dumps_sent, netoops_dumps_sent + 1);
	WRITE_ONCE(netoops_last_dump_us,
		   div_u64(ktime_get_mono_fast_ns() - start, NSEC_PER_USEC));
}

/*
 * Send a dump unless one is being sent already: by this CPU (an oops inside
 * the dumper) or by another one. We never wait on the network, and only
 * wait a little for a test dump to stop or for a writer to leave
 * netoops_lock; a CPU stopped by panic() while it held either never does.
 * A test dump waits for nothing. Returns whether the dump was sent.
 */
static bool netoops_dump(u8 reason, const char *text)
{
	bool test = reason == NETOOPS_REASON_TEST;
	unsigned int waited = 0;
	unsigned long flags;
	bool done = false;
	int cpu, owner;

	local_irq_save(flags);
	cpu = smp_processor_id();
	for (;;) {
		owner = atomic_cmpxchg(&netoops_owner, -1, cpu);
		if (owner == -1)
			break;
		if (owner == cpu || test || waited++ >= NETOOPS_WAIT_US)
			goto out;
		WRITE_ONCE(netoops_abort, true);
		udelay(1);
	}
	WRITE_ONCE(netoops_abort, false);

	while (!spin_trylock(&netoops_lock)) {
		if (test || waited++ >= NETOOPS_WAIT_US)
			goto out_owner;
		udelay(1);
	}
	netoops_dump_locked(reason, text);
	spin_unlock(&netoops_lock);
	done = true;
out_owner:
	atomic_set_release(&netoops_owner, -1);
out:
	local_irq_restore(flags);
	return done;
}

static void netoops_kmsg_dump(struct kmsg_dumper *dumper,
			      struct kmsg_dump_detail *detail)
{
	if (detail->reason <= KMSG_DUMP_UNDEF ||
	    detail->reason >= KMSG_DUMP_MAX)
		return;
	if (!READ_ONCE(netoops_enabled) ||
	    !(READ_ONCE(netoops_reasons) & BIT(detail->reason)))
		return;

	netoops_dump(detail->reason, detail->description);
}

static struct kmsg_dumper netoops_dumper = {
	.dump		= netoops_kmsg_dump,
	.max_reason	= KMSG_DUMP_OOPS,
};

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

/* Allocate what the dump path needs. Called with netoops_mutex held. */
static int netoops_prepare(void)
{
	int err;

	err = netoops_draw_boot_id();
	if (err)
		return err;

	if (!netoops_log) {
		/*
		 * The log buffer holds the bare text. The syslog prefix and
		 * the time stamp add about 20 bytes per record and records
		 * are 32 bytes long on average, so twice the log buffer holds
		 * all of it in practice. If not, the dump says it is
		 * truncated.
		 */
		size_t size = 2 * (size_t)log_buf_len_get();
		char *log = vmalloc(size);

		if (!log)
			return -ENOMEM;
		spin_lock_irq(&netoops_lock);
		netoops_log = log;
		netoops_log_size = size;
		spin_unlock_irq(&netoops_lock);
	}
	return 0;
}

/*
 * Make a target whose netpoll was just set up live, unless its device went
 * away or was renamed since. Called with netoops_mutex held. Returns the new
 * state.
 */
static enum netoops_state netoops_activate(struct netoops_target *nt, int idx)
{
	enum netoops_state state = NETOOPS_ACTIVE;
	struct net_device *dev;

	rtnl_lock();
	dev = nt->np.dev;
	if (dev->reg_state != NETREG_REGISTERED ||
	    strcmp(dev->name, nt->np.dev_name)) {
		do_netpoll_cleanup(&nt->np);
		state = NETOOPS_PARKED;
	}
	spin_lock_irq(&netoops_lock);
	nt->state = state;
	netoops_targets[idx] = nt;
	spin_unlock_irq(&netoops_lock);
	rtnl_unlock();

	return state;
}

/* Set up the netpoll of every target waiting for its device. */
static void netoops_setup_work_fn(struct work_struct *work)
{
	int i, err;

	mutex_lock(&netoops_mutex);
	for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
		struct netoops_target *nt = netoops_targets[i];
		bool found;

		if (!nt || nt->state == NETOOPS_ACTIVE)
			continue;

		rcu_read_lock();
		found = dev_get_by_name_rcu(&init_net, nt->np.dev_name);
		rcu_read_unlock();
		if (!found)
			continue;

		err = netpoll_setup(&nt->np);
		if (err) {
			/* netpoll has logged why. */
			rtnl_lock();
			spin_lock_irq(&netoops_lock);
			nt->state = err == -ENODEV ? NETOOPS_PARKED :
				    NETOOPS_DOWN;
			spin_unlock_irq(&netoops_lock);
			rtnl_unlock();
			continue;
		}
		if (netoops_activate(nt, i) == NETOOPS_ACTIVE)
			pr_info("target%d: resumed on %s\n", i, nt->np.dev_name);
	}
	mutex_unlock(&netoops_mutex);
}

/*
 * Stop using a device that goes away, is renamed or becomes a slave. We
 * hold RTNL here, so netpoll can be torn down right away; setting it up
 * again needs RTNL too and is left to netoops_setup_work.
 */
static int netoops_netdev_event(struct notifier_block *nb,
				unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	enum netoops_state state;
	bool wake = false;
	int i;

	if (!net_eq(dev_net(dev), &init_net))
		return NOTIFY_DONE;

	switch (event) {
	case NETDEV_JOIN:
		state = NETOOPS_DOWN;
		break;
	case NETDEV_UNREGISTER:
	case NETDEV_CHANGENAME:
	case NETDEV_REGISTER:
		state = NETOOPS_PARKED;
		break;
	default:
		return NOTIFY_DONE;
	}

	for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
		struct netoops_target *nt = netoops_targets[i];

		if (!nt)
			continue;

		if (nt->state == NETOOPS_ACTIVE && nt->np.dev == dev) {
			spin_lock_irq(&netoops_lock);
			nt->state = state;
			spin_unlock_irq(&netoops_lock);
			do_netpoll_cleanup(&nt->np);
			pr_info("target%d: stopped using %s, %s\n", i,
				nt->np.dev_name, netoops_state_names[state]);
		} else if (nt->state != NETOOPS_ACTIVE &&
			   event != NETDEV_UNREGISTER &&
			   !strcmp(dev->name, nt->np.dev_name)) {
			/* A device of that name appeared, or was renamed. */
			wake = true;
		}
	}

	if (wake)
		schedule_work(&netoops_setup_work);
	return NOTIFY_DONE;
}

static struct notifier_block netoops_netdev_notifier = {
	.notifier_call = netoops_netdev_event,
};

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
 * shares: the capability, one write from offset 0, no NUL and at most one
 * newline, at the very end (which is dropped).
 */
static int netoops_get_line(char *line, const void *buffer, size_t len,
			    loff_t *ppos)
{
	const char *nl;

	if (!capable(CAP_NET_ADMIN))
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

static int netoops_uint_handler(const struct ctl_table *table, int write,
				void *buffer, size_t *lenp, loff_t *ppos,
				unsigned int *val, unsigned int min,
				unsigned int max)
{
	char line[NETOOPS_LINE_MAX + 1];
	unsigned int new;
	int err;

	if (!write) {
		snprintf(line, sizeof(line), "%u\n", READ_ONCE(*val));
		return netoops_read_str(line, buffer, lenp, ppos);
	}

	err = netoops_get_line(line, buffer, *lenp, ppos);
	if (!err)
		err = netoops_parse_uint(line, min, max, &new);
	if (err)
		return err;

	mutex_lock(&netoops_mutex);
	spin_lock_irq(&netoops_lock);
	WRITE_ONCE(*val, new);
	spin_unlock_irq(&netoops_lock);
	mutex_unlock(&netoops_mutex);

	netoops_write_done(lenp, ppos);
	return 0;
}

static int netoops_enabled_handler(const struct ctl_table *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	return netoops_uint_handler(table, write, buffer, lenp, ppos,
				    &netoops_enabled, 0, 1);
}

static int netoops_copies_handler(const struct ctl_table *table, int write,
				  void *buffer, size_t *lenp, loff_t *ppos)
{
	return netoops_uint_handler(table, write, buffer, lenp, ppos,
				    &netoops_copies, 1, NETOOPS_MAX_COPIES);
}

static int netoops_reasons_handler(const struct ctl_table *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	char line[NETOOPS_LINE_MAX + 1];
	enum kmsg_dump_reason max = KMSG_DUMP_UNDEF;
	unsigned int mask = 0;
	char *s = line, *word;
	int i, err;

	if (!write) {
		unsigned int cur = READ_ONCE(netoops_reasons);
		size_t n = 0;

		for (i = 0; i < ARRAY_SIZE(netoops_reason_order); i++) {
			enum kmsg_dump_reason r = netoops_reason_order[i];

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
		for (i = KMSG_DUMP_PANIC; i < KMSG_DUMP_MAX; i++)
			if (!strcmp(word, netoops_reason_names[i]))
				bit = BIT(i);
		if (!bit)
			return -EINVAL;
		mask |= bit;
	}
	if (!mask)
		return -EINVAL;

	for (i = KMSG_DUMP_PANIC; i < KMSG_DUMP_MAX; i++)
		if (mask & BIT(i))
			max = i;

	mutex_lock(&netoops_mutex);
	spin_lock_irq(&netoops_lock);
	WRITE_ONCE(netoops_reasons, mask);
	/* Ask printk for the worst reason; the callback filters the rest. */
	WRITE_ONCE(netoops_dumper.max_reason, max);
	spin_unlock_irq(&netoops_lock);
	mutex_unlock(&netoops_mutex);

	netoops_write_done(lenp, ppos);
	return 0;
}

static int netoops_label_handler(const struct ctl_table *table, int write,
				 void *buffer, size_t *lenp, loff_t *ppos)
{
	char line[NETOOPS_LINE_MAX + 1];
	size_t len, i;
	int err;

	if (!write) {
		mutex_lock(&netoops_mutex);
		snprintf(line, sizeof(line), "%s\n", netoops_label);
		mutex_unlock(&netoops_mutex);
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
	spin_lock_irq(&netoops_lock);
	strscpy(netoops_label, line, sizeof(netoops_label));
	spin_unlock_irq(&netoops_lock);
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

/* Parse a target line into @np. Returns -EINVAL on any syntax error. */
static int netoops_parse_target(char *s, struct netpoll *np)
{
	unsigned int seen = 0;
	bool src6 = false, dst6 = false;
	char *word;

	np->local_port = NETOOPS_DEFAULT_SPORT;
	np->remote_port = NETOOPS_DEFAULT_DPORT;

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
			strscpy(np->dev_name, val, IFNAMSIZ);
			break;
		case NETOOPS_KEY_SRC:
			err = netoops_parse_ip(val, &np->local_ip, &src6);
			break;
		case NETOOPS_KEY_DST:
			err = netoops_parse_ip(val, &np->remote_ip, &dst6);
			break;
		case NETOOPS_KEY_MAC:
			if (strlen(val) != 3 * ETH_ALEN - 1 ||
			    !mac_pton(val, np->remote_mac) ||
			    is_zero_ether_addr(np->remote_mac) ||
			    (is_multicast_ether_addr(np->remote_mac) &&
			     !is_broadcast_ether_addr(np->remote_mac)))
				return -EINVAL;
			break;
		case NETOOPS_KEY_SPORT:
			err = netoops_parse_port(val, &np->local_port);
			break;
		case NETOOPS_KEY_DPORT:
			err = netoops_parse_port(val, &np->remote_port);
			break;
		}
		if (err)
			return err;
	}

	if ((seen & NETOOPS_KEYS_REQUIRED) != NETOOPS_KEYS_REQUIRED ||
	    src6 != dst6)
		return -EINVAL;
	np->ipv6 = src6;
	return 0;
}

static void netoops_format_target(const struct netpoll *np, char *buf,
				  size_t size)
{
	if (np->ipv6)
		snprintf(buf, size,
			 "dev=%s src=%pI6c dst=%pI6c mac=%pM sport=%u dport=%u\n",
			 np->dev_name, &np->local_ip.in6, &np->remote_ip.in6,
			 np->remote_mac, np->local_port, np->remote_port);
	else
		snprintf(buf, size,
			 "dev=%s src=%pI4 dst=%pI4 mac=%pM sport=%u dport=%u\n",
			 np->dev_name, &np->local_ip.ip, &np->remote_ip.ip,
			 np->remote_mac, np->local_port, np->remote_port);
}

/* Replace target @idx by @nt (NULL to clear it). Takes netoops_mutex. */
static int netoops_set_target(int idx, struct netoops_target *nt)
{
	struct netoops_target *old;
	bool found;
	int err;

	mutex_lock(&netoops_mutex);

	if (nt) {
		rcu_read_lock();
		found = dev_get_by_name_rcu(&init_net, nt->np.dev_name);
		rcu_read_unlock();
		if (!found) {
			err = -ENODEV;
			goto unlock;
		}

		err = netoops_prepare();
		if (err)
			goto unlock;

		err = netpoll_setup(&nt->np);
		if (err)
			goto unlock;
	}

	old = netoops_targets[idx];
	if (nt) {
		/* Publishes nt, which replaces old for the dump path. */
		netoops_activate(nt, idx);
	} else {
		rtnl_lock();
		spin_lock_irq(&netoops_lock);
		netoops_targets[idx] = NULL;
		spin_unlock_irq(&netoops_lock);
		rtnl_unlock();
	}

	/* Neither the dump path nor the notifier can see old any more. */
	if (old) {
		netpoll_cleanup(&old->np);
		kfree(old);
	}
	err = 0;
unlock:
	mutex_unlock(&netoops_mutex);
	return err;
}

static int netoops_target_handler(const struct ctl_table *table, int write,
				  void *buffer, size_t *lenp, loff_t *ppos)
{
	struct netoops_target **slot = table->data;
	int idx = slot - netoops_targets;
	char line[NETOOPS_LINE_MAX + 1];
	struct netoops_target *nt = NULL;
	int err;

	if (!write) {
		mutex_lock(&netoops_mutex);
		if (*slot)
			netoops_format_target(&(*slot)->np, line, sizeof(line));
		else
			line[0] = '\0';
		mutex_unlock(&netoops_mutex);
		return netoops_read_str(line, buffer, lenp, ppos);
	}

	err = netoops_get_line(line, buffer, *lenp, ppos);
	if (err)
		return err;

	/* netpoll_setup() looks the device up in the caller's namespace. */
	if (!net_eq(current->nsproxy->net_ns, &init_net))
		return -EPERM;

	/* A line of nothing but blanks clears the target. */
	if (line[strspn(line, " \t")]) {
		nt = kzalloc(sizeof(*nt), GFP_KERNEL);
		if (!nt)
			return -ENOMEM;
		nt->np.name = "netoops";
		err = netoops_parse_target(line, &nt->np);
		if (!err)
			err = netoops_set_target(idx, nt);
		if (err) {
			kfree(nt);
			return err;
		}
	} else {
		netoops_set_target(idx, NULL);
	}

	netoops_write_done(lenp, ppos);
	return 0;
}

static int netoops_state_handler(const struct ctl_table *table, int write,
				 void *buffer, size_t *lenp, loff_t *ppos)
{
	char text[NETOOPS_MAX_TARGETS * (IFNAMSIZ + 24)];
	size_t n = 0;
	int i;

	mutex_lock(&netoops_mutex);
	for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
		struct netoops_target *nt = netoops_targets[i];
		enum netoops_state state;

		if (!nt)
			continue;
		spin_lock_irq(&netoops_lock);
		state = nt->state;
		spin_unlock_irq(&netoops_lock);
		n += scnprintf(text + n, sizeof(text) - n, "target%d %s %s\n",
			       i, nt->np.dev_name, netoops_state_names[state]);
	}
	text[n] = '\0';
	mutex_unlock(&netoops_mutex);

	return netoops_read_str(text, buffer, lenp, ppos);
}

static int netoops_test_handler(const struct ctl_table *table, int write,
				void *buffer, size_t *lenp, loff_t *ppos)
{
	char line[NETOOPS_LINE_MAX + 1];
	bool sent, active;
	int err;

	err = netoops_get_line(line, buffer, *lenp, ppos);
	if (err)
		return err;
	if (strcmp(line, "1"))
		return -EINVAL;

	spin_lock_irq(&netoops_lock);
	active = netoops_any_active();
	spin_unlock_irq(&netoops_lock);
	if (!active)
		return -ENODEV;

	/* A dump from process context; a real dump makes this one give up. */
	sent = netoops_dump(NETOOPS_REASON_TEST, "netoops test dump");
	if (!sent)
		return -EBUSY;

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
		 READ_ONCE(*(unsigned long *)table->data));
	return netoops_read_str(text, buffer, lenp, ppos);
}

#define NETOOPS_TARGET_ENTRY(n) {				\
	.procname	= "target" #n,				\
	.data		= &netoops_targets[n],			\
	.mode		= 0644,					\
	.proc_handler	= netoops_target_handler,		\
}

#define NETOOPS_COUNTER_ENTRY(name) {				\
	.procname	= #name,				\
	.data		= &netoops_##name,			\
	.mode		= 0444,					\
	.proc_handler	= netoops_counter_handler,		\
}

static struct ctl_table netoops_sysctl_table[] = {
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
	int err;

	err = register_netdevice_notifier(&netoops_netdev_notifier);
	if (err)
		return err;

	err = kmsg_dump_register(&netoops_dumper);
	if (err)
		goto unregister_notifier;

	netoops_sysctl_header = register_sysctl("kernel/netoops",
						netoops_sysctl_table);
	if (!netoops_sysctl_header) {
		err = -ENOMEM;
		goto unregister_dumper;
	}

	return 0;

unregister_dumper:
	kmsg_dump_unregister(&netoops_dumper);
unregister_notifier:
	unregister_netdevice_notifier(&netoops_netdev_notifier);
	return err;
}

static void __exit netoops_exit(void)
{
	int i;

	unregister_sysctl_table(netoops_sysctl_header);
	kmsg_dump_unregister(&netoops_dumper);
	unregister_netdevice_notifier(&netoops_netdev_notifier);
	cancel_work_sync(&netoops_setup_work);

	for (i = 0; i < NETOOPS_MAX_TARGETS; i++)
		netoops_set_target(i, NULL);
	vfree(netoops_log);
}

module_init(netoops_init);
module_exit(netoops_exit);

MODULE_AUTHOR("netoops developers <dev@netoops.invalid>");
MODULE_DESCRIPTION("Send the kernel log over UDP on oops and panic");
MODULE_LICENSE("GPL");
