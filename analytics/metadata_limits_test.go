package analytics

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// nested returns metadata nested depth levels deep (the metadata object
// being level 1).
func nested(depth int) map[string]any {
	m := map[string]any{"leaf": true}
	for i := 1; i < depth; i++ {
		m = map[string]any{"n": m}
	}
	return m
}

func manyKeys(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = i
	}
	return m
}

// TestMetadataLimits posts metadata over each limit, by a viewer through
// the activities route and by an admin through ingest/activities, and
// checks that it is refused with a 400 naming the metadata while metadata
// at the limits is accepted.
func TestMetadataLimits(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, untracked)
		big := map[string]any{"blob": strings.Repeat("a", 900<<10)}
		atLimit := map[string]any{"blob": strings.Repeat("a", store.MaxMetadataBytes-20)}
		over := []struct {
			name string
			md   map[string]any
		}{
			{"0.9 MB", big},
			{"just over the size", map[string]any{"blob": strings.Repeat("a", store.MaxMetadataBytes)}},
			{"5000 keys", manyKeys(5000)},
			{"65 keys", manyKeys(store.MaxMetadataKeys + 1)},
			{"65 keys nested", map[string]any{"a": manyKeys(32), "b": manyKeys(32)}},
			{"9000 levels", nested(9000)},
			{"9 levels", nested(store.MaxMetadataDepth + 1)},
			{"9 levels of arrays", map[string]any{"a": []any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{1}}}}}}}}}},
		}
		for _, c := range over {
			body, _ := json.Marshal(map[string]any{"activity_type": "login", "metadata": c.md})
			r := e.postJSON(t, "activities/", "bob", string(body))
			if r.status != http.StatusBadRequest && r.status != http.StatusRequestEntityTooLarge {
				t.Errorf("activities with %s of metadata: %d %s", c.name, r.status, r.body)
			} else if eb := errBody(t, r); eb.Field != "metadata" {
				t.Errorf("activities with %s of metadata: field %q in %s", c.name, eb.Field, r.body)
			}
			body, _ = json.Marshal(map[string]any{"activities": []any{map[string]any{"activity_type": "login", "metadata": c.md}}})
			r = e.postJSON(t, "ingest/activities/", "dave", string(body))
			if r.status != http.StatusBadRequest && r.status != http.StatusRequestEntityTooLarge {
				t.Errorf("ingest with %s of metadata: %d %s", c.name, r.status, r.body)
			} else if eb := errBody(t, r); eb.Field != "activities[0].metadata" {
				t.Errorf("ingest with %s of metadata: field %q in %s", c.name, eb.Field, r.body)
			}
		}
		for _, md := range []map[string]any{atLimit, manyKeys(store.MaxMetadataKeys), nested(store.MaxMetadataDepth)} {
			body, _ := json.Marshal(map[string]any{"activity_type": "login", "metadata": md})
			if r := e.postJSON(t, "activities/", "bob", string(body)); r.status != http.StatusAccepted {
				t.Errorf("activities with metadata at the limits: %d %s", r.status, r.body)
			}
			body, _ = json.Marshal(map[string]any{"activities": []any{map[string]any{"activity_type": "login", "metadata": md}}})
			if r := e.postJSON(t, "ingest/activities/", "dave", string(body)); r.status != http.StatusCreated {
				t.Errorf("ingest with metadata at the limits: %d %s", r.status, r.body)
			}
		}
	})
}
