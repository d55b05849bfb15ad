package crashreport

import "strings"

// The guilty frame is the first frame of the report's context that no
// rule below matches. A rule is a function name ("panic"), a prefix
// ("kasan_*"), a suffix ("*_slowpath") or a substring ("*_thunk_*"),
// matched against the normalised name (no ".cold"/".isra.0" suffix).
// docs/crash-titles.md lists the same rules; a test keeps the two equal.

// reportingRules are the kernel's own reporting and trap machinery: the
// code that prints a report, never the code at fault.
var reportingRules = []string{
	"panic", "vpanic", "nmi_panic", "check_panic_on_warn", "do_panic",
	"dump_stack", "dump_stack_lvl", "show_stack", "show_regs", "__show_regs",
	"show_trace_log_lvl", "__show_trace_log_lvl", "show_regs_if_on_stack",
	"dump_backtrace", "print_tainted", "print_modules",
	"__warn", "warn_slowpath_fmt", "warn_slowpath_null", "__warn_printk", "warn_slowpath*",
	"report_bug", "__report_bug", "report_bug_entry", "handle_bug", "fixup_bug",
	"die", "__die", "die_addr", "__die_body", "__die_header", "oops_begin", "oops_end",
	"do_trap", "do_error_trap", "do_int3", "do_int3_user", "math_error",
	"exc_*", "asm_exc_*", "handle_invalid_op", "handle_stack_overflow",
	"page_fault_oops", "kernelmode_fixup_or_oops", "bad_area", "bad_area_nosemaphore",
	"__bad_area_nosemaphore", "__bad_area", "do_user_addr_fault", "do_kern_addr_fault",
	"handle_page_fault", "no_context", "spurious_kernel_fault", "fixup_exception", "ex_handler_*",
	"do_mem_abort", "do_translation_fault", "do_page_fault", "__do_kernel_fault", "die_kernel_fault",
	"el1_abort", "el1h_64_sync", "el1h_64_sync_handler", "el1_dbg", "el1_undef", "bug_handler",
	"nmi_cpu_backtrace", "nmi_trigger_cpumask_backtrace", "arch_trigger_cpumask_backtrace",
	"trigger_single_cpu_backtrace", "trigger_all_cpu_backtrace", "dump_cpu_task",
	"sched_show_task", "show_state_filter", "__schedule_bug",
	"__stack_chk_fail", "__stack_chk_fail_local", "stackleak_*",
	"kasan_*", "__kasan_*", "__asan_*", "kfence_*", "__kfence_*", "kmsan_*", "__msan_*",
	"kcsan_*", "__kcsan_*", "__tsan_*", "__ubsan_*", "ubsan_*", "handle_overflow",
	"__sanitizer_*", "print_report", "print_address_description", "describe_object*",
	"check_memory_region", "check_region_inline", "check_heap_object", "check_object",
	"__check_object_size", "__check_heap_object", "usercopy_abort", "usercopy_warn",
	"stack_trace_*", "arch_stack_walk", "stack_depot_*",
	"__list_add_valid*", "__list_del_entry_valid*", "__list_valid_slowpath",
	"refcount_*", "__refcount_*", "kref_*",
	"fortify_panic", "__fortify_panic", "__fortify_report", "__fortify_*",
}

