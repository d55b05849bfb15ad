/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - build drivers/net/netoops.c, unchanged, for a distribution
 * kernel whose interfaces differ from the ones the driver is written for.
 *
 * Kbuild force-includes this file (-include) in front of netoops.c, so
 * everything here is seen before the driver's own first line. Each section
 * is chosen by a feature test, never by a kernel version: stable series and
 * distributions backport interface changes, so a version number lies. The
 * Makefile compiles features/<name>.c against the target kernel's headers
 * (types and signatures) and looks up the symbols of features/exports in its
 * Module.symvers (a function's declaration does not mean it is exported);
 * the answers are NETOOPS_HAVE_<NAME> in the generated netoops-features.h.
 *
 * The sections stand in for interfaces, never for the driver's logic; where
 * one has to bridge an interface the kernel no longer has at all, it says
 * so and does what that interface did.
 */
#ifndef NETOOPS_COMPAT_H
#define NETOOPS_COMPAT_H

#include "netoops-features.h"

/*
 * The driver's own message prefix, defined before any kernel header gives
 * pr_fmt its default; the driver's identical definition then is no
 * redefinition.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/*
 * Every header the driver includes, and the networking headers it may,
 * come first: the ctl_table section below renames struct ctl_table for the
 * code that follows it, and kernel headers must see the real name.
 */
#include <linux/atomic.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/fault-inject.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/inet.h>
#include <linux/inetdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
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
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysctl.h>
#include <linux/timekeeping.h>
#include <linux/udp.h>
#include <linux/utsname.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <net/addrconf.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ipv6.h>
#include <net/udp.h>
/*
 * 7.x moved mac_pton() and the hex helpers out of kernel.h into this header;
 * Kbuild's include/ stands in for it on older kernels. (Not __has_include():
 * with gcc 12, an #include of a header __has_include() did not find is then
 * silently skipped, gcc bug 80753, which would hide a missing header.)
 */
#include <linux/hex.h>

/* Kbuild refuses these kernels first; this catches a build that bypasses it. */
#ifdef CONFIG_PREEMPT_RT
#error "netoops: PREEMPT_RT kernels are not supported; use a non-rt kernel flavour"
#endif
#if !IS_ENABLED(CONFIG_NETPOLL)
#error "netoops: this kernel has no CONFIG_NETPOLL"
#endif

/*
 * The out-of-tree build says which netoops it is (modinfo, /sys/module/
 * netoops/version); the driver in the kernel tree has no MODULE_VERSION.
 */
#ifdef NETOOPS_MODULE_VERSION
MODULE_VERSION(NETOOPS_MODULE_VERSION);
#endif

/*
 * kmsg_dumper.dump: since 6.12 it gets a struct kmsg_dump_detail (the
 * reason and a description, the panic message); before, the bare reason.
 *
 * The driver defines netoops_kmsg_dump(dumper, detail) and puts it in its
 * dumper's .dump. The macro renames that definition (and any call) to
 * netoops_kmsg_dump_detail(); the bare name, used without parentheses in
 * the initializer, is left to the function below, which has the old type
 * and passes the reason on. There is no description: the reason text of a
 * dump is empty on these kernels (the log still holds the panic message).
 */
#ifndef NETOOPS_HAVE_KMSG_DUMP_DETAIL
struct kmsg_dump_detail {
	enum kmsg_dump_reason reason;
	const char *description;
};

static void netoops_kmsg_dump_detail(struct kmsg_dumper *dumper,
				     struct kmsg_dump_detail *detail);

static void netoops_kmsg_dump(struct kmsg_dumper *dumper,
			      enum kmsg_dump_reason reason)
{
	struct kmsg_dump_detail detail = { .reason = reason };

	netoops_kmsg_dump_detail(dumper, &detail);
}

#define netoops_kmsg_dump(dumper, detail) \
	netoops_kmsg_dump_detail(dumper, detail)
#endif

/*
 * sysctl tables: since 6.11 a proc_handler takes a const struct ctl_table;
 * since 6.13 register_sysctl_sz() takes a const table too, which can stay
 * in rodata. Before 6.6 register_sysctl() needs a table ending with an
 * empty entry, which 6.11+ refuses; the driver's table has none.
 *
 * Where handlers take a non-const table (before 6.11), struct ctl_table is
 * renamed for the driver to a struct of the same fields whose handler takes
 * a const one, so the driver's table and handlers compile as they are.
 * Registering copies it into a real, terminated ctl_table whose entries all
 * call one trampoline, which calls the driver's handler with the driver's
 * entry (kept in the real entry's extra2; the kernel reads extra1/extra2
 * only in its own proc_* handlers, which this table does not use).
 *
 * Where handlers are const but registering wants a writable table (6.11,
 * 6.12), registering copies the driver's table as it is.
 *
 * Either way the copy is freed after unregistering: the header keeps the
 * table it was registered with (ctl_table_arg).
 */
#ifndef NETOOPS_HAVE_CTL_TABLE_CONST
struct netoops_compat_ctl_table {
	const char *procname;
	void *data;
	int maxlen;
	umode_t mode;
	int (*proc_handler)(const struct netoops_compat_ctl_table *table,
			    int write, void *buffer, size_t *lenp,
			    loff_t *ppos);
	void *extra1;
	void *extra2;
};

static int netoops_compat_proc_handler(struct ctl_table *table, int write,
				       void *buffer, size_t *lenp,
				       loff_t *ppos)
{
	const struct netoops_compat_ctl_table *entry = table->extra2;

	return entry->proc_handler(entry, write, buffer, lenp, ppos);
}

static struct ctl_table_header *
netoops_compat_register_sysctl(const char *path,
			       const struct netoops_compat_ctl_table *entries,
			       size_t n)
{
	struct ctl_table_header *header;
	struct ctl_table *table;
	size_t i;

	/* n + 1: the last entry stays zero, the terminator. */
	table = kcalloc(n + 1, sizeof(*table), GFP_KERNEL);
	if (!table)
		return NULL;
	for (i = 0; i < n; i++) {
		table[i].procname = entries[i].procname;
		table[i].data = entries[i].data;
		table[i].maxlen = entries[i].maxlen;
		table[i].mode = entries[i].mode;
		table[i].proc_handler = netoops_compat_proc_handler;
		table[i].extra2 = (void *)&entries[i];
	}
#ifdef NETOOPS_HAVE_REGISTER_SYSCTL_SZ
	header = register_sysctl_sz(path, table, n);
#else
	header = register_sysctl(path, table);
#endif
	if (!header)
		kfree(table);
	return header;
}
#define NETOOPS_COMPAT_SYSCTL_COPY
#elif !defined(NETOOPS_HAVE_REGISTER_SYSCTL_CONST)
static struct ctl_table_header *
netoops_compat_register_sysctl(const char *path,
			       const struct ctl_table *entries, size_t n)
{
	struct ctl_table_header *header;
	struct ctl_table *table;

	table = kmemdup(entries, n * sizeof(*entries), GFP_KERNEL);
	if (!table)
		return NULL;
	header = register_sysctl_sz(path, table, n);
	if (!header)
		kfree(table);
	return header;
}
#define NETOOPS_COMPAT_SYSCTL_COPY
#endif

#ifdef NETOOPS_COMPAT_SYSCTL_COPY
static void netoops_compat_unregister_sysctl(struct ctl_table_header *header)
{
	struct ctl_table *table;

	if (!header)
		return;
	table = (struct ctl_table *)header->ctl_table_arg;
	unregister_sysctl_table(header);
	kfree(table);
}

#undef register_sysctl
#define register_sysctl(path, table) \
	netoops_compat_register_sysctl(path, table, ARRAY_SIZE(table))
#define unregister_sysctl_table(header) \
	netoops_compat_unregister_sysctl(header)
#endif

#ifndef NETOOPS_HAVE_CTL_TABLE_CONST
#define ctl_table netoops_compat_ctl_table
#endif

/*
 * do_netpoll_cleanup() (6.9+): netpoll_cleanup() for a caller that holds
 * RTNL. Older kernels export its parts; this is what 6.9 made of them.
 */
#ifndef NETOOPS_HAVE_DO_NETPOLL_CLEANUP
static inline void do_netpoll_cleanup(struct netpoll *np)
{
	__netpoll_cleanup(np);
	netdev_put(np->dev, &np->dev_tracker);
	np->dev = NULL;
}
#endif

/*
 * log_buf_len_get() is exported only by kernels with netoops's own export
 * patch, for a driver that sizes its log copy from it. Elsewhere, give the
 * size the kernel chooses by itself (setup_log_buf(): CONFIG_LOG_BUF_SHIFT,
 * grown for many CPUs); a larger log_buf_len= on the command line is not
 * seen, and a dump that does not fit says it is truncated.
 */
#ifndef NETOOPS_HAVE_LOG_BUF_LEN_GET
static inline u32 netoops_compat_log_buf_len(void)
{
	u32 len = 1U << CONFIG_LOG_BUF_SHIFT;
	u32 extra = (num_possible_cpus() - 1) *
		    (1U << CONFIG_LOG_CPU_MAX_BUF_SHIFT);

	if (extra > len / 2)
		len = roundup_pow_of_two(len + extra);
	return len;
}

#define log_buf_len_get() netoops_compat_log_buf_len()
#endif

/*
 * netpoll_send_udp() left netpoll in 7.2 (net-next: "netconsole: move
 * netpoll_send_udp() from netpoll"); what stays exported is
 * netpoll_send_skb(). For a driver that still calls netpoll_send_udp(),
 * this builds the same frame that function built and sends it the same way:
 * an skb from GFP_ATOMIC, else from the netpoll's pool (filled by
 * netpoll_setup()), UDP in IPv4 or IPv6 in Ethernet, to np->remote_mac. A
 * packet that finds no skb is dropped, as the kernel's function gave up
 * after its retries.
 */
#ifndef NETOOPS_HAVE_NETPOLL_SEND_UDP
static inline void netoops_compat_send_udp(struct netpoll *np,
					   const char *msg, int len)
{
	struct net_device *dev = np->dev;
	int ip_len = np->ipv6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	int udp_len = len + sizeof(struct udphdr);
	int reserve = LL_RESERVED_SPACE(dev) + ip_len + sizeof(struct udphdr);
	int size = reserve + len + dev->needed_tailroom;
	struct sk_buff *skb;
	struct udphdr *udph;
	struct ethhdr *eth;

	skb = alloc_skb(size, GFP_ATOMIC);
	if (!skb) {
		skb = skb_dequeue(&np->skb_pool);
		if (skb && skb_tailroom(skb) < size) {
			kfree_skb(skb);
			skb = NULL;
		}
	}
	if (!skb)
		return;

	skb_reserve(skb, reserve);
	skb_put_data(skb, msg, len);

	udph = skb_push(skb, sizeof(*udph));
	skb_reset_transport_header(skb);
	udph->source = htons(np->local_port);
	udph->dest = htons(np->remote_port);
	udph->len = htons(udp_len);
	udph->check = 0;

	if (np->ipv6) {
		struct ipv6hdr *ip6h;

		udph->check = csum_ipv6_magic(&np->local_ip.in6,
					      &np->remote_ip.in6, udp_len,
					      IPPROTO_UDP,
					      csum_partial(udph, udp_len, 0));
		if (!udph->check)
			udph->check = CSUM_MANGLED_0;

		ip6h = skb_push(skb, sizeof(*ip6h));
		skb_reset_network_header(skb);
		ip6_flow_hdr(ip6h, 0, 0);
		ip6h->payload_len = htons(udp_len);
		ip6h->nexthdr = IPPROTO_UDP;
		ip6h->hop_limit = 32;
		ip6h->saddr = np->local_ip.in6;
		ip6h->daddr = np->remote_ip.in6;
		skb->protocol = htons(ETH_P_IPV6);
	} else {
		struct iphdr *iph;

		udph->check = csum_tcpudp_magic(np->local_ip.ip,
						np->remote_ip.ip, udp_len,
						IPPROTO_UDP,
						csum_partial(udph, udp_len, 0));
		if (!udph->check)
			udph->check = CSUM_MANGLED_0;

		iph = skb_push(skb, sizeof(*iph));
		skb_reset_network_header(skb);
		iph->version = 4;
		iph->ihl = 5;
		iph->tos = 0;
		iph->tot_len = htons(sizeof(*iph) + udp_len);
		iph->id = 0;
		iph->frag_off = 0;
		iph->ttl = 64;
		iph->protocol = IPPROTO_UDP;
		iph->check = 0;
		iph->saddr = np->local_ip.ip;
		iph->daddr = np->remote_ip.ip;
		ip_send_check(iph);
		skb->protocol = htons(ETH_P_IP);
	}

	eth = skb_push(skb, ETH_HLEN);
	skb_reset_mac_header(skb);
	ether_addr_copy(eth->h_source, dev->dev_addr);
	ether_addr_copy(eth->h_dest, np->remote_mac);
	eth->h_proto = skb->protocol;
	skb->dev = dev;

	netpoll_send_skb(np, skb);
}

#define netpoll_send_udp(np, msg, len) netoops_compat_send_udp(np, msg, len)
#endif

#endif /* NETOOPS_COMPAT_H */
