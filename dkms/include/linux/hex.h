/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Found only where the kernel has no linux/hex.h: Kbuild puts this
 * directory after the kernel's own include directories. Before 7.x the
 * hex helpers and mac_pton() were declared in linux/kernel.h.
 */
#ifndef NETOOPS_COMPAT_LINUX_HEX_H
#define NETOOPS_COMPAT_LINUX_HEX_H
#include <linux/kernel.h>
#endif
