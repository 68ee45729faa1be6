// Package webhook makes one JSON POST to a webhook and tells whether a
// failure is worth another attempt. The weekly-report sink and the alert
// webhook share it.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Post sends body to target as application/json with the extra header,
// once, through client (http.DefaultClient when nil). retry reports whether
// a failure may succeed on another attempt: a network error while ctx is
// still live, 429 or a 5xx. Errors never contain the URL, whose path often
// is the webhook's secret.
func Post(ctx context.Context, client *http.Client, target string, header http.Header, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return false, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return ctx.Err() == nil, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("post: status %s", resp.Status)
	default:
		return false, fmt.Errorf("post: status %s", resp.Status)
	}
}
