// SPDX-License-Identifier: GPL-2.0
/* 7.0+ (and 6.12.y): kzalloc_obj(), sized by the object it allocates. */
#include <linux/slab.h>

struct netoops_feature_obj {
	int x;
};

void *netoops_feature_kzalloc_obj(void);
void *netoops_feature_kzalloc_obj(void)
{
	struct netoops_feature_obj *p = kzalloc_obj(*p);

	return p;
}
