// SPDX-License-Identifier: GPL-2.0
/* Each netpoll has its own pool of socket buffers (6.12, 7.2; 6.1 has one global pool). */
#include <linux/netpoll.h>

void netoops_feature_netpoll_skb_pool(struct netpoll *np);
void netoops_feature_netpoll_skb_pool(struct netpoll *np)
{
	skb_queue_purge(&np->skb_pool);
}
