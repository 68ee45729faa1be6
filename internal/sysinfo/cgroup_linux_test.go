//go:build linux

package sysinfo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in        string
		unlimited uint64
		want      uint64
		wantSet   bool
		wantErr   bool
	}{
		{"max", 0, 0, false, false},
		{"1073741824", 0, 1 << 30, true, false},
		{"1073741824", cgroupV1Unlimited, 1 << 30, true, false},
		{"9223372036854771712", cgroupV1Unlimited, 0, false, false},
		{"", 0, 0, false, true},
		{"-1", cgroupV1Unlimited, 0, false, true},
		{"lots", 0, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, set, err := parseLimit(tt.in, tt.unlimited)
			if got != tt.want || set != tt.wantSet || (err != nil) != tt.wantErr {
				t.Errorf("parseLimit(%q) = %d, %v, %v; want %d, %v, error %v", tt.in, got, set, err, tt.want, tt.wantSet, tt.wantErr)
			}
		})
	}
}

func TestParseProcCgroup(t *testing.T) {
	tests := []struct {
		name           string
		in             string
		wantV2, wantV1 string
	}{
		{"v2", "0::/system.slice/app.service\n", "/system.slice/app.service", ""},
		{"hybrid", "9:name=systemd:/\n4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/\n", "/", "/docker/abc"},
		{"v1 joined controllers", "5:memory,hugetlb:/kubepods/pod1\n", "", "/kubepods/pod1"},
		{"garbage", "nonsense\n\n", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v2, v1 := parseProcCgroup([]byte(tt.in))
			if v2 != tt.wantV2 || v1 != tt.wantV1 {
				t.Errorf("parseProcCgroup = %q, %q; want %q, %q", v2, v1, tt.wantV2, tt.wantV1)
			}
		})
	}
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadCgroupMemory(t *testing.T) {
	type result struct {
		Limit, Usage uint64
		OK           bool
	}
	tests := []struct {
		name       string
		procCgroup string
		files      map[string]string
		want       result
	}{
		{
			name:       "v2 limit on the cgroup",
			procCgroup: "0::/app\n",
			files: map[string]string{
				"cgroup.controllers": "cpu memory\n",
				"app/memory.max":     "536870912\n",
				"app/memory.current": "300000000\n",
				"app/memory.stat":    "anon 100\nfile 5000\ninactive_file 1000000\nactive_file 3\n",
			},
			want: result{536870912, 299000000, true},
		},
		{
			name:       "v2 max everywhere",
			procCgroup: "0::/app\n",
			files: map[string]string{
				"cgroup.controllers": "cpu memory\n",
				"app/memory.max":     "max\n",
				"app/memory.current": "300000000\n",
			},
			want: result{},
		},
		{
			name:       "v2 lower limit on a parent",
			procCgroup: "0::/kubepods/pod1/ctr\n",
			files: map[string]string{
				"cgroup.controllers":               "memory\n",
				"kubepods/pod1/ctr/memory.max":     "max\n",
				"kubepods/pod1/ctr/memory.current": "10\n",
				"kubepods/pod1/memory.max":         "1073741824\n",
				"kubepods/pod1/memory.current":     "20000\n",
				"kubepods/memory.max":              "4294967296\n",
			},
			want: result{1073741824, 20000, true},
		},
		{
			name:       "v2 in a cgroup namespace: path not visible, limit at the root",
			procCgroup: "0::/../../host/path\n",
			files: map[string]string{
				"cgroup.controllers": "memory\n",
				"memory.max":         "268435456\n",
				"memory.current":     "1000\n",
			},
			want: result{268435456, 1000, true},
		},
		{
			name:       "v1 limit",
			procCgroup: "4:memory:/docker/abc\n0::/\n",
			files: map[string]string{
				"memory/docker/abc/memory.limit_in_bytes": "2147483648\n",
				"memory/docker/abc/memory.usage_in_bytes": "500000\n",
				"memory/docker/abc/memory.stat":           "cache 10\ninactive_file 7\ntotal_inactive_file 100000\n",
			},
			want: result{2147483648, 400000, true},
		},
		{
			name:       "v1 huge value means unlimited",
			procCgroup: "4:memory:/docker/abc\n",
			files: map[string]string{
				"memory/docker/abc/memory.limit_in_bytes": "9223372036854771712\n",
				"memory/docker/abc/memory.usage_in_bytes": "500000\n",
				"memory/memory.limit_in_bytes":            "9223372036854771712\n",
			},
			want: result{},
		},
		{
			name:       "v1 inactive file above usage is ignored",
			procCgroup: "4:memory:/\n",
			files: map[string]string{
				"memory/memory.limit_in_bytes": "1048576\n",
				"memory/memory.usage_in_bytes": "5000\n",
				"memory/memory.stat":           "total_inactive_file 9000\n",
			},
			want: result{1048576, 5000, true},
		},
		{
			name:       "no cgroup files",
			procCgroup: "0::/\n",
			files:      map[string]string{},
			want:       result{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "cgroup")
			writeFiles(t, root, tt.files)
			writeFiles(t, dir, map[string]string{"proc-self-cgroup": tt.procCgroup})
			var got result
			got.Limit, got.Usage, got.OK = readCgroupMemory(filepath.Join(dir, "proc-self-cgroup"), root)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("readCgroupMemory (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadCgroupMemoryMissingProcFile(t *testing.T) {
	if _, _, ok := readCgroupMemory(filepath.Join(t.TempDir(), "absent"), t.TempDir()); ok {
		t.Error("ok = true without a /proc/self/cgroup file")
	}
}
