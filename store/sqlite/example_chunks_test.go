package sqlite_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// An NDJSON stream of activities written in one transaction, two lines a
// chunk: each chunk is decoded while the store writes the one before.
func ExampleStore_ActivityInsertChunks() {
	dir, err := os.MkdirTemp("", "analytics")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "analytics.db"), sqlite.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	lines := bufio.NewScanner(strings.NewReader(`{"UserID":"42","ActivityType":"login","CreatedAt":"2025-01-15T10:30:00Z"}
{"UserID":"42","ActivityType":"download_report","CreatedAt":"2025-01-15T10:31:00Z"}
{"UserID":"7","ActivityType":"login","CreatedAt":"2025-01-15T11:00:00Z"}`))
	next := func() ([]store.Activity, error) {
		var chunk []store.Activity
		for len(chunk) < 2 && lines.Scan() {
			var a store.Activity
			if err := json.Unmarshal(lines.Bytes(), &a); err != nil {
				return nil, err // nothing is written
			}
			chunk = append(chunk, a)
		}
		return chunk, lines.Err() // empty at the end
	}
	// storedriver.InsertChunks works with any store; the SQLite and
	// PostgreSQL stores write each chunk as it comes.
	if err := storedriver.InsertChunks(ctx, s, next); err != nil {
		log.Fatal(err)
	}
	page, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Total, "activities; newest:", page.Activities[0].UserID, page.Activities[0].ActivityType)
	// Output: 3 activities; newest: 7 login
}
