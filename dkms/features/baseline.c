// SPDX-License-Identifier: GPL-2.0
/* Must always compile: proves the compiler and the headers work at all. */
#include <linux/module.h>
#include <linux/netpoll.h>

int netoops_feature_baseline(struct netpoll *np);
int netoops_feature_baseline(struct netpoll *np)
{
	return np->dev ? 1 : 0;
}
