package analytics

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/advisorcsv"
	"github.com/advisoranalytics/advisor-analytics/store"
)

// TestImportLimits holds Config.ImportsTotal imports open (their uploads
// never end) and checks that one more is answered 429 in the API's error
// shape, and that a row with an over-long cell is skipped with a reason.
func TestImportLimits(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		seed(t, st)
		e := newEnv(t, st, func(c *Config) { c.ImportsTotal = 2 })
		url := e.srv.URL + basePath + "/ingest/advisor-csv/?client_id=" + client1
		var writers []*io.PipeWriter
		done := make(chan int, 2)
		for range 2 {
			pr, pw := io.Pipe()
			writers = append(writers, pw)
			req, err := http.NewRequest(http.MethodPost, url, pr)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer alice")
			req.Header.Set("Content-Type", "text/csv")
			go func() {
				res, err := e.srv.Client().Do(req)
				if err != nil {
					done <- 0
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				done <- res.StatusCode
			}()
			if _, err := io.WriteString(pw, "Category,Recommendation\r\nCost,Delete idle disks\r\n"); err != nil {
				t.Fatal(err)
			}
			// Blank records, more than the socket buffers hold: once they
			// are written, the server is reading the upload, so the import
			// holds its slot.
			if _, err := io.Copy(pw, io.LimitReader(&blankRecords{}, 12<<20)); err != nil {
				t.Fatal(err)
			}
		}
		csvBody := "Category,Recommendation,Resource Name\r\nCost,Delete idle disks,vm\r\n"
		r := e.do(t, http.MethodPost, "ingest/advisor-csv/?client_id="+client1, "alice", strings.NewReader(csvBody), "Content-Type", "text/csv")
		if eb := errBody(t, r); r.status != http.StatusTooManyRequests || eb.Error == "" || eb.Message == "" {
			t.Errorf("third import: %d %s, want 429", r.status, r.body)
		}
		for _, pw := range writers {
			_, _ = io.WriteString(pw, "Cost,Buy reserved instances\r\n")
			_ = pw.Close()
		}
		for range 2 {
			if status := <-done; status != http.StatusCreated {
				t.Errorf("held import: %d", status)
			}
		}
		// The slots are free again; an over-long cell skips its row.
		var out CSVImported
		long := strings.Repeat("x", advisorcsv.MaxCellBytes+1)
		r = e.do(t, http.MethodPost, "ingest/advisor-csv/?client_id="+client1, "alice",
			strings.NewReader(csvBody+"Cost,Right-size,"+long+"\r\n"), "Content-Type", "text/csv")
		if r.status != http.StatusCreated || json.Unmarshal(r.body, &out) != nil || out.RowsImported != 1 || len(out.RowsSkipped) != 1 ||
			out.RowsSkipped[0].Row != 3 || !strings.Contains(out.RowsSkipped[0].Reason, "Resource Name cell is longer than") {
			t.Errorf("import with a long cell: %d %s", r.status, r.body)
		}
	})
}

// blankRecords reads as an endless run of blank CSV records.
type blankRecords struct{ off int }

func (b *blankRecords) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ",,\r\n"[(b.off+i)%4]
	}
	b.off += len(p)
	return len(p), nil
}
