// SPDX-License-Identifier: GPL-2.0
/* struct netdev_queue says which NAPI instance serves it (6.12, 7.2; not 6.1). */
#include <linux/netdevice.h>

struct napi_struct *netoops_feature_txq_napi(struct netdev_queue *txq);
struct napi_struct *netoops_feature_txq_napi(struct netdev_queue *txq)
{
	return READ_ONCE(txq->napi);
}
