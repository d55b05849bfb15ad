// SPDX-License-Identifier: GPL-2.0
/*
 * 6.12+: kmsg_dumper.dump(dumper, struct kmsg_dump_detail *), with the
 * reason and a short description. 6.1 passes the bare reason.
 */
#include <linux/kmsg_dump.h>

static void netoops_feature_dump(struct kmsg_dumper *dumper,
				 struct kmsg_dump_detail *detail)
{
	(void)detail->description;
}

struct kmsg_dumper netoops_feature_dumper = {
	.dump = netoops_feature_dump,
};
