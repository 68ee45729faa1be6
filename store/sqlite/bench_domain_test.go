package sqlite_test

import (
	"testing"

	"github.com/advisoranalytics/advisor-analytics/internal/benchdata"
)

// BenchmarkDomainReads measures each report aggregation the analytics
// routes use over 10,000 reports with 100,000 recommendations.
func BenchmarkDomainReads(b *testing.B) {
	s, _ := openStore(b)
	opts, err := benchdata.Fill(b.Context(), s, benchdata.Config{Activities: 1000, Recommendations: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	benchdata.Run(b, benchdata.DomainReads(b.Context(), s, opts.End))
}

// BenchmarkClientList reads pages of 50 of the client directory among
// 100,000 clients.
func BenchmarkClientList(b *testing.B) {
	s, _ := openStore(b)
	cases, err := benchdata.ClientDirectory(b.Context(), s, 100_000)
	if err != nil {
		b.Fatal(err)
	}
	benchdata.Run(b, cases)
}
