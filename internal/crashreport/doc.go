// Package crashreport finds the crash reports in a kernel log and names
// each one the same way on every machine.
//
// Extract takes a log as the catcher stores it (syslog-format lines, a
// marker line where bytes are missing) and the missing byte ranges, and
// returns each report it finds (Oops, BUG, WARNING, general protection
// fault, kernel BUG at, soft and hard lockups, hung tasks, RCU stalls,
// KASAN, KFENCE, UBSAN, list corruption, refcount_t, stack-protector,
// double fault, Kernel panic, ...) with:
//
//   - a title in syzbot's style, "BUG: kernel NULL pointer dereference in
//     lkdtm_EXCEPTION", "WARNING in lkdtm_WARNING", "kernel panic: sysrq
//     triggered crash", with every number, address, PID, CPU and process
//     name left out;
//   - the guilty frame: the first frame of the code the report is about
//     that is neither the kernel's reporting machinery (panic, dump_stack,
//     __warn, the trap handlers) nor a generic helper (printk, locks,
//     allocators, string and copy routines, ...); LKDTM's crash functions
//     (lkdtm_*) are never skipped;
//   - the top frames from the guilty one down, without offsets, modules or
//     compiler suffixes (.cold, .isra.0, .constprop.0);
//   - a signature: a hash of title, guilty frame and reliable top frames,
//     stable across machines, boots and kernel builds (SignatureVersion);
//   - whether it is corrupted: missing bytes fall where the report needs
//     them, so the title may be wrong or incomplete;
//   - whether it is primary (the log's first report, the cause) or a
//     secondary one (the panic after an oops);
//   - its byte range in the log, for highlighting.
//
// The rules (formats, skip lists, what counts as corrupted, the stability
// promise) are in docs/crash-titles.md.
//
// Extract reads the log once, line by line, and allocates only for the
// reports it finds; it never fails and never panics on any input.
package crashreport
