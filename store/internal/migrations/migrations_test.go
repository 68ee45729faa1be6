package migrations_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/advisoranalytics/advisor-analytics/store/internal/migrations"
	"github.com/google/go-cmp/cmp"
)

func TestLoadOrdersByVersion(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_later.sql":   {Data: []byte("B")},
		"m/0002_second.sql":  {Data: []byte("A2")},
		"m/0001_init.sql":    {Data: []byte("A1")},
		"m/README.md":        {Data: []byte("ignored")},
		"m/sub/0003_x.sql":   {Data: []byte("ignored: in a sub-directory")},
		"other/0004_not.sql": {Data: []byte("ignored: another directory")},
	}
	got, err := migrations.Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := []migrations.Migration{
		{Version: 1, File: "0001_init.sql", Name: "init", SQL: "A1"},
		{Version: 2, File: "0002_second.sql", Name: "second", SQL: "A2"},
		{Version: 10, File: "0010_later.sql", Name: "later", SQL: "B"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	if v := migrations.Latest(got); v != 10 {
		t.Errorf("Latest = %d, want 10", v)
	}
	if v := migrations.Latest(nil); v != 0 {
		t.Errorf("Latest(nil) = %d, want 0", v)
	}
}

func TestLoadRefusesBadNames(t *testing.T) {
	tests := map[string]struct {
		files []string
		want  string
	}{
		"no number":      {[]string{"init.sql"}, "not named NNNN_name.sql"},
		"zero":           {[]string{"0000_init.sql"}, "not named NNNN_name.sql"},
		"no name":        {[]string{"0001_.sql"}, "not named NNNN_name.sql"},
		"shared version": {[]string{"0001_a.sql", "01_b.sql"}, "share version 1"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tt.files {
				fsys["m/"+f] = &fstest.MapFile{Data: []byte("x")}
			}
			_, err := migrations.Load(fsys, "m")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%v) error = %v, want one containing %q", tt.files, err, tt.want)
			}
		})
	}
	if _, err := migrations.Load(fstest.MapFS{}, "missing"); err == nil {
		t.Error("Load of a missing directory succeeded")
	}
}
