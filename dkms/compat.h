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
 * The sections stand in for interfaces, never for the driver's logic.
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

/*
 * Kbuild refuses kernels without netpoll first (and PREEMPT_RT ones, which
 * the driver refuses itself); this catches a build that bypasses Kbuild.
 */
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

#endif /* NETOOPS_COMPAT_H */
