//go:build !unix

package spool

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// lockDir creates dir/LOCK. Without flock, two processes sharing a
// directory are not detected on this platform.
func lockDir(dir string) (io.Closer, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: lock %s: %w", dir, err)
	}
	return f, nil
}
