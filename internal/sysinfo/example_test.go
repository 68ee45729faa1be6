package sysinfo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/advisoranalytics/advisor-analytics/internal/sysinfo"
)

func ExampleDirSizer() {
	dir, err := os.MkdirTemp("", "storage")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "export.csv"), make([]byte, 1234), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	sizer, err := sysinfo.NewDirSizer([]string{dir, filepath.Join(dir, "not-created-yet")}, sysinfo.DirSizerConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// A server calls sizer.Start(ctx) and defers sizer.Close(); requests
	// then read sizer.Size(). Measure runs one measurement right away.
	n, err := sizer.Measure(context.Background())
	fmt.Println(n, err)
	bytes, _, ok := sizer.Size()
	fmt.Println(bytes, ok)
	// Output:
	// 1234 <nil>
	// 1234 true
}

func ExampleSampler() {
	s := sysinfo.NewSampler()
	f, err := s.Sample(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Process.RSSBytes > 0, f.Host.MemoryTotalBytes > 0)
	// Output: true true
}
