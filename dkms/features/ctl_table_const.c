// SPDX-License-Identifier: GPL-2.0
/* 6.11+: proc_handler takes a const struct ctl_table *. */
#include <linux/sysctl.h>

static int netoops_feature_handler(const struct ctl_table *table, int write,
				   void *buffer, size_t *lenp, loff_t *ppos)
{
	return 0;
}

struct ctl_table netoops_feature_table[] = {
	{
		.procname	= "feature",
		.mode		= 0644,
		.proc_handler	= netoops_feature_handler,
	},
};
