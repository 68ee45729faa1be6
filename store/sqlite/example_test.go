package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/sqlite"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "analytics")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "data", "analytics.db"), sqlite.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	at := time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)
	err = s.ActivityInsertMany(ctx, []store.Activity{
		{UserID: "42", Username: "ada", ActivityType: "login", CreatedAt: at},
		{UserID: "42", Username: "ada", ActivityType: "download_report", CreatedAt: at.Add(time.Minute)},
	})
	if err != nil {
		log.Fatal(err)
	}
	page, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Total, page.Activities[0].ActivityType, page.HasNext)
	// Output: 2 download_report true
}
