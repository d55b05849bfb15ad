// SPDX-License-Identifier: GPL-2.0
/* 6.12+: LLTX is dev->lltx, no longer the NETIF_F_LLTX feature bit. */
#include <linux/netdevice.h>

bool netoops_feature_netdev_lltx(struct net_device *dev);
bool netoops_feature_netdev_lltx(struct net_device *dev)
{
	return dev->lltx;
}
