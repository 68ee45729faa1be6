package reqbody_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/advisoranalytics/advisor-analytics/analytics"
	"github.com/advisoranalytics/advisor-analytics/internal/reqbody"
)

// bodyTypes are the request bodies the analytics API decodes.
var bodyTypes = []func() any{
	func() any { return new(analytics.ActivityInput) },
	func() any { return new(analytics.IngestActivitiesInput) },
	func() any { return new(analytics.ClientInput) },
	func() any { return new(analytics.ReportInput) },
	func() any { return new(analytics.IngestReportsInput) },
}

var decodeSeeds = []string{
	`{"activities":[{"id":"7c0e4a8e-1d7b-4c53-a1a5-1f9f3c2f6f01","user":{"id":"1","username":"ana","email":"a@example.com","full_name":"Ana"},` +
		`"activity_type":"login","description":"Signed in","ip_address":"10.0.0.7","user_agent":"Mozilla/5.0","method":"GET","path":"/x/",` +
		`"status_code":200,"duration_ms":12.5,"metadata":{"a":[1,{"b":null}],"c":true,"d":"e"},"created_at":"2026-01-01T10:00:00+02:00"}]}`,
	`{"activity_type":"report_view","description":"x","metadata":{"page":3},"report_id":"7c0e4a8e-1d7b-4c53-a1a5-1f9f3c2f6f01"}`,
	`{"id":"7c0e4a8e-1d7b-4c53-a1a5-1f9f3c2f6f01","company_name":"Contoso","industry":"Retail","status":"active"}`,
	`{"reports":[{"client_id":"7c0e4a8e-1d7b-4c53-a1a5-1f9f3c2f6f01","report_type":"cost","status":"completed","title":"t",` +
		`"created_by":{"id":"1"},"recommendations":[{"category":"Cost","business_impact":"High","potential_savings":"12.50","resource_type":"vm"}]}]}`,
	`{"client_id":"7c0e4a8e-1d7b-4c53-a1a5-1f9f3c2f6f01","report_type":"security","recommendations":[{"potential_savings":1.5}]}`,
	`{"activities":[]}  `, "{\"activities\":[{\"description\":\"a\xffb\"},{\"metadata\":{\"k\xa3\":[0]}}]}", `{"Activities":[{"Description":"x"}]}`,
	`{"activities":[{"description":"x","description":"y"}]}`, `{"activities":[{"nope":1}]}`, `{"activities":[{"status_code":1.0}]}`,
	`{"activities":[{"status_code":1e2}]}`, `{"activities":[{"status_code":99999999999999999999}]}`,
	`{"activities":[{"description":null}]}`, `{"activities":[{"created_at":"2026-01-01"}]}`,
	`{"activities":[{"description":"\ud800x"}]}`, `{"activities":[{"metadata":{"a":1e400}}]}`,
	`{"activities":[{"metadata":[]}]}`, `{"activities":[{"user":"bob"}]}`, `{"activities":{}}`,
	`{"activities":[{"duration_ms":"5"}]}`, `{"activities":[{"description":"x"}]} trailing`, `{"activities":[{"description":"x"}],}`,
	`{"activities":[{"metadata":{"a":"` + "\x01" + `"}}]}`, "{\"activities\":[{\"description\":\"a\tb\"}]}",
	`{"activities":[{"metadata":{"a":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}]}`,
	`{"activities":[{"metadata":{"a":` + strings.Repeat(`{"a":`, 200000) + "1" + strings.Repeat("}", 200000) + `}}]}`,
	`[]`, `null`, `,null`, `{"activities":null}`, `{"activities":[null]}`, `{"activities":[{"status_code":01}]}`,
	`{"activities":[{"duration_ms":.5}]}`, `{"activities":[{"description":"\/\b\f\n\r\t\"\\"}]}`, `{"activities":[{"description":"\x"}]}`,
	`{"reports":[{"recommendations":[{"potential_savings":"abc"}]}]}`, `{"reports":[{"created_by":[1,2]}]} {}`,
	`{} {}`, `{}}`, ``, `   `, `{"a":1`,
	`{"activities":[{"created_at":"2026-01-01T00:00:00.123456789123Z"}]}`, `{"activities":[{"created_at":"2026-13-01T00:00:00Z"}]}`,
	`{"activities":[{"created_at":"2026-06-30T23:59:60Z"}]}`, `{"activities":[{"created_at":"2026-01-01t00:00:00z"}]}`,
	`{"activities":[{"created_at":"2026-01-01T00:00:00+24:00"}]}`, `{"activities":[{"created_at":" 2026-01-01T00:00:00Z"}]}`,
	`{"activities":[{"created_at":1767225600}]}`, `{"created_at":"2026-01-01T00:00:00-03:30","status":"active"}`,
	`{"reports":[{"csv_size_bytes":-1,"processing_started_at":"2026-01-01T00:00:00Z"}]}`,
	`{"reports":[{"recommendations":[{"potential_savings":"1e3"},{"potential_savings":-0.004},{"potential_savings":null}]}]}`,
}

// checkAgrees fails unless Decode gives data the value and error that
// encoding/json gives it, for every body type.
func checkAgrees(t *testing.T, data []byte) {
	t.Helper()
	for _, newBody := range bodyTypes {
		fast, std := newBody(), newBody()
		errFast, errStd := reqbody.Decode(data, fast), reqbody.DecodeStd(data, std)
		if fmt.Sprint(errFast) != fmt.Sprint(errStd) {
			t.Fatalf("%T %.200q: Decode error %v, encoding/json %v", fast, data, errFast, errStd)
		}
		if errStd != nil {
			continue
		}
		// Compared as JSON, or printed where a value cannot be encoded
		// (a time with a zone offset of 24 hours decodes but does not
		// encode).
		a, errA := json.Marshal(fast)
		b, errB := json.Marshal(std)
		if errA != nil || errB != nil {
			a, b = fmt.Appendf(nil, "%+v", fast), fmt.Appendf(nil, "%+v", std)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%T %.200q: Decode gives %s, encoding/json %s", fast, data, a, b)
		}
	}
}

func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range decodeSeeds {
		checkAgrees(t, []byte(s))
	}
}

func TestDecodeTrailingData(t *testing.T) {
	var in analytics.ClientInput
	if err := reqbody.Decode([]byte(`{"status":"active"} {"status":"x"}`), &in); err != reqbody.ErrTrailingData {
		t.Fatalf("Decode of two objects: %v, want ErrTrailingData", err)
	}
	if err := reqbody.Decode([]byte(" {\"status\":\"active\"}\r\n\t "), &in); err != nil || in.Status != "active" {
		t.Fatalf("Decode with white space around: %v, %+v", err, in)
	}
}

// FuzzDecode holds Decode to encoding/json's results on arbitrary input:
//
//	go test ./internal/reqbody -run XXX -fuzz FuzzDecode -fuzztime 5m
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkAgrees)
}
