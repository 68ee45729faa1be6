package analytics

import "github.com/google/go-cmp/cmp"

func cmpJSON(a, b any) string { return cmp.Diff(a, b) }
