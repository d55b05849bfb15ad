// SPDX-License-Identifier: GPL-2.0
/*
 * netoops: send the kernel log over UDP when the kernel oopses or panics.
 *
 * netoops registers a kmsg dumper. When the kernel dumps its log, netoops
 * copies the whole log (with syslog prefixes) into a buffer reserved when
 * the first target was configured, cuts it into pieces that fit the device
 * MTU and sends them, last piece first, in UDP packets it builds itself in
 * socket buffers it allocated beforehand. The whole sequence is sent several
 * times. The packet format is described in
 * Documentation/networking/netoops.rst.
 *
 * The dump path allocates and frees nothing, defers nothing to a work item,
 * takes no lock that a writer or another CPU can hold (only the device's
 * transmit lock, with a trylock) and waits for nothing longer than a bounded
 * time:
 *
 * - The configuration is one immutable snapshot published with RCU; writers
 *   make a new one under netoops_mutex and wait for a grace period before
 *   freeing the old one. The per-device part of a target (netpoll for NAPI
 *   polling, the socket buffers) is published with RCU under RTNL.
 * - Every socket buffer carries an extra reference held by netoops, so when
 *   the driver is done with one it only drops that reference: nothing is
 *   returned to the allocator while dumping, and a buffer is reused once
 *   the driver let go of it.
 * - Frames are handed to the driver's ndo_start_xmit directly, under a
 *   trylock of the queue's transmit lock. A stopped or frozen queue, or a
 *   lock that stays held, gets a time-bounded wait with NAPI polling; then
 *   the device is given up for the rest of the dump and what was not sent
 *   is counted in tx_errors.
 * - One context sends at a time (netoops_owner). At panic, other CPUs have
 *   been stopped, so the panicking CPU takes over from any owner.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/fault-inject.h>
#include <linux/hex.h>
#include <linux/if_arp.h>
#include <linux/inet.h>
#include <linux/kmsg_dump.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/netpoll.h>
#include <linux/nmi.h>
#include <linux/printk.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
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
#include <net/udp.h>

#ifdef CONFIG_PREEMPT_RT
/*
 * The dump path trylocks a device's transmit lock with interrupts off (or
 * in NMI context); on PREEMPT_RT that lock is a sleeping lock.
 */
#error "netoops does not support PREEMPT_RT (see Documentation/networking/netoops.rst)"
#endif

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

/* How long a dump waits for another context to stop sending. */
#define NETOOPS_OWNER_WAIT_NS	(20 * NSEC_PER_MSEC)

/* At most one oops dump this often; panics are always sent. */
#define NETOOPS_OOPS_INTERVAL_NS	(10 * NSEC_PER_SEC)

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

