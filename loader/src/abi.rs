//! Program ABIs (XDP, tc, and the existing SUME system's), their helper
//! sets, and the table of Linux helper numbers used in messages.

use nfbpf_vm::contract;
use std::fmt;

/// The calling convention a program was written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Abi {
    /// Linux XDP: r1 = `struct xdp_md *`, verdict in r0, helpers by pointer.
    Xdp,
    /// Linux tc classifier in direct-action mode (`sched_cls`): r1 =
    /// `struct __sk_buff *`, `TC_ACT_*` in r0 (software engines and the
    /// kernel only; the device runs no tc programs).
    Tc,
    /// The existing SUME system: r1 = 32-byte metadata header followed by
    /// the frame, r0 = output port; helpers 1..3 take key and value by value.
    Sume,
}

/// Helpers the SUME ABI supports (map lookup, update, delete by value; timer,
/// PRNG, trace).
pub use nfbpf_vm::units::SUME_HELPER_IDS as SUME_HELPERS;
/// Helpers the tc ABI supports (software engines).
pub use nfbpf_vm::units::TC_HELPER_IDS as TC_HELPERS;
/// Helpers the XDP ABI supports on this hardware (the device's helper units).
pub use nfbpf_vm::units::XDP_HELPER_IDS as XDP_HELPERS;
use nfbpf_vm::units::{
    sume_helper_known as sume_helper, tc_helper_known as tc_helper, xdp_helper_known as xdp_helper,
};

// The prologue is two `mov64 rX, imm32` (sign-extending). Both addresses must
// be positive 32-bit values for that encoding; checked at compile time.
const _: () = assert!(contract::CTX_BASE < 0x8000_0000);
const _: () = assert!(contract::PKT_BASE < 0x8000_0000);
const _: () = assert!(contract::STACK_TOP < 0x8000_0000);

