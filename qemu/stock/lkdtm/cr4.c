// SPDX-License-Identifier: GPL-2.0
/* See Kbuild: stands in for native_write_cr4(), which this LKDTM cannot use. */
#include <linux/printk.h>
#include <asm/special_insns.h>

void native_write_cr4(unsigned long val)
{
	pr_err("lkdtm: native_write_cr4() is not exported to an out-of-tree LKDTM; CR4 left as it is\n");
}
