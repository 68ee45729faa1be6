package storedriver

import "context"

// writeSyncer is implemented by stores whose commits can return before they
// are on disk, such as SQLite with synchronous=NORMAL (durable across a
// crash of the process, not of the machine).
type writeSyncer interface {
	SyncWrites(ctx context.Context) error
}

// SyncWrites makes every write that w has committed so far durable, when w
// has a SyncWrites method (the SQLite store does); for any other store a
// commit is durable when it returns, and SyncWrites does nothing. The
// Recorder calls it before its spool forgets the events it wrote.
func SyncWrites(ctx context.Context, w any) error {
	if ws, ok := w.(writeSyncer); ok {
		return ws.SyncWrites(ctx)
	}
	return nil
}
