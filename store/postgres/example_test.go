package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/postgres"
)

// Open connects, checks the connection and applies the pending migrations
// in the schema named by search_path.
func ExampleOpen() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv("DATABASE_URL")+"&search_path=analytics", postgres.Config{MaxOpenConns: 10})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.ActivityInsertMany(ctx, []store.Activity{{UserID: "u1", Username: "alice", ActivityType: "login"}})
	if err != nil {
		log.Fatal(err)
	}
	page, err := s.ActivityList(ctx, store.ActivityListParams{Limit: 25})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Total, page.HasNext)
}

// TryLock runs a job on one replica only: the others get ok == false.
func ExampleStore_TryLock() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	unlock, ok, err := s.TryLock(ctx, "job:calculate_daily_metrics")
	if err != nil || !ok {
		return // failed, or another replica runs it
	}
	defer unlock(ctx)
	// … run the job …
}

// Subscribe and Publish carry cache invalidations between replicas.
func ExampleStore_Subscribe() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	stop, err := s.Subscribe(ctx, "analytics_cache", func(payload string) {
		fmt.Println("invalidate", payload)
	})
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	if err := s.Publish(ctx, "analytics_cache", "all"); err != nil {
		log.Fatal(err)
	}
}
