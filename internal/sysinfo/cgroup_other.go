//go:build !linux

package sysinfo

// cgroupMemory reports no cgroup limit: cgroups exist only on Linux.
func cgroupMemory() (limit, usage uint64, ok bool) { return 0, 0, false }
