package analytics

import (
	"io"
	"log/slog"
	"net/http/httptest"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func textLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