/* The device side of a target: exists while the device is up. */
struct netoops_tx {
	/* For NAPI polling only: netpoll sends nothing for netoops. */
	struct netpoll		np;
	struct sk_buff		*skbs[NETOOPS_RING];
	/* Where the next search for a free buffer starts; a hint. */
	unsigned int		next;
	unsigned int		headroom;
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
 * The context sending a dump (its task_struct), or 0. The owner checks
 * before every packet that it still is the owner, and stops if not.
 */
static atomic_long_t netoops_owner = ATOMIC_LONG_INIT(0);
/* A dump waiting for the owner asks it to stop. */
static bool netoops_yield;
/* Bumped by writers that need a dump in progress (not a panic) to end. */
static unsigned int netoops_stop;
/* A panic took over on this CPU already: do not take over again. */
static bool netoops_panic_retried;
static u64 netoops_last_oops_ns;

/* Drawn once, in process context, before the first target goes live. */
static u8 netoops_boot_id[16];
static bool netoops_boot_id_set;

static atomic_t netoops_dump_seq = ATOMIC_INIT(0);

static atomic_long_t netoops_dumps_sent = ATOMIC_LONG_INIT(0);
static atomic_long_t netoops_packets_sent = ATOMIC_LONG_INIT(0);
static atomic_long_t netoops_tx_errors = ATOMIC_LONG_INIT(0);
static atomic_long_t netoops_last_dump_us = ATOMIC_LONG_INIT(0);

/*
 * What one dump needs besides the configuration. Slot 1 is for a panic that
 * takes over from another owner, which may have been stopped while it used
 * slot 0.
 */
struct netoops_dump {
	u8			hdr[NETOOPS_HDR_MAX] __aligned(8);
	size_t			hdr_len;
	size_t			total;
	size_t			piece;		/* payload bytes per packet */
	unsigned int		count;
	unsigned long		me;
	unsigned int		stop;
	u8			reason;
	u16			ip_id;
	/* Set while this dump holds a transmit lock or polls a NAPI. */
	struct netdev_queue	*locked_txq;
	struct napi_struct	*polling;
	bool			planned[NETOOPS_MAX_TARGETS];
	bool			live[NETOOPS_MAX_TARGETS];
	unsigned long		sent[NETOOPS_MAX_TARGETS];
};

static struct netoops_dump netoops_dumps[2];

static struct ctl_table_header *netoops_sysctl_header;

#ifdef CONFIG_NETOOPS_FAULT_INJECTION
/*
 * debugfs fail_netoops/ (Documentation/fault-injection/): make the dump
 * path oops while it holds a device's transmit lock, to test what a fault
 * inside a dump leaves behind.
 */
static DECLARE_FAULT_ATTR(netoops_fault_attr);
static struct dentry *netoops_fault_dir;

static void netoops_fault(void)
{
	/* An oops, as LKDTM's EXCEPTION makes one. */
	if (should_fail(&netoops_fault_attr, 1))
		WRITE_ONCE(*(int *)NULL, 0);
}

static void netoops_fault_init(void)
{
	netoops_fault_dir = fault_create_debugfs_attr("fail_netoops", NULL,
						      &netoops_fault_attr);
}

static void netoops_fault_exit(void)
{
	debugfs_remove_recursive(netoops_fault_dir);
}
#else
static void netoops_fault(void)
{
}

static void netoops_fault_init(void)
{
}

static void netoops_fault_exit(void)
{
}
#endif

/* kzalloc_obj() exists from Linux 7.0 on; netoops builds on 6.12 too. */
static void *netoops_zalloc(size_t size)
{
	return kzalloc(size, GFP_KERNEL);
}

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

/*
 * A time bound for a wait that polls every @step_us. The step count bounds
 * it too, should the clock not advance (a jiffies clocksource with
 * interrupts off).
 */
struct netoops_deadline {
	u64		end;
	unsigned long	steps;
};

static void netoops_deadline_init(struct netoops_deadline *dl, u64 ns,
				  unsigned int step_us)
{
	dl->end = ktime_get_mono_fast_ns() + ns;
	dl->steps = div_u64(ns, step_us * NSEC_PER_USEC) + 1;
}

/* Whether to wait one more step; waits it if so. */
static bool netoops_wait_step(struct netoops_deadline *dl,
			      unsigned int step_us)
{
	if (!dl->steps || ktime_get_mono_fast_ns() >= dl->end)
		return false;
	dl->steps--;
	udelay(step_us);
	return true;
}

/*
 * Whether this CPU may call into the device's NAPI poll: not while it is
 * inside the driver itself, and not while another CPU holds a transmit
 * lock, which some drivers take in their poll (a CPU stopped by panic()
 * never releases it).
 */
static bool netoops_may_poll(struct net_device *dev)
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

/*
 * Let the driver clean up its transmit rings, as netpoll does, through NAPI
 * with a budget of 0 (transmit completions only). A NAPI instance that is
 * being polled elsewhere or is disabled is left alone.
 */
static void netoops_poll(struct netoops_dump *d, struct net_device *dev)
{
	int cpu = smp_processor_id();
	struct napi_struct *napi;

	if (!netoops_may_poll(dev))
		return;

	list_for_each_entry_rcu(napi, &dev->napi_list, dev_list) {
		if (READ_ONCE(napi->poll_owner) == cpu)
			return;
	}
	list_for_each_entry_rcu(napi, &dev->napi_list, dev_list) {
		if (cmpxchg(&napi->poll_owner, -1, cpu) != -1)
			continue;
		if (!test_and_set_bit(NAPI_STATE_NPSVC, &napi->state)) {
			WRITE_ONCE(d->polling, napi);
			napi->poll(napi, 0);
			WRITE_ONCE(d->polling, NULL);
			clear_bit(NAPI_STATE_NPSVC, &napi->state);
		}
		/* Pairs with the cmpxchg() of netpoll_poll_lock(). */
		smp_store_release(&napi->poll_owner, -1);
	}
}

/*
 * A buffer the driver let go of: netoops holds one reference to each of its
 * buffers, the driver one more while it has it.
 */
static struct sk_buff *netoops_get_skb(struct netoops_dump *d,
				       struct netoops_tx *tx,
				       struct netoops_deadline *dl)
{
	unsigned int i, n;

