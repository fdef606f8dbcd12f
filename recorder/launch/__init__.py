"""The process layer every engine and `verify` share: starting CMD, its filter, capabilities,
signals, CPU pinning and exit statuses, each in one module (spawn, filters, caps, signals, pinning,
status, proc, rootfs, clone_into)."""