// helperRules are generic helpers a buggy caller passes through: printk,
// locks, allocation, string and user-copy routines, thunks, list and rb
// tree primitives, and the entry code at the bottom of every stack.
var helperRules = []string{
	// printk and consoles
	"printk", "_printk", "vprintk", "vprintk_*", "printk_*", "__printk_*", "console_*",
	"dev_printk", "_dev_printk", "__dev_printk", "_dev_err", "_dev_warn", "_dev_info",
	"_dev_notice", "_dev_crit", "_dev_alert", "_dev_emerg", "__dynamic_pr_debug",
	"vsnprintf", "snprintf", "scnprintf", "sprintf", "vscnprintf", "kvasprintf", "kasprintf",
	// locks
	"_raw_spin_*", "_raw_read_*", "_raw_write_*", "do_raw_spin_*", "do_raw_read_*",
	"do_raw_write_*", "raw_spin_*", "spin_*", "queued_spin_*", "native_queued_spin_lock_slowpath",
	"__pv_queued_spin_lock_slowpath", "queued_read_lock_slowpath", "queued_write_lock_slowpath",
	"lock_acquire", "lock_release", "__lock_acquire", "lock_acquired", "lock_contended",
	"lockdep_*", "__lockdep_*", "mutex_lock*", "mutex_unlock", "mutex_trylock",
	"__mutex_*", "rt_mutex_*", "__rt_mutex_*", "rt_spin_*", "down", "down_*", "__down_*", "up",
	"up_read", "up_write", "rwsem_*", "__rwsem_*", "osq_lock", "osq_unlock",
	"percpu_down_*", "percpu_up_*", "__percpu_down_*", "spin_dump", "spin_bug",
	"local_bh_enable", "__local_bh_enable_ip", "local_bh_disable", "__local_bh_disable_ip",
	// allocation
	"kmalloc", "kmalloc_node", "kmalloc_array", "kmalloc_array_node", "kmalloc_trace",
	"kmalloc_large", "kmalloc_large_node", "kmalloc_node_trace", "__kmalloc*", "*_noprof",
	"kmem_cache_alloc*", "kmem_cache_free", "kmem_cache_zalloc", "__kmem_cache_*",
	"kfree", "kvfree", "kfree_sensitive", "kfree_rcu*", "kvfree_call_rcu", "kvmalloc",
	"kvmalloc_node", "kvzalloc", "kvcalloc", "__kvmalloc*", "kzalloc", "kzalloc_node",
	"kcalloc", "kcalloc_node", "krealloc", "krealloc_array", "__krealloc", "kstrdup",
	"kstrndup", "kstrdup_const", "kmemdup", "kmemdup_nul", "memdup_user", "memdup_user_nul",
	"vmalloc", "vmalloc_node", "vzalloc", "vzalloc_node", "__vmalloc*", "vmalloc_user",
	"vfree", "__vfree", "slab_*", "__slab_*", "___slab_alloc", "alloc_pages*",
	"__alloc_pages*", "__get_free_pages", "get_page_from_freelist", "free_pages",
	"__free_pages", "folio_alloc*", "mempool_alloc", "mempool_free", "should_fail*",
	"should_failslab", "alloc_slab_page", "allocate_slab", "new_slab",
	// string, memory and user copies
	"memcpy", "memmove", "memset", "memcmp", "memchr", "__memcpy*", "__memset*",
	"__memmove*", "memcpy_*", "strcpy", "strncpy", "strscpy", "strscpy_pad", "strlcpy",
	"strcat", "strncat", "strlcat", "strcmp", "strncmp", "strlen", "strnlen",
	"strchr", "strrchr", "strstr", "strnstr", "strdup", "strndup", "sized_strscpy",
	"copy_to_user", "copy_from_user", "_copy_to_user", "_copy_from_user", "__copy_*",
	"raw_copy_*", "copy_user_*", "rep_movs_alternative", "rep_stos_alternative",
	"__get_user_*", "__put_user_*", "copy_to_iter", "copy_from_iter", "_copy_to_iter",
	"_copy_from_iter", "copy_page_to_iter", "copy_page_from_iter",
	"__might_fault", "__might_sleep", "__might_resched", "might_fault", "__cond_resched",
	// thunks and instrumentation
	"*_indirect_thunk_*", "__x86_return_thunk", "srso_*", "__x86_indirect_*",
	"__fentry__", "ftrace_*",
	// lists and trees
	"list_add*", "list_del*", "list_move*", "list_replace*", "list_splice*",
	"hlist_add*", "hlist_del*", "rb_*", "__rb_*",
	// the bottom of every stack
	"do_syscall_64", "do_syscall_32_irqs_on", "do_int80_syscall_32", "do_fast_syscall_32",
	"x64_sys_call", "ia32_sys_call", "entry_SYSCALL_*", "entry_SYSENTER_*", "entry_INT80_*",
	"ret_from_fork", "ret_from_fork_asm", "kthread", "worker_thread", "process_one_work",
	"process_scheduled_works", "smpboot_thread_fn", "start_kernel", "rest_init",
	"kernel_init", "secondary_startup_64*", "x86_64_start_*", "common_startup_64",
	"el0_svc", "el0t_64_sync", "el0t_64_sync_handler", "invoke_syscall", "el0_svc_common*",
	"do_el0_svc",
}

// interruptRules are the way in of interrupts, softirqs and timers.
// They are skipped for every report; for stalls the frames of the
// interrupt that found the stall are left out altogether.
var interruptRules = []string{
	"asm_sysvec_*", "sysvec_*", "__sysvec_*", "asm_common_interrupt", "common_interrupt",
	"asm_call_irq_on_stack", "asm_call_on_stack", "call_on_stack", "do_softirq_own_stack",
	"irq_exit_rcu", "__irq_exit_rcu", "irq_exit", "handle_softirqs", "__do_softirq",
	"do_softirq", "hrtimer_interrupt", "__hrtimer_run_queues", "hrtimer_run_queues",
	"__run_hrtimer", "tick_sched_timer", "tick_sched_handle", "tick_nohz_handler",
	"tick_handle_periodic", "tick_periodic", "update_process_times", "irq_work_*",
	"__irq_work_*", "default_do_nmi", "nmi_handle", "exc_nmi", "asm_exc_nmi",
	"end_repeat_nmi", "repeat_nmi", "nmi_restore", "do_IRQ", "ret_from_intr",
	"apic_timer_interrupt", "smp_apic_timer_interrupt",
	"handle_irq_event*", "handle_edge_irq", "handle_level_irq", "__handle_irq_event_percpu",
	"el1_interrupt", "el1h_64_irq", "el1h_64_irq_handler", "gic_handle_irq",
}