	for (;;) {
		for (n = 0; n < NETOOPS_RING; n++) {
			i = (tx->next + n) % NETOOPS_RING;
			if (refcount_read(&tx->skbs[i]->users) == 1) {
				/* Pairs with the driver's reference drop. */
				smp_rmb();
				tx->next = (i + 1) % NETOOPS_RING;
				return tx->skbs[i];
			}
		}
		netoops_poll(d, tx->np.dev);
		if (!netoops_wait_step(dl, NETOOPS_POLL_US))
			return NULL;
	}
}

/*
 * Hand a frame to the driver through one queue, under its transmit lock
 * (also for a driver that does not need it: it is free then).
 */
static netdev_tx_t netoops_xmit_queue(struct netoops_dump *d,
				      struct net_device *dev,
				      struct netdev_queue *txq,
				      struct sk_buff *skb, unsigned int i)
{
	netdev_tx_t status = NETDEV_TX_BUSY;

	if (!__netif_tx_trylock(txq))
		return status;
	WRITE_ONCE(d->locked_txq, txq);
	netoops_fault();
	if (!netif_xmit_frozen_or_stopped(txq)) {
		skb_set_queue_mapping(skb, i);
		status = netdev_start_xmit(skb, dev, txq, false);
	}
	WRITE_ONCE(d->locked_txq, NULL);
	__netif_tx_unlock(txq);
	return status;
}

/* Hand a frame to the driver; any queue that has room will do. */
static int netoops_xmit(struct netoops_dump *d, struct net_device *dev,
			struct sk_buff *skb, struct netoops_deadline *dl)
{
	netdev_tx_t status;
	unsigned int i;

