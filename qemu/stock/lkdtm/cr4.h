/* SPDX-License-Identifier: GPL-2.0 */
/* See Kbuild: native_write_cr4() is not exported to an out-of-tree LKDTM. */
#define native_write_cr4 lkdtm_e2e_native_write_cr4
