//go:build linux

package sysinfo

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupV1Unlimited is the smallest cgroup v1 memory.limit_in_bytes read as
// "no limit": v1 reports an unset limit as the largest page-aligned int64
// (9223372036854771712 with 4 KiB pages).
const cgroupV1Unlimited = 1 << 62

// cgroupMemory returns the memory limit and usage of this process's cgroup.
func cgroupMemory() (limit, usage uint64, ok bool) {
	return readCgroupMemory("/proc/self/cgroup", "/sys/fs/cgroup")
}

// readCgroupMemory reads the memory limit and usage of the cgroup named in
// procCgroup (the format of /proc/self/cgroup) under the cgroup mount root.
// ok is false when no limit is set or nothing can be read.
func readCgroupMemory(procCgroup, root string) (limit, usage uint64, ok bool) {
	data, err := os.ReadFile(procCgroup)
	if err != nil {
		return 0, 0, false
	}
	v2Path, v1Path := parseProcCgroup(data)
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return cgroupV2Memory(root, v2Path)
	}
	return cgroupV1Memory(filepath.Join(root, "memory"), v1Path)
}

// parseProcCgroup returns the cgroup v2 path ("0::/path") and the path of
// the v1 memory controller ("N:memory,…:/path") listed in data.
func parseProcCgroup(data []byte) (v2Path, v1Path string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2Path = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				v1Path = parts[2]
			}
		}
	}
	return v2Path, v1Path
}

// cgroupDirs lists the directories of the cgroup at path under root, from
// the cgroup itself up to root. When the process runs in a cgroup
// namespace the path may not exist under root; root is still listed.
func cgroupDirs(root, path string) []string {
	var dirs []string
	rel := filepath.Clean("/" + path)
	for {
		dirs = append(dirs, filepath.Join(root, rel))
		if rel == "/" {
			return dirs
		}
		rel = filepath.Dir(rel)
	}
}

// cgroupV2Memory returns the lowest memory.max on the way from the cgroup
// to the root, and the usage of the cgroup that sets it.
func cgroupV2Memory(root, path string) (limit, usage uint64, ok bool) {
	return lowestLimit(cgroupDirs(root, path), "memory.max", "memory.current", "inactive_file", 0)
}

// cgroupV1Memory returns the lowest memory.limit_in_bytes on the way from
// the cgroup to the root of the memory controller's mount, and the usage of
// the cgroup that sets it.
func cgroupV1Memory(root, path string) (limit, usage uint64, ok bool) {
	return lowestLimit(cgroupDirs(root, path), "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file", cgroupV1Unlimited)
}

// lowestLimit finds the lowest limit set in the limitFile of dirs and
// returns it with the usage (usageFile minus the statKey entry of
// memory.stat) of the directory that sets it.
func lowestLimit(dirs []string, limitFile, usageFile, statKey string, unlimited uint64) (limit, usage uint64, ok bool) {
	var limitDir string
	for _, dir := range dirs {
		v, set, err := parseLimit(readTrimmed(filepath.Join(dir, limitFile)), unlimited)
		if err != nil || !set {
			continue
		}
		if limitDir == "" || v < limit {
			limit, limitDir = v, dir
		}
	}
	if limitDir == "" {
		return 0, 0, false
	}
	current, err := strconv.ParseUint(readTrimmed(filepath.Join(limitDir, usageFile)), 10, 64)
	if err != nil {
		return limit, 0, true
	}
	return limit, workingSet(current, filepath.Join(limitDir, "memory.stat"), statKey), true
}

// parseLimit reads a memory limit file's content: "max" (v2) or a value at
// or above unlimited (v1, when unlimited > 0) means no limit (set=false).
func parseLimit(s string, unlimited uint64) (limit uint64, set bool, err error) {
	if s == "max" {
		return 0, false, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, err
	}
	if unlimited > 0 && v >= unlimited {
		return 0, false, nil
	}
	return v, true, nil
}

// workingSet returns usage minus the inactive file cache named key in the
// memory.stat file, as container tools report memory use.
func workingSet(usage uint64, statFile, key string) uint64 {
	data, err := os.ReadFile(statFile)
	if err != nil {
		return usage
	}
	for line := range strings.Lines(string(data)) {
		name, value, found := strings.Cut(strings.TrimSpace(line), " ")
		if !found || name != key {
			continue
		}
		inactive, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
		if err != nil || inactive > usage {
			return usage
		}
		return usage - inactive
	}
	return usage
}

// readTrimmed returns the content of a small file without surrounding
// space, or "" when it cannot be read.
func readTrimmed(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