// stallRules: for soft and hard lockups and RCU stalls, the watchdogs and
// the RCU core that detect them.
var stallRules = []string{
	"watchdog_timer_fn", "softlockup_fn", "watchdog_overflow_callback",
	"watchdog_hardlockup_check", "watchdog_buddy_check_hardlockup", "watchdog_check_*",
	"perf_event_nmi_handler", "perf_event_overflow", "__perf_event_overflow",
	"x86_pmu_handle_irq", "intel_pmu_handle_irq", "amd_pmu_handle_irq",
	"rcu_*", "__rcu_*", "print_cpu_stall", "print_other_cpu_stall", "check_cpu_stall",
	"rcu_dump_cpu_stacks",
}

// hangRules: for hung tasks, the scheduler and the waits a blocked task
// sleeps in; the scheduler also for "BUG: scheduling while atomic".
var hangRules = []string{
	"__schedule", "schedule", "schedule_*", "io_schedule", "io_schedule_*",
	"__switch_to", "__switch_to_asm", "context_switch", "__wait_for_common",
	"wait_for_common", "do_wait_for_common", "wait_for_completion*", "__wait_rcu_gp",
	"bit_wait*", "out_of_line_wait_on_bit*", "__wait_on_bit*", "__folio_lock*",
	"folio_wait_bit*", "__wait_on_buffer", "msleep", "msleep_interruptible",
	"usleep_range_state", "schedule_idle", "do_task_dead", "rwsem_down_*", "__down_common",
	"__mutex_lock*", "mutex_lock*", "down_*", "__rt_mutex_slowlock*",
}

// lockdepRules: for lockdep reports, lockdep's own walk.
var lockdepRules = []string{
	"__lock_acquire", "lock_acquire", "validate_chain", "check_prev_add", "check_prevs_add",
	"check_noncircular", "check_deadlock", "print_circular_bug", "print_deadlock_bug",
	"print_usage_bug", "mark_lock", "mark_usage", "lockdep_*", "__lockdep_*",
	"lock_is_held*", "debug_check_no_locks_*", "lockdep_rcu_suspicious",
}

// matcher holds compiled rules.
type matcher struct {
	exact    map[string]bool
	prefix   []string
	suffix   []string
	contains []string
}

func newMatcher(lists ...[]string) *matcher {
	m := &matcher{exact: map[string]bool{}}
	for _, l := range lists {
		for _, r := range l {
			switch {
			case len(r) > 2 && r[0] == '*' && r[len(r)-1] == '*':
				m.contains = append(m.contains, r[1:len(r)-1])
			case len(r) > 1 && r[len(r)-1] == '*':
				m.prefix = append(m.prefix, r[:len(r)-1])
			case len(r) > 1 && r[0] == '*':
				m.suffix = append(m.suffix, r[1:])
			default:
				m.exact[r] = true
			}
		}
	}
	return m
}

func (m *matcher) match(name string) bool {
	if m.exact[name] {
		return true
	}
	for _, p := range m.prefix {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, s := range m.suffix {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	for _, s := range m.contains {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

var (
	baseSkip    = newMatcher(reportingRules, helperRules, interruptRules)
	stallSkip   = newMatcher(stallRules)
	hangSkip    = newMatcher(hangRules)
	lockdepSkip = newMatcher(lockdepRules)
)

// neverSkipped are the functions a title must name even where a rule
// would match: LKDTM's crash types (lkdtm_BUG, lkdtm_CORRUPT_LIST_ADD,
// lkdtm_REFCOUNT_INC_OVERFLOW, ...) are the code at fault by design.
func neverSkipped(name string) bool {
	return strings.HasPrefix(name, "lkdtm_")
}

// isHelper reports whether name is skipped when looking for the guilty
// frame of a report of kind k (sched: the report is about scheduling).
func isHelper(k Kind, sched bool, name string) bool {
	if neverSkipped(name) {
		return false
	}
	if baseSkip.match(name) {
		return true
	}
	if sched && hangSkip.match(name) {
		return true
	}
	switch k {
	case KindSoftLockup, KindHardLockup, KindRCUStall:
		return stallSkip.match(name)
	case KindHungTask:
		return hangSkip.match(name)
	case KindLockdep:
		return lockdepSkip.match(name)
	}
	return false
}
