package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

// Reconnect back-off of subscriptions.
const (
	listenMinReconnect = 100 * time.Millisecond
	listenMaxReconnect = 10 * time.Second
)

// channelName scopes a channel to the store's schema. PostgreSQL channel
// names are identifiers of at most 63 bytes; longer ones are hashed.
func (s *Store) channelName(channel string) string {
	name := s.schema + ":" + channel
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "aa:" + hex.EncodeToString(sum[:20])
}

// Publish sends payload on channel to every subscriber of this schema,
// on every process. Payloads are limited to about 8000 bytes by
// PostgreSQL.
func (s *Store) Publish(ctx context.Context, channel, payload string) error {
	if channel == "" {
		return s.wrap(ctx, "publish", storedriver.Invalid("channel", "is required"))
	}
	_, err := s.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.channelName(channel), clean(payload))
	return s.wrap(ctx, fmt.Sprintf("publish on %q", channel), err)
}

// Subscribe listens on channel over a dedicated connection and calls fn,
// from one goroutine, for each payload, until ctx is done or stop is
// called. Subscribe returns once the channel is listened to, so a Publish
// that follows is received. After a connection loss the subscription
// reconnects by itself; notifications sent while it was disconnected are
// lost. stop waits for a running fn to return and must not be called from
// fn.
func (s *Store) Subscribe(ctx context.Context, channel string, fn func(payload string)) (stop func(), err error) {
	op := fmt.Sprintf("subscribe to %q", channel)
	if channel == "" {
		return nil, s.wrap(ctx, op, storedriver.Invalid("channel", "is required"))
	}
	if fn == nil {
		return nil, s.wrap(ctx, op, storedriver.Invalid("fn", "is required"))
	}
	first := make(chan error, 1)
	var once sync.Once
	log := s.log
	l := pq.NewListener(s.url, listenMinReconnect, listenMaxReconnect, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventConnected:
			once.Do(func() { first <- nil })
		case pq.ListenerEventConnectionAttemptFailed:
			once.Do(func() { first <- err })
		case pq.ListenerEventDisconnected:
			log.Warn("postgres: subscription disconnected", "channel", channel, "err", err)
		case pq.ListenerEventReconnected:
			log.Info("postgres: subscription reconnected", "channel", channel)
		}
	})
	select {
	case err = <-first:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = l.Close()
		return nil, s.wrap(ctx, op, err)
	}
	if err := l.Listen(s.channelName(channel)); err != nil {
		_ = l.Close()
		return nil, s.wrap(ctx, op, err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = l.Close()
		return nil, s.wrap(ctx, op+": store closed", store.ErrUnavailable)
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()

	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-quit:
				return
			case n, ok := <-l.Notify:
				if !ok {
					return
				}
				if n != nil { // nil follows a reconnection
					fn(n.Extra)
				}
			}
		}
	}()
	var stopOnce sync.Once
	stop = func() {
		stopOnce.Do(func() {
			close(quit)
			<-done
			s.mu.Lock()
			if s.listeners != nil {
				delete(s.listeners, l)
			}
			s.mu.Unlock()
			_ = l.Close()
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-done:
		}
	}()
	return stop, nil
}

// TryLock takes the cluster-wide advisory lock named key (scoped to the
// store's schema) without waiting. The lock is a session lock held on a
// connection taken out of the pool for the lock's lifetime; unlock releases
// it and closes that connection. If the connection dies, PostgreSQL
// releases the lock at once, so a holder that loses its connection loses
// the lock without being told: keep the work guarded by a lock short, or
// make it safe to run twice.
func (s *Store) TryLock(ctx context.Context, key string) (unlock func(context.Context) error, ok bool, err error) {
	op := fmt.Sprintf("try lock %q", key)
	if key == "" {
		return nil, false, s.wrap(ctx, op, storedriver.Invalid("key", "is required"))
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, s.wrap(ctx, op, err)
	}
	name := s.schema + ":" + key
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, name).Scan(&ok); err != nil {
		discard(conn.Raw)
		return nil, false, s.wrap(ctx, op, err)
	}
	if !ok {
		_ = conn.Close()
		return nil, false, nil
	}
	var once sync.Once
	unlock = func(ctx context.Context) error {
		var err error
		once.Do(func() {
			var released bool
			err = conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, name).Scan(&released)
			if err != nil {
				// The lock may still be held by the session: never
				// hand this connection back to the pool.
				discard(conn.Raw)
				err = s.wrap(ctx, fmt.Sprintf("unlock %q", key), err)
				return
			}
			_ = conn.Close()
			if !released {
				err = s.wrap(ctx, fmt.Sprintf("unlock %q", key), fmt.Errorf("%w: lock was lost with its connection", store.ErrConflict))
			}
		})
		return err
	}
	return unlock, true, nil
}

// discard closes a dedicated connection instead of returning it to the
// pool (database/sql drops a connection whose Raw call reports
// driver.ErrBadConn).
func discard(raw func(func(any) error) error) {
	_ = raw(func(any) error { return driver.ErrBadConn })
}
