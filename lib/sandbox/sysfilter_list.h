/* The syscalls the RUN sandbox refuses with EPERM: what Docker's default
 * seccomp profile (moby profiles/seccomp/default.json) leaves out for a
 * process with Docker's default capabilities, plus io_uring (left out since
 * Docker 25). Not a header: an initializer list, included inside an array
 * by sysfilter.c (native numbers) and sysfilter_i386.c (the i386 ABI's),
 * each with its own <asm/unistd*.h>, so a name an ABI lacks drops out.
 * clone, clone3, socket and personality are decided on their arguments in
 * sysfilter.c. */
#ifdef __NR__sysctl
__NR__sysctl,
#endif
#ifdef __NR_acct
__NR_acct,
#endif
#ifdef __NR_add_key
__NR_add_key,
#endif
#ifdef __NR_bpf
__NR_bpf,
#endif
#ifdef __NR_clock_settime
__NR_clock_settime,
#endif
#ifdef __NR_clock_settime64
__NR_clock_settime64,
#endif
#ifdef __NR_create_module
__NR_create_module,
#endif
#ifdef __NR_delete_module
__NR_delete_module,
#endif
#ifdef __NR_fanotify_init
__NR_fanotify_init,
#endif
#ifdef __NR_finit_module
__NR_finit_module,
#endif
#ifdef __NR_fsconfig
__NR_fsconfig,
#endif
#ifdef __NR_fsmount
__NR_fsmount,
#endif
#ifdef __NR_fsopen
__NR_fsopen,
#endif
#ifdef __NR_fspick
__NR_fspick,
#endif
#ifdef __NR_get_kernel_syms
__NR_get_kernel_syms,
#endif
#ifdef __NR_get_mempolicy
__NR_get_mempolicy,
#endif
#ifdef __NR_init_module
__NR_init_module,
#endif
#ifdef __NR_io_uring_enter
__NR_io_uring_enter,
#endif
#ifdef __NR_io_uring_register
__NR_io_uring_register,
#endif
#ifdef __NR_io_uring_setup
__NR_io_uring_setup,
#endif
#ifdef __NR_ioperm
__NR_ioperm,
#endif
#ifdef __NR_iopl
__NR_iopl,
#endif
#ifdef __NR_kcmp
__NR_kcmp,
#endif
#ifdef __NR_kexec_file_load
__NR_kexec_file_load,
#endif
#ifdef __NR_kexec_load
__NR_kexec_load,
#endif
#ifdef __NR_keyctl
__NR_keyctl,
#endif
#ifdef __NR_lookup_dcookie
__NR_lookup_dcookie,
#endif
#ifdef __NR_mbind
__NR_mbind,
#endif
#ifdef __NR_migrate_pages
__NR_migrate_pages,
#endif
#ifdef __NR_mount
__NR_mount,
#endif
#ifdef __NR_mount_setattr
__NR_mount_setattr,
#endif
#ifdef __NR_move_mount
__NR_move_mount,
#endif
#ifdef __NR_move_pages
__NR_move_pages,
#endif
#ifdef __NR_nfsservctl
__NR_nfsservctl,
#endif
#ifdef __NR_open_by_handle_at
__NR_open_by_handle_at,
#endif
#ifdef __NR_open_tree
__NR_open_tree,
#endif
/* open_tree_attr (Linux 6.15) has one number on every ABI, newer than the
 * headers we build with */
#ifdef __NR_open_tree_attr
__NR_open_tree_attr,
#else
467,
#endif
#ifdef __NR_perf_event_open
__NR_perf_event_open,
#endif
#ifdef __NR_pidfd_getfd
__NR_pidfd_getfd,
#endif
#ifdef __NR_pivot_root
__NR_pivot_root,
#endif
#ifdef __NR_process_madvise
__NR_process_madvise,
#endif
#ifdef __NR_query_module
__NR_query_module,
#endif
#ifdef __NR_quotactl
__NR_quotactl,
#endif
#ifdef __NR_quotactl_fd
__NR_quotactl_fd,
#endif
#ifdef __NR_reboot
__NR_reboot,
#endif
#ifdef __NR_request_key
__NR_request_key,
#endif
#ifdef __NR_set_mempolicy
__NR_set_mempolicy,
#endif
#ifdef __NR_set_mempolicy_home_node
__NR_set_mempolicy_home_node,
#endif
#ifdef __NR_setdomainname
__NR_setdomainname,
#endif
#ifdef __NR_sethostname
__NR_sethostname,
#endif
#ifdef __NR_setns
__NR_setns,
#endif
#ifdef __NR_settimeofday
__NR_settimeofday,
#endif
#ifdef __NR_stime
__NR_stime,
#endif
#ifdef __NR_swapoff
__NR_swapoff,
#endif
#ifdef __NR_swapon
__NR_swapon,
#endif
#ifdef __NR_sysfs
__NR_sysfs,
#endif
#ifdef __NR_syslog
__NR_syslog,
#endif
#ifdef __NR_umount
__NR_umount,
#endif
#ifdef __NR_umount2
__NR_umount2,
#endif
#ifdef __NR_unshare
__NR_unshare,
#endif
#ifdef __NR_uselib
__NR_uselib,
#endif
#ifdef __NR_userfaultfd
__NR_userfaultfd,
#endif
#ifdef __NR_ustat
__NR_ustat,
#endif
#ifdef __NR_vhangup
__NR_vhangup,
#endif
#ifdef __NR_vm86
__NR_vm86,
#endif
#ifdef __NR_vm86old
__NR_vm86old,
#endif
