package advisorcsv

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"advisor_export_example.csv", "mcp_advisor_recommendation_metadata.csv"} {
		f.Add(readTestdata(f, name))
	}
	for _, s := range []string{
		"",
		"sep=;\nRecommendation;Category;Potential Annual Cost Savings\nx;Cost;\"1,234.5\"\n",
		"\ufeffCategory,Business Impact,Recommendation\r\nSecurity,High,\"a\r\nb\"\r\n",
		"Recommendation,Category,Currency\nx,Cost,eur\ny,Cost,€€€\n",
		"Category,Recommendation\nCost,R\xe9duire \x80\n",
		"\xff\xfeR\x00e\x00c\x00",
		"{\"a\":1}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data), Config{MaxRows: 1000, MaxBytes: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrNotAdvisorCSV) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if res != nil {
				t.Fatalf("non-nil result with error %v", err)
			}
			return
		}
		checkValid(t, res)
	})
}
