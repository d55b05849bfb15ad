// SPDX-License-Identifier: GPL-2.0
/*
 * 6.13+: register_sysctl_sz() takes a const table, which can live in
 * rodata. 6.11 and 6.12 have const handlers but still want a writable one.
 */
#include <linux/sysctl.h>

static const struct ctl_table netoops_feature_table[] = {
	{
		.procname	= "feature",
		.mode		= 0444,
	},
};

struct ctl_table_header *netoops_feature_register(void);
struct ctl_table_header *netoops_feature_register(void)
{
	return register_sysctl_sz("netoops_feature", netoops_feature_table, 1);
}