impl Abi {
    pub const fn name(self) -> &'static str {
        match self {
            Abi::Xdp => "XDP",
            Abi::Tc => "tc",
            Abi::Sume => "SUME",
        }
    }

    /// What r1 holds when the program starts: the `xdp_md` context for XDP,
    /// `__sk_buff` for tc, the start of the packet window (metadata header,
    /// then the frame) for SUME.
    pub const fn context_pointer(self) -> u64 {
        match self {
            Abi::Xdp | Abi::Tc => contract::CTX_BASE,
            Abi::Sume => contract::PKT_BASE,
        }
    }

    /// Helper ids this ABI supports.
    pub const fn helpers(self) -> &'static [u32] {
        match self {
            Abi::Xdp => XDP_HELPERS,
            Abi::Tc => TC_HELPERS,
            Abi::Sume => SUME_HELPERS,
        }
    }

    /// The predicate for [`nfbpf_vm::validate::Limits::helper_known`].
    pub fn helper_predicate(self) -> fn(u32) -> bool {
        match self {
            Abi::Xdp => xdp_helper,
            Abi::Tc => tc_helper,
            Abi::Sume => sume_helper,
        }
    }

    /// Widest map key and value, in bytes.
    pub const fn max_key_value(self) -> (usize, usize) {
        match self {
            Abi::Xdp | Abi::Tc => (contract::MAX_KEY_BYTES, contract::MAX_VALUE_BYTES),
            Abi::Sume => (contract::SUME_MAX_KEY_BYTES, contract::SUME_MAX_VALUE_BYTES),
        }
    }

    /// Why this ABI leaves out helper `id` on purpose, when it does.
    pub fn helper_refusal(self, id: u32) -> Option<&'static str> {
        match self {
            Abi::Tc => nfbpf_vm::units::tc_helper_refusal(id),
            Abi::Xdp | Abi::Sume => None,
        }
    }

    /// The engine model's ABI.
    pub const fn vm(self) -> nfbpf_vm::abi::Abi {
        match self {
            Abi::Xdp => nfbpf_vm::abi::Abi::Xdp,
            Abi::Tc => nfbpf_vm::abi::Abi::Tc,
            Abi::Sume => nfbpf_vm::abi::Abi::Sume,
        }
    }

    /// "1 map_lookup_elem, 2 map_update_elem, ..." for messages.
    pub fn helper_list(self) -> String {
        self.helpers()
            .iter()
            .map(|&id| format!("{id} {}", helper_name(id).unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Linux's name for helper `id` (without the `bpf_` prefix), if it has one.
pub fn helper_name(id: u32) -> Option<&'static str> {
    HELPER_NAMES.get(id as usize).copied().filter(|_| id != 0)
}

/// Linux helper numbers 0..=211 (`__BPF_FUNC_MAPPER` order, as in libbpf's
/// `bpf_helper_defs.h`), index = helper id.
#[rustfmt::skip]
const HELPER_NAMES: &[&str] = &[
    "unspec",
    "map_lookup_elem",
    "map_update_elem",
    "map_delete_elem",
    "probe_read",
    "ktime_get_ns",
    "trace_printk",
    "get_prandom_u32",
    "get_smp_processor_id",
    "skb_store_bytes",
    "l3_csum_replace",
    "l4_csum_replace",
    "tail_call",
    "clone_redirect",
    "get_current_pid_tgid",
    "get_current_uid_gid",
    "get_current_comm",
    "get_cgroup_classid",
    "skb_vlan_push",
    "skb_vlan_pop",
    "skb_get_tunnel_key",
    "skb_set_tunnel_key",
    "perf_event_read",
    "redirect",
    "get_route_realm",
    "perf_event_output",
    "skb_load_bytes",
    "get_stackid",
    "csum_diff",
    "skb_get_tunnel_opt",
    "skb_set_tunnel_opt",
    "skb_change_proto",
    "skb_change_type",
    "skb_under_cgroup",
    "get_hash_recalc",
    "get_current_task",
    "probe_write_user",
    "current_task_under_cgroup",
    "skb_change_tail",
    "skb_pull_data",
    "csum_update",
    "set_hash_invalid",
    "get_numa_node_id",
    "skb_change_head",
    "xdp_adjust_head",
    "probe_read_str",
    "get_socket_cookie",
    "get_socket_uid",
    "set_hash",
    "setsockopt",
    "skb_adjust_room",
    "redirect_map",
    "sk_redirect_map",
    "sock_map_update",
    "xdp_adjust_meta",
    "perf_event_read_value",
    "perf_prog_read_value",
    "getsockopt",
    "override_return",
    "sock_ops_cb_flags_set",
    "msg_redirect_map",
    "msg_apply_bytes",
    "msg_cork_bytes",
    "msg_pull_data",
    "bind",
    "xdp_adjust_tail",
    "skb_get_xfrm_state",
    "get_stack",
    "skb_load_bytes_relative",
    "fib_lookup",
    "sock_hash_update",
    "msg_redirect_hash",
    "sk_redirect_hash",
    "lwt_push_encap",
    "lwt_seg6_store_bytes",
    "lwt_seg6_adjust_srh",
    "lwt_seg6_action",
    "rc_repeat",
    "rc_keydown",
    "skb_cgroup_id",
    "get_current_cgroup_id",
    "get_local_storage",
    "sk_select_reuseport",
    "skb_ancestor_cgroup_id",
    "sk_lookup_tcp",
    "sk_lookup_udp",
    "sk_release",
    "map_push_elem",
    "map_pop_elem",
    "map_peek_elem",
    "msg_push_data",
    "msg_pop_data",
    "rc_pointer_rel",
    "spin_lock",
    "spin_unlock",
    "sk_fullsock",
    "tcp_sock",
    "skb_ecn_set_ce",
    "get_listener_sock",
    "skc_lookup_tcp",
    "tcp_check_syncookie",
    "sysctl_get_name",
    "sysctl_get_current_value",
    "sysctl_get_new_value",
    "sysctl_set_new_value",
    "strtol",
    "strtoul",
    "sk_storage_get",
    "sk_storage_delete",
    "send_signal",
    "tcp_gen_syncookie",
    "skb_output",
    "probe_read_user",
    "probe_read_kernel",
    "probe_read_user_str",
    "probe_read_kernel_str",
    "tcp_send_ack",
    "send_signal_thread",
    "jiffies64",
    "read_branch_records",
    "get_ns_current_pid_tgid",
    "xdp_output",
    "get_netns_cookie",
    "get_current_ancestor_cgroup_id",
    "sk_assign",
    "ktime_get_boot_ns",
    "seq_printf",
    "seq_write",
    "sk_cgroup_id",
    "sk_ancestor_cgroup_id",
    "ringbuf_output",
    "ringbuf_reserve",
    "ringbuf_submit",
    "ringbuf_discard",
    "ringbuf_query",
    "csum_level",
    "skc_to_tcp6_sock",
    "skc_to_tcp_sock",
    "skc_to_tcp_timewait_sock",
    "skc_to_tcp_request_sock",
    "skc_to_udp6_sock",
    "get_task_stack",
    "load_hdr_opt",
    "store_hdr_opt",
    "reserve_hdr_opt",
    "inode_storage_get",
    "inode_storage_delete",
    "d_path",
    "copy_from_user",
    "snprintf_btf",
    "seq_printf_btf",
    "skb_cgroup_classid",
    "redirect_neigh",
    "per_cpu_ptr",
    "this_cpu_ptr",
    "redirect_peer",
    "task_storage_get",
    "task_storage_delete",
    "get_current_task_btf",
    "bprm_opts_set",
    "ktime_get_coarse_ns",
    "ima_inode_hash",
    "sock_from_file",
    "check_mtu",
    "for_each_map_elem",
    "snprintf",
    "sys_bpf",
    "btf_find_by_name_kind",
    "sys_close",
    "timer_init",
    "timer_set_callback",
    "timer_start",
    "timer_cancel",
    "get_func_ip",
    "get_attach_cookie",
    "task_pt_regs",
    "get_branch_snapshot",
    "trace_vprintk",
    "skc_to_unix_sock",
    "kallsyms_lookup_name",
    "find_vma",
    "loop",
    "strncmp",
    "get_func_arg",
    "get_func_ret",
    "get_func_arg_cnt",
    "get_retval",
    "set_retval",
    "xdp_get_buff_len",
    "xdp_load_bytes",
    "xdp_store_bytes",
    "copy_from_user_task",
    "skb_set_tstamp",
    "ima_file_hash",
    "kptr_xchg",
    "map_lookup_percpu_elem",
    "skc_to_mptcp_sock",
    "dynptr_from_mem",
    "ringbuf_reserve_dynptr",
    "ringbuf_submit_dynptr",
    "ringbuf_discard_dynptr",
    "dynptr_read",
    "dynptr_write",
    "dynptr_data",
    "tcp_raw_gen_syncookie_ipv4",
    "tcp_raw_gen_syncookie_ipv6",
    "tcp_raw_check_syncookie_ipv4",
    "tcp_raw_check_syncookie_ipv6",
    "ktime_get_tai_ns",
    "user_ringbuf_drain",
    "cgrp_storage_get",
    "cgrp_storage_delete",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_names() {
        assert_eq!(helper_name(1), Some("map_lookup_elem"));
        assert_eq!(helper_name(23), Some("redirect"));
        assert_eq!(helper_name(51), Some("redirect_map"));
        assert_eq!(helper_name(65), Some("xdp_adjust_tail"));
        assert_eq!(helper_name(12), Some("tail_call"));
        assert_eq!(helper_name(211), Some("cgrp_storage_delete"));
        assert_eq!(helper_name(0), None);
        assert_eq!(helper_name(212), None);
        assert!(
            Abi::Xdp
                .helper_list()
                .starts_with("1 map_lookup_elem, 2 map_update_elem")
        );
        assert!(Abi::Sume.helper_predicate()(3));
        assert!(Abi::Sume.helper_predicate()(5));
        assert!(!Abi::Sume.helper_predicate()(23));
        assert!(Abi::Tc.helper_predicate()(9) && Abi::Tc.helper_predicate()(23));
        assert!(!Abi::Tc.helper_predicate()(51) && !Abi::Tc.helper_predicate()(44));
        assert!(
            Abi::Tc
                .helper_refusal(51)
                .unwrap()
                .contains("XDP programs only")
        );
        assert!(Abi::Tc.helper_refusal(13).unwrap().contains("two outputs"));
        assert_eq!(Abi::Xdp.helper_refusal(13), None);
        assert!(Abi::Tc.helper_list().contains("9 skb_store_bytes"));
    }
}
