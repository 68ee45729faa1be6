package storedriver

import (
	"context"
	"slices"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// chunkWriter is implemented by stores that write a stream of chunks of
// activities in one transaction (see store.ActivityWriter).
type chunkWriter interface {
	ActivityInsertChunks(ctx context.Context, next func() ([]store.Activity, error)) error
}

// InsertChunks writes the activities that next returns, chunk by chunk,
// in one transaction (all or nothing); next returns an empty chunk at the
// end. It calls w's ActivityInsertChunks when w has one (the SQLite and
// PostgreSQL stores do: they write each chunk while next makes the
// following one); otherwise it takes every chunk first and hands them to
// w.ActivityInsertMany as one batch. Either way the activities of the
// chunks are updated in place as ActivityInsertMany updates them (ids
// assigned, times set). An error from next is returned, wrapped or not,
// and nothing is written.
func InsertChunks(ctx context.Context, w store.ActivityWriter, next func() ([]store.Activity, error)) error {
	if cw, ok := w.(chunkWriter); ok {
		return cw.ActivityInsertChunks(ctx, next)
	}
	var chunks [][]store.Activity
	for {
		chunk, err := next()
		if err != nil {
			return err
		}
		if len(chunk) == 0 {
			break
		}
		chunks = append(chunks, chunk)
	}
	switch len(chunks) {
	case 0:
		return nil
	case 1:
		return w.ActivityInsertMany(ctx, chunks[0])
	}
	all := slices.Concat(chunks...)
	if err := w.ActivityInsertMany(ctx, all); err != nil {
		return err
	}
	for _, chunk := range chunks {
		all = all[copy(chunk, all):]
	}
	return nil
}

// OneChunk returns a next function for InsertChunks or a store's
// ActivityInsertChunks that returns activities, then the empty chunk
// that ends the stream.
func OneChunk(activities []store.Activity) func() ([]store.Activity, error) {
	done := false
	return func() ([]store.Activity, error) {
		if done {
			return nil, nil
		}
		done = true
		return activities, nil
	}
}