	for (;;) {
		for (i = 0; i < dev->real_num_tx_queues; i++) {
			struct netdev_queue *txq = netdev_get_tx_queue(dev, i);

			if (netif_xmit_frozen_or_stopped(txq))
				continue;
			status = netoops_xmit_queue(d, dev, txq, skb, i);
			if (dev_xmit_complete(status))
				return 0;
		}
		netoops_poll(d, dev);
		if (!netoops_wait_step(dl, NETOOPS_POLL_US))
			return -ETIMEDOUT;
	}
}

static void netoops_build_frame(struct sk_buff *skb,
				const struct netoops_target *nt,
				struct net_device *dev, struct netoops_dump *d,
				const u8 *payload, size_t len)
{
	size_t udp_len = sizeof(struct udphdr) + d->hdr_len + len;
	struct udphdr *udph;
	struct ethhdr *eth;
	__wsum csum;
	u8 *p;

	skb_reset_mac_header(skb);
	eth = skb_put(skb, ETH_HLEN);
	skb_set_network_header(skb, skb->len);

	if (nt->ipv6) {
		struct ipv6hdr *ip6h = skb_put(skb, sizeof(*ip6h));

		ip6_flow_hdr(ip6h, 0, 0);
		ip6h->payload_len = htons(udp_len);
		ip6h->nexthdr = IPPROTO_UDP;
		ip6h->hop_limit = 64;
		ip6h->saddr = nt->src.in6;
		ip6h->daddr = nt->dst.in6;
		eth->h_proto = htons(ETH_P_IPV6);
	} else {
		struct iphdr *iph = skb_put(skb, sizeof(*iph));

		iph->version = 4;
		iph->ihl = 5;
		iph->tos = 0;
		iph->tot_len = htons(sizeof(*iph) + udp_len);
		iph->id = htons(d->ip_id++);
		iph->frag_off = htons(IP_DF);
		iph->ttl = 64;
		iph->protocol = IPPROTO_UDP;
		iph->check = 0;
		iph->saddr = nt->src.ip;
		iph->daddr = nt->dst.ip;
		iph->check = ip_fast_csum((u8 *)iph, iph->ihl);
		eth->h_proto = htons(ETH_P_IP);
	}

	skb_set_transport_header(skb, skb->len);
	udph = skb_put(skb, sizeof(*udph));
	udph->source = htons(nt->sport);
	udph->dest = htons(nt->dport);
	udph->len = htons(udp_len);
	udph->check = 0;

	p = skb_put(skb, d->hdr_len + len);
	memcpy(p, d->hdr, d->hdr_len);
	memcpy(p + d->hdr_len, payload, len);

	csum = csum_partial(udph, udp_len, 0);
	if (nt->ipv6)
		udph->check = csum_ipv6_magic(&nt->src.in6, &nt->dst.in6,
					      udp_len, IPPROTO_UDP, csum);
	else
		udph->check = csum_tcpudp_magic(nt->src.ip, nt->dst.ip,
						udp_len, IPPROTO_UDP, csum);
	if (!udph->check)
		udph->check = CSUM_MANGLED_0;

	ether_addr_copy(eth->h_dest, nt->mac);
	ether_addr_copy(eth->h_source, dev->dev_addr);

	skb->protocol = eth->h_proto;
	skb->dev = dev;
	skb->ip_summed = CHECKSUM_NONE;
	skb->priority = 0;
	skb->pkt_type = PACKET_OUTGOING;
}

/*
 * Send one piece to one target, with interrupts off for this packet only.
 * Returns 0 when the driver took the packet.
 */
static int netoops_send_piece(struct netoops_dump *d,
			      const struct netoops_target *nt,
			      struct netoops_tx *tx, const char *log,
			      unsigned int idx, unsigned int copy)
{
	struct netoops_hdr *hdr = (struct netoops_hdr *)d->hdr;
	struct net_device *dev = tx->np.dev;
	size_t off = (size_t)idx * d->piece;
	size_t len = min(d->piece, d->total - off);
	size_t ip_len = nt->ipv6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	struct netoops_deadline dl;
	struct sk_buff *skb;
	unsigned long flags;
	int err = -ENETDOWN;

	netoops_deadline_init(&dl, NETOOPS_TX_WAIT_NS, NETOOPS_POLL_US);
	local_irq_save(flags);
	if (!netoops_dev_usable(dev))
		goto out;
	/* The MTU may have shrunk since the dump was planned. */
	err = -EMSGSIZE;
	if (ip_len + sizeof(struct udphdr) + d->hdr_len + len >
	    READ_ONCE(dev->mtu))
		goto out;
	err = -ETIMEDOUT;
	skb = netoops_get_skb(d, tx, &dl);
	if (!skb)
		goto out;

	hdr->index = cpu_to_be32(idx);
	hdr->offset = cpu_to_be32(off);
	hdr->payload_len = cpu_to_be16(len);
	hdr->copy = copy;

	skb->data = skb->head + tx->headroom;
	skb->len = 0;
	skb_reset_tail_pointer(skb);
	netoops_build_frame(skb, nt, dev, d, log + off, len);

	/* The driver's reference; netoops keeps its own. */
	skb_get(skb);
	err = netoops_xmit(d, dev, skb, &dl);
	if (err)
		refcount_dec(&skb->users);
out:
	local_irq_restore(flags);
	return err;
}

static bool netoops_still_owner(struct netoops_dump *d)
{
	if (atomic_long_read(&netoops_owner) != d->me)
		return false;
	if (d->reason == NETOOPS_REASON_PANIC)
		return true;
	return !READ_ONCE(netoops_yield) && READ_ONCE(netoops_stop) == d->stop;
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

/* Write the header common to every packet of this dump. */
static void netoops_fill_header(struct netoops_dump *d,
				const struct netoops_config *cfg,
				const char *text, u16 flags)
{
	struct netoops_hdr *hdr = (struct netoops_hdr *)d->hdr;
	struct new_utsname *uts = init_utsname();
	u8 *p = d->hdr + sizeof(*hdr);

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_be32(NETOOPS_MAGIC);
	hdr->version = NETOOPS_VERSION;
	hdr->reason = d->reason;
	hdr->flags = cpu_to_be16(flags);
	memcpy(hdr->boot_id, netoops_boot_id, sizeof(hdr->boot_id));
	hdr->dump_seq = cpu_to_be32(atomic_inc_return(&netoops_dump_seq));
	hdr->count = cpu_to_be32(d->count);
	hdr->total_len = cpu_to_be32(d->total);
	hdr->time_ns = cpu_to_be64(ktime_get_real_fast_ns());
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

static size_t netoops_text_len(const char *text)
{
	size_t len = text ? strnlen(text, NETOOPS_TEXT_MAX) : 0;

	if (len && text[len - 1] == '\n')
		len--;
	return len;
}

/*
 * Decide which targets take part and the piece size, the same for all of
 * them so that every packet of the dump has the same count. A target whose
 * MTU leaves no room for a piece is left out (one tx_error).
 */
static bool netoops_plan(struct netoops_dump *d,
			 const struct netoops_config *cfg, const char *text)
{
	struct new_utsname *uts = init_utsname();
	size_t hdr_len, piece = NETOOPS_MAX_UDP;
	bool any = false;
	int i;

	hdr_len = sizeof(struct netoops_hdr) +
		  strnlen(uts->nodename, NETOOPS_STR_MAX) +
		  strnlen(uts->release, NETOOPS_STR_MAX) +
		  strnlen(cfg->label, NETOOPS_STR_MAX) + netoops_text_len(text);

	for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
		struct netoops_target *nt = cfg->targets[i];
		struct netoops_tx *tx;
		size_t room, overhead;

		d->planned[i] = false;
		d->live[i] = false;
		d->sent[i] = 0;
		if (!nt)
			continue;
		tx = rcu_dereference(nt->tx);
		if (!tx)
			continue;
		overhead = sizeof(struct udphdr) + (nt->ipv6 ?
			   sizeof(struct ipv6hdr) : sizeof(struct iphdr));
		room = READ_ONCE(tx->np.dev->mtu);
		room = room > overhead ? room - overhead : 0;
		room = min_t(size_t, room, NETOOPS_MAX_UDP);
		if (room <= hdr_len) {
			atomic_long_inc(&netoops_tx_errors);
			continue;
		}
		piece = min(piece, room - hdr_len);
		d->planned[i] = true;
		d->live[i] = true;
		any = true;
	}
	d->piece = piece;
	return any;
}

/*
 * Take a snapshot of the log and send it to every active target. Runs with
 * the caller's interrupt state, turning interrupts off for each packet.
 * Returns the number of packets the devices took.
 */
static long netoops_send_dump(struct netoops_dump *d,
			      const struct netoops_config *cfg,
			      const char *text)
{
	u64 start = ktime_get_mono_fast_ns();
	unsigned long planned, total_sent = 0;
	struct kmsg_dump_iter iter;
	u16 flags = NETOOPS_F_PREFIXED;
	unsigned int copy, idx;
	size_t len = 0;
	int i;

	if (!cfg->log || !netoops_plan(d, cfg, text))
		return -ENODEV;

	kmsg_dump_rewind(&iter);
	kmsg_dump_get_buffer(&iter, true, cfg->log, cfg->log_size, &len);
	/* Older records that did not fit are left before next_seq. */
	if (iter.next_seq > iter.cur_seq)
		flags |= NETOOPS_F_TRUNCATED;

	d->total = len;
	d->count = len ? DIV_ROUND_UP(len, d->piece) : 1;
	netoops_fill_header(d, cfg, text, flags);

	/* The whole sequence is repeated, not each packet back to back. */
	for (copy = 0; copy < cfg->copies; copy++) {
		for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
			struct netoops_target *nt = cfg->targets[i];
			struct netoops_tx *tx;

			if (!d->live[i])
				continue;
			idx = d->count;
			while (idx--) {
				touch_nmi_watchdog();
				if (!netoops_still_owner(d))
					goto out;
				tx = rcu_dereference(nt->tx);
				if (!tx ||
				    netoops_send_piece(d, nt, tx, cfg->log,
						       idx, copy)) {
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
	planned = (unsigned long)cfg->copies * d->count;
	for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
		if (!d->planned[i])
			continue;
		if (d->sent[i] < planned && netoops_still_owner(d))
			atomic_long_add(planned - d->sent[i],
					&netoops_tx_errors);
		total_sent += d->sent[i];
	}
	if (total_sent)
		atomic_long_inc(&netoops_dumps_sent);
	atomic_long_set(&netoops_last_dump_us,
			div_u64(ktime_get_mono_fast_ns() - start,
				NSEC_PER_USEC));
	return total_sent;
}

/*
 * A dump of context @me faulted and will never resume: undo what it held
 * (a transmit lock, a NAPI instance), so that the device keeps working.
 */
static void netoops_unwind(unsigned long me)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(netoops_dumps); i++) {
		struct netoops_dump *d = &netoops_dumps[i];
		struct napi_struct *napi = READ_ONCE(d->polling);
		struct netdev_queue *txq = READ_ONCE(d->locked_txq);

		if (d->me != me)
			continue;
		if (txq) {
			WRITE_ONCE(d->locked_txq, NULL);
			/* Taken in netoops_xmit_queue(), which never returned. */
			__acquire(&txq->_xmit_lock);
			__netif_tx_unlock(txq);
		}
		if (napi) {
			WRITE_ONCE(d->polling, NULL);
			clear_bit(NAPI_STATE_NPSVC, &napi->state);
			/* Pairs with the cmpxchg() of netpoll_poll_lock(). */
			smp_store_release(&napi->poll_owner, -1);
		}
	}
}

/*
 * Become the context that sends. Returns the dump slot to use, or NULL.
 *
 * - Nobody sends: go.
 * - This context sends already: the dump it was sending faulted (an oops
 *   inside netoops or the driver, see netoops_kmsg_dump()), and this
 *   context never comes back to it. A panic (the fault happened in
 *   interrupt context, or with panic_on_oops) takes over, once.
 * - Another context sends: a test dump gives up. Anything else asks it to
 *   stop and waits for it a little; a panic then takes over, since the
 *   other CPUs have been stopped and the owner may be one of them.
 */
static struct netoops_dump *netoops_claim(u8 reason)
{
	unsigned long me = (unsigned long)current;
	struct netoops_dump *d = &netoops_dumps[0];
	bool panic = reason == NETOOPS_REASON_PANIC;
	struct netoops_deadline dl;
	unsigned long old;

	old = atomic_long_cmpxchg(&netoops_owner, 0, me);
	if (!old)
		goto claimed;

	if (old == me) {
		if (!panic)
			return NULL;
		if (READ_ONCE(netoops_panic_retried))
			return NULL;
		WRITE_ONCE(netoops_panic_retried, true);
		netoops_unwind(me);
		d = &netoops_dumps[1];
		goto claimed;
	}

	if (reason == NETOOPS_REASON_TEST)
		return NULL;

	WRITE_ONCE(netoops_yield, true);
	netoops_deadline_init(&dl, NETOOPS_OWNER_WAIT_NS, 1);
	do {
		old = atomic_long_cmpxchg(&netoops_owner, 0, me);
		if (!old)
			goto claimed;
	} while (netoops_wait_step(&dl, 1));
	if (!panic) {
		WRITE_ONCE(netoops_yield, false);
		return NULL;
	}
	if (READ_ONCE(netoops_panic_retried))
		return NULL;
	WRITE_ONCE(netoops_panic_retried, true);
	atomic_long_set(&netoops_owner, me);
	d = &netoops_dumps[1];

claimed:
	WRITE_ONCE(netoops_yield, false);
	d->me = me;
	d->reason = reason;
	d->stop = READ_ONCE(netoops_stop);
	return d;
}

static void netoops_release(struct netoops_dump *d)
{
	atomic_long_cmpxchg(&netoops_owner, d->me, 0);
}

/*
 * Send a dump. Returns the number of packets sent, -ENODEV without an
 * active target, or -EBUSY if another dump is being sent.
 */
static long netoops_dump(u8 reason, const char *text)
{
	struct netoops_config *cfg;
	struct netoops_dump *d;
	long ret = -ENODEV;

	d = netoops_claim(reason);
	if (!d)
		return -EBUSY;

	rcu_read_lock();
	cfg = rcu_dereference(netoops_config);
	if (reason == NETOOPS_REASON_TEST ||
	    (cfg->enabled && (cfg->reasons & BIT(reason))))
		ret = netoops_send_dump(d, cfg, text);
	rcu_read_unlock();

	netoops_release(d);
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

/*
 * An oops storm sends one dump per NETOOPS_OOPS_INTERVAL_NS (the next one
 * has the whole log, later oopses included). An oops in interrupt context
 * is followed by a panic, whose dump holds everything, so it sends
 * nothing itself.
 */
static bool netoops_oops_limited(void)
{
	u64 now = ktime_get_mono_fast_ns();
	u64 last = READ_ONCE(netoops_last_oops_ns);

	if (in_interrupt())
		return true;
	if (last && now - last < NETOOPS_OOPS_INTERVAL_NS)
		return true;
	WRITE_ONCE(netoops_last_oops_ns, now ? now : 1);
	return false;
}

static void netoops_kmsg_dump(struct kmsg_dumper *dumper,
			      struct kmsg_dump_detail *detail)
{
	u8 reason = netoops_wire_reason(detail->reason);

	if (reason == NETOOPS_REASON_UNKNOWN)
		return;
	/*
	 * An oops inside a dump on this context ends that dump (see
	 * netoops_claim()), even when it is rate limited or not selected.
	 */
	if (reason == NETOOPS_REASON_OOPS &&
	    atomic_long_read(&netoops_owner) == (unsigned long)current) {
		/* This task is being killed; later dumps and tests may run. */
		netoops_unwind((unsigned long)current);
		atomic_long_cmpxchg(&netoops_owner, (unsigned long)current, 0);
		return;
	}
	if (reason == NETOOPS_REASON_OOPS && netoops_oops_limited())
		return;

	netoops_dump(reason, detail->description);
}

static struct kmsg_dumper netoops_dumper = {
	.dump		= netoops_kmsg_dump,
	.max_reason	= KMSG_DUMP_OOPS,
};

/* Device side of targets */

static void netoops_tx_free(struct netoops_tx *tx)
{
	unsigned int i;

	ASSERT_RTNL();
	do_netpoll_cleanup(&tx->np);
	/* A buffer the driver still has is freed when it lets go. */
	for (i = 0; i < NETOOPS_RING; i++)
		kfree_skb(tx->skbs[i]);
	kfree(tx);
}

/*
 * Whether netoops can send through @dev itself: 0, or -EOPNOTSUPP for a
 * device whose transmit path goes through other devices (their locks,
 * netpoll's deferral), -EBUSY for a device enslaved to a master. Says why
 * in the kernel log if @warn.
 */
static int netoops_dev_check(struct net_device *dev, bool warn)
{
	const char *why = NULL;
	int err = -EOPNOTSUPP;

	if (netdev_master_upper_dev_get(dev)) {
		why = "enslaved to another device";
		err = -EBUSY;
	}
	if (dev->priv_flags & IFF_DISABLE_NETPOLL)
		why = "does not support netpoll";
	if (dev->priv_flags & IFF_NO_QUEUE)
		why = "stacked or virtual (VLAN, bond, bridge, macvlan, veth)";
	if (dev->type != ARPHRD_ETHER || dev->addr_len != ETH_ALEN)
		why = "not an Ethernet device";
	if (!why)
		return 0;
	if (warn)
		pr_warn("%s: cannot send through it: %s\n", dev->name, why);
	return err;
}

/* Set up sending through @dev, which is up. Called under RTNL. */
static struct netoops_tx *netoops_tx_create(struct net_device *dev,
					    bool ipv6)
{
	unsigned int i, size, ip_len;
	struct netoops_tx *tx;
	int err;

	ASSERT_RTNL();

	tx = netoops_zalloc(sizeof(*tx));
	if (!tx)
		return ERR_PTR(-ENOMEM);

	ip_len = ipv6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	tx->headroom = LL_RESERVED_SPACE(dev);
	size = tx->headroom + ETH_HLEN + ip_len + sizeof(struct udphdr) +
	       NETOOPS_MAX_UDP + dev->needed_tailroom;

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
 * no dump uses it (a dump in progress, not a panic, stops at its next
 * packet) and free it. Called under RTNL.
 */
static void netoops_target_detach(struct netoops_target *nt,
				  enum netoops_state state)
{
	struct netoops_tx *tx = rtnl_dereference(nt->tx);

	WRITE_ONCE(nt->state, state);
	if (!tx)
		return;
	RCU_INIT_POINTER(nt->tx, NULL);
	WRITE_ONCE(netoops_stop, netoops_stop + 1);
	synchronize_rcu();
	netoops_tx_free(tx);
}

/*
 * Bring @nt in line with the device of its name: active when the device is
 * up and usable, else without a device side. Never opens a device. Called
 * under RTNL; may sleep.
 */
static int netoops_target_sync(struct netoops_target *nt)
{
	struct netoops_tx *tx = rtnl_dereference(nt->tx);
	struct net_device *dev;
	int err;

	ASSERT_RTNL();

	dev = __dev_get_by_name(&init_net, nt->dev_name);
	if (tx && tx->np.dev == dev && netif_running(dev) &&
	    !netoops_dev_check(dev, false))
		return 0;

	netoops_target_detach(nt, dev ? NETOOPS_DOWN : NETOOPS_PARKED);
	if (!dev)
		return -ENODEV;
	if (!netif_running(dev))
		return -ENETDOWN;
	err = netoops_dev_check(dev, true);
	if (err)
		return err;

	tx = netoops_tx_create(dev, nt->ipv6);
	if (IS_ERR(tx)) {
		pr_warn("%s: cannot set up: %pe\n", dev->name, tx);
		return PTR_ERR(tx);
	}
	/* NAPI polls that started before npinfo was visible are over. */
	synchronize_rcu();
	rcu_assign_pointer(nt->tx, tx);
	WRITE_ONCE(nt->state, NETOOPS_ACTIVE);
	return 0;
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
		break;
	default:
		return NOTIFY_DONE;
	}

	cfg = netoops_config_locked();
	for (i = 0; i < NETOOPS_MAX_TARGETS; i++) {
		struct netoops_target *nt = cfg->targets[i];
		struct netoops_tx *tx;
		bool mine, named;

		if (!nt)
			continue;
		tx = rtnl_dereference(nt->tx);
		mine = tx && tx->np.dev == dev;
		named = !strcmp(dev->name, nt->dev_name);

		switch (event) {
		case NETDEV_GOING_DOWN:
			/* It comes back when the admin brings it up. */
			if (mine)
				netoops_target_detach(nt, NETOOPS_DOWN);
			break;
		case NETDEV_UNREGISTER:
			if (mine || (!tx && named))
				netoops_target_detach(nt, NETOOPS_PARKED);
			break;
		case NETDEV_CHANGENAME:
			/* Renamed away, or a device took the name. */
			if (mine || named || !tx)
				netoops_target_sync(nt);
			break;
		default:
			/* Registered, came up, or joined or left a master. */
			if (mine || named)
				netoops_target_sync(nt);
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
	 * always asked for, so that an oops inside a dump ends it.
	 */
	if (mask & BIT(NETOOPS_REASON_SHUTDOWN))
		return KMSG_DUMP_SHUTDOWN;
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
	unsigned int seen = 0;
	bool src6 = false, dst6 = false;
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
		err = netoops_target_sync(nt);
		if (err) {
			if (err == -ENODEV || err == -ENETDOWN)
				pr_warn("%s: %s\n", nt->dev_name, err == -ENODEV ?
					"no such device" :
					"device is down, bring it up first");
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
	int idx = (long)table->extra1;
	char line[NETOOPS_LINE_MAX + 1];
	struct netoops_target *nt = NULL;
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
		nt = netoops_zalloc(sizeof(*nt));
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

static int netoops_test_handler(const struct ctl_table *table, int write,
				void *buffer, size_t *lenp, loff_t *ppos)
{
	char line[NETOOPS_LINE_MAX + 1];
	long sent;
	int err;

	err = netoops_get_line(line, buffer, *lenp, ppos);
	if (err)
		return err;
	if (strcmp(line, "1"))
		return -EINVAL;

	/* A dump from process context; a real dump makes this one stop. */
	sent = netoops_dump(NETOOPS_REASON_TEST, "netoops test dump");
	if (sent < 0)
		return sent;
	/* No device took a single packet: say so. */
	if (!sent)
		return -EIO;

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

	cfg = netoops_zalloc(sizeof(*cfg));
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

	netoops_sysctl_header = register_sysctl("kernel/netoops",
						netoops_sysctl_table);
	if (!netoops_sysctl_header) {
		err = -ENOMEM;
		goto unregister_dumper;
	}
	netoops_fault_init();

	return 0;

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
