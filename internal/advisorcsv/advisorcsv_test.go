package advisorcsv

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/advisoranalytics/advisor-analytics/store"
	"github.com/advisoranalytics/advisor-analytics/store/storedriver"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, data []byte, opts Config) *Result {
	t.Helper()
	res, err := Parse(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checkValid(t, res)
	return res
}

// checkValid fails t when a recommendation would not pass the store's
// validation, or when the counts of res disagree.
func checkValid(t testing.TB, res *Result) {
	t.Helper()
	if got, want := len(res.Recommendations)+len(res.Skipped), res.Rows; got != want {
		t.Errorf("len(Recommendations)+len(Skipped) = %d, Rows = %d", got, want)
	}
	recs := append([]store.Recommendation(nil), res.Recommendations...)
	r := store.Report{
		ID:              store.NewID(),
		ClientID:        store.NewID(),
		ReportType:      store.ReportDetailed,
		Recommendations: recs,
	}
	if err := storedriver.PrepareReport(&r, time.Now()); err != nil {
		t.Errorf("PrepareReport: %v", err)
	}
	for i, rec := range res.Recommendations {
		if rec.Recommendation == "" {
			t.Errorf("recommendation %d has empty text", i)
		}
		for _, s := range []string{rec.Recommendation, rec.SubscriptionID, rec.SubscriptionName,
			rec.ResourceGroup, rec.ResourceName, rec.ResourceType, rec.Currency} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Errorf("recommendation %d holds invalid text %q", i, s)
			}
		}
	}
	for _, s := range res.Skipped {
		if s.Row < 2 || s.Line < s.Row || s.Reason == "" {
			t.Errorf("bad skip %+v", s)
		}
	}
}

func countBy[K comparable](recs []store.Recommendation, key func(store.Recommendation) K) map[K]int {
	m := map[K]int{}
	for _, r := range recs {
		m[key(r)]++
	}
	return m
}

func TestParseExportExample(t *testing.T) {
	data := readTestdata(t, "advisor_export_example.csv")
	res := mustParse(t, data, Config{})

	if res.Rows != 40 || len(res.Recommendations) != 40 || len(res.Skipped) != 0 {
		t.Fatalf("rows %d, imported %d, skipped %v; want 40, 40, none", res.Rows, len(res.Recommendations), res.Skipped)
	}
	if res.Encoding != EncodingUTF8 {
		t.Errorf("Encoding = %q, want %q", res.Encoding, EncodingUTF8)
	}
	wantCats := map[store.Category]int{
		store.CategorySecurity:              11,
		store.CategoryPerformance:           11,
		store.CategoryOperationalExcellence: 9,
		store.CategoryCost:                  5,
		store.CategoryReliability:           4,
	}
	if diff := cmp.Diff(wantCats, countBy(res.Recommendations, func(r store.Recommendation) store.Category { return r.Category })); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
	wantImpacts := map[store.Impact]int{store.ImpactHigh: 20, store.ImpactLow: 13, store.ImpactMedium: 7}
	if diff := cmp.Diff(wantImpacts, countBy(res.Recommendations, func(r store.Recommendation) store.Impact { return r.BusinessImpact })); diff != "" {
		t.Errorf("impacts (-want +got):\n%s", diff)
	}
	var total float64
	noRG := 0
	for _, r := range res.Recommendations {
		total += r.PotentialSavings
		if r.ResourceGroup == "" {
			noRG++
		}
	}
	if total != 4976+28456+578+463 {
		t.Errorf("total savings = %v, want %v", total, 4976+28456+578+463)
	}
	if noRG != 6 {
		t.Errorf("%d rows without resource group, want 6", noRG)
	}

	// Row 10 (line 11): a subscription-level cost row whose record spans
	// two lines; row 11 starts on line 13.
	want := map[int]store.Recommendation{
		0: {
			Category:         store.CategoryOperationalExcellence,
			BusinessImpact:   store.ImpactHigh,
			Recommendation:   "Design your storage accounts to prevent reaching the maximum subscription limit",
			SubscriptionID:   "52e6b438-f2a7-269e-6513-0c5ca6a3a450",
			SubscriptionName: "Contoso Production",
			ResourceGroup:    "rg-web-prod",
			ResourceName:     "storag-565",
			ResourceType:     "microsoft.storage/storageaccounts",
		},
		9: {
			Category:         store.CategoryCost,
			BusinessImpact:   store.ImpactLow,
			Recommendation:   "Consider Cosmos DB reserved instance to save over your pay-as-you-go costs",
			SubscriptionID:   "128b2f33-d23f-892f-1818-95315d9dc9f8",
			SubscriptionName: "Contoso, Dev/Test",
			ResourceGroup:    "",
			ResourceName:     "Contoso, Dev/Test",
			ResourceType:     "Subscription",
			PotentialSavings: 4976,
			Currency:         "USD",
		},
		10: {
			Category:         store.CategoryOperationalExcellence,
			BusinessImpact:   store.ImpactMedium,
			Recommendation:   "Design your storage accounts to prevent reaching the maximum subscription limit",
			SubscriptionID:   "52e6b438-f2a7-269e-6513-0c5ca6a3a450",
			SubscriptionName: "Contoso Production",
			ResourceGroup:    "rg-data",
			ResourceName:     "storag-173",
			ResourceType:     "microsoft.storage/storageaccounts",
		},
		// Line 18: a cost row with empty savings.
		15: {
			Category:         store.CategoryCost,
			BusinessImpact:   store.ImpactLow,
			Recommendation:   "Use Standard Storage to store Managed Disks snapshots",
			SubscriptionID:   "0ed90475-e8e2-81e7-36f6-1600099950d8",
			SubscriptionName: "Fabrikam Shared Services",
			ResourceGroup:    "rg-data",
			ResourceName:     "snapsh-408",
			ResourceType:     "microsoft.compute/snapshots",
			Currency:         "USD",
		},
	}
	checkRecommendations(t, res, want)
}

// checkRecommendations compares the recommendations of res at the indexes
// of want.
func checkRecommendations(t *testing.T, res *Result, want map[int]store.Recommendation) {
	t.Helper()
	for i, w := range want {
		if diff := cmp.Diff(w, res.Recommendations[i]); diff != "" {
			t.Errorf("recommendation %d (-want +got):\n%s", i, diff)
		}
	}
}

// TestParseExportRowNumbers breaks rows of the example export and checks
// the row and line reported for them, after records with line breaks.
func TestParseExportRowNumbers(t *testing.T) {
	data := string(readTestdata(t, "advisor_export_example.csv"))
	data = strings.Replace(data, ",463,USD,", ",-463,USD,", 1)
	data = strings.Replace(data, "Security,Low,Key Vault secrets", "Securty,Low,Key Vault secrets", 1)
	res := mustParse(t, []byte(data), Config{})
	want := []Skip{
		{Row: 3, Line: 3, Reason: `unknown Category "Securty"`},
		{Row: 38, Line: 43, Reason: `invalid Potential Annual Cost Savings "-463": negative amount`},
	}
	if diff := cmp.Diff(want, res.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if res.Rows != 40 || len(res.Recommendations) != 38 {
		t.Errorf("rows %d, imported %d; want 40, 38", res.Rows, len(res.Recommendations))
	}
}

func TestParseMetadataFile(t *testing.T) {
	data := readTestdata(t, "mcp_advisor_recommendation_metadata.csv")
	res := mustParse(t, data, Config{})
	if res.Rows != 53 || len(res.Recommendations) != 53 || len(res.Skipped) != 0 {
		t.Fatalf("rows %d, imported %d, skipped %v; want 53, 53, none", res.Rows, len(res.Recommendations), res.Skipped)
	}
	wantCats := map[store.Category]int{store.CategoryReliability: 47, store.CategoryOperationalExcellence: 6}
	if diff := cmp.Diff(wantCats, countBy(res.Recommendations, func(r store.Recommendation) store.Category { return r.Category })); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
	checkRecommendations(t, res, map[int]store.Recommendation{
		0: {
			Category:       store.CategoryReliability,
			BusinessImpact: store.ImpactHigh,
			Recommendation: "Add Endpoint",
			ResourceType:   "Microsoft.Network/trafficmanagerprofiles",
		},
		3: {
			Category:       store.CategoryOperationalExcellence,
			BusinessImpact: store.ImpactHigh,
			Recommendation: "Upgrade from legacy CRS 2.2.9 rule set to the latest DRS version",
			ResourceType:   "MICROSOFT.NETWORK/APPLICATIONGATEWAYWEBAPPLICATIONFIREWALLPOLICIES",
		},
	})
}

const header = "Category,Business Impact,Recommendation,Subscription ID,Subscription Name,Resource Group,Resource Name,Type,Potential Annual Cost Savings,Potential Cost Savings Currency\n"

func TestParseRows(t *testing.T) {
	base := store.Recommendation{
		Category:         store.CategoryCost,
		BusinessImpact:   store.ImpactHigh,
		Recommendation:   "Buy reserved instances",
		SubscriptionID:   "0ed90475-e8e2-81e7-36f6-1600099950d8",
		SubscriptionName: "Sub",
		ResourceGroup:    "rg",
		ResourceName:     "vm1",
		ResourceType:     "microsoft.compute/virtualmachines",
		Currency:         "USD",
	}
	with := func(f func(*store.Recommendation)) store.Recommendation {
		r := base
		f(&r)
		return r
	}
	tests := []struct {
		name     string
		row      string
		want     *store.Recommendation
		wantSkip string
	}{
		{"plain savings", `Cost,High,Buy reserved instances,0ed90475-e8e2-81e7-36f6-1600099950d8,Sub,rg,vm1,microsoft.compute/virtualmachines,4561,USD`,
			ptr(with(func(r *store.Recommendation) { r.PotentialSavings = 4561 })), ""},
		{"quoted thousands", `Cost,High,Buy reserved instances,0ed90475-e8e2-81e7-36f6-1600099950d8,Sub,rg,vm1,microsoft.compute/virtualmachines,"5,332",USD`,
			ptr(with(func(r *store.Recommendation) { r.PotentialSavings = 5332 })), ""},
		{"thousands and cents", `Cost,High,Buy reserved instances,0ed90475-e8e2-81e7-36f6-1600099950d8,Sub,rg,vm1,microsoft.compute/virtualmachines,"1,234.56",usd`,
			ptr(with(func(r *store.Recommendation) { r.PotentialSavings = 1234.56 })), ""},
		{"millions", `Cost,High,Buy reserved instances,0ed90475-e8e2-81e7-36f6-1600099950d8,Sub,rg,vm1,microsoft.compute/virtualmachines,"1,234,567",USD`,
			ptr(with(func(r *store.Recommendation) { r.PotentialSavings = 1234567 })), ""},
		{"empty savings and currency", `Cost,High,Buy reserved instances,0ed90475-e8e2-81e7-36f6-1600099950d8,Sub,rg,vm1,microsoft.compute/virtualmachines,,`,
			ptr(with(func(r *store.Recommendation) { r.Currency = "" })), ""},
		{"upper-case subscription id, spaces, no resource group",
			`  Cost , HIGH ,Buy reserved instances,0ED90475-E8E2-81E7-36F6-1600099950D8,Sub,No Resource Group,vm1,microsoft.compute/virtualmachines,,USD`,
			ptr(with(func(r *store.Recommendation) { r.ResourceGroup = "" })), ""},
		{"HighAvailability", `HighAvailability,Low,Buy reserved instances,0ed90475-e8e2-81e7-36f6-1600099950d8,Sub,rg,vm1,microsoft.compute/virtualmachines,,USD`,
			ptr(with(func(r *store.Recommendation) {
				r.Category = store.CategoryReliability
				r.BusinessImpact = store.ImpactLow
			})), ""},
		{"OperationalExcellence", `OperationalExcellence,Medium,Buy reserved instances,0ed90475-e8e2-81e7-36f6-1600099950d8,Sub,rg,vm1,microsoft.compute/virtualmachines,,USD`,
			ptr(with(func(r *store.Recommendation) {
				r.Category = store.CategoryOperationalExcellence
				r.BusinessImpact = store.ImpactMedium
			})), ""},
		{"Operational excellence", `Operational excellence,,Buy reserved instances,0ed90475-e8e2-81e7-36f6-1600099950d8,Sub,rg,vm1,microsoft.compute/virtualmachines,,USD`,
			ptr(with(func(r *store.Recommendation) { r.Category = store.CategoryOperationalExcellence; r.BusinessImpact = "" })), ""},
		{"embedded newline and doubled quotes", "Security,High,\"Fix \"\"this\"\"\nnow, please\",0ed90475-e8e2-81e7-36f6-1600099950d8,Sub,rg,vm1,microsoft.compute/virtualmachines,,USD",
			ptr(with(func(r *store.Recommendation) {
				r.Category = store.CategorySecurity
				r.Recommendation = "Fix \"this\"\nnow, please"
			})), ""},
		{"short row", `Performance,Low,Buy reserved instances`,
			&store.Recommendation{Category: store.CategoryPerformance, BusinessImpact: store.ImpactLow, Recommendation: "Buy reserved instances"}, ""},
		{"negative savings", `Cost,High,Buy reserved instances,,,,,,-5,USD`, nil, `invalid Potential Annual Cost Savings "-5": negative amount`},
		{"junk savings", `Cost,High,Buy reserved instances,,,,,,lots,USD`, nil, `invalid Potential Annual Cost Savings "lots": not a number`},
		{"bad grouping", `Cost,High,Buy reserved instances,,,,,,"53,32",USD`, nil, `invalid Potential Annual Cost Savings "53,32": not a number`},
		{"too large", `Cost,High,Buy reserved instances,,,,,,9999999999999,USD`, nil, `invalid Potential Annual Cost Savings "9999999999999": amount too large`},
		{"NaN", `Cost,High,Buy reserved instances,,,,,,NaN,USD`, nil, `invalid Potential Annual Cost Savings "NaN": not a number`},
		{"bad currency", `Cost,High,Buy reserved instances,,,,,,5,US$`, nil, `invalid Potential Cost Savings Currency "US$": not a 3-letter ISO 4217 code`},
		{"unknown impact", `Cost,Critical,Buy reserved instances,,,,,,5,USD`, nil, `unknown Business Impact "Critical"`},
		{"unknown category", `Sustainability,High,Buy reserved instances,,,,,,5,USD`, nil, `unknown Category "Sustainability"`},
		{"empty category", `,High,Buy reserved instances,,,,,,5,USD`, nil, `empty Category`},
		{"empty recommendation", `Cost,High,  ,,,,,,5,USD`, nil, `empty Recommendation`},
		{"bare quote", `Cost,High,Buy "reserved" instances,,,,,,5,USD`, nil, `malformed CSV record: bare " in non-quoted-field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustParse(t, []byte(header+tt.row+"\n"), Config{})
			if res.Rows != 1 {
				t.Fatalf("Rows = %d, want 1", res.Rows)
			}
			if tt.want != nil {
				if len(res.Recommendations) != 1 {
					t.Fatalf("skipped %v, want a recommendation", res.Skipped)
				}
				if diff := cmp.Diff(*tt.want, res.Recommendations[0]); diff != "" {
					t.Errorf("recommendation (-want +got):\n%s", diff)
				}
				return
			}
			want := []Skip{{Row: 2, Line: 2, Reason: tt.wantSkip}}
			if diff := cmp.Diff(want, res.Skipped); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestParseLayout(t *testing.T) {
	rec := store.Recommendation{
		Category:       store.CategorySecurity,
		BusinessImpact: store.ImpactHigh,
		Recommendation: "Enable MFA",
		ResourceGroup:  "rg",
	}
	tests := []struct {
		name      string
		input     string
		opts      Config
		want      []store.Recommendation
		wantSkips []Skip
	}{
		{"BOM and CRLF", "\ufeffCategory,Business Impact,Recommendation,Resource Group\r\nSecurity,High,Enable MFA,rg\r\n", Config{},
			[]store.Recommendation{rec}, nil},
		{"sep comma line", "sep=,\r\nCategory,Business Impact,Recommendation,Resource Group\r\nSecurity,High,Enable MFA,rg\r\n", Config{},
			[]store.Recommendation{rec}, nil},
		{"sep semicolon line", "\ufeffsep=;\nCategory;Business Impact;Recommendation;Resource Group;Potential Annual Cost Savings\nSecurity;High;Enable MFA;rg;\"1,234.50\"\nSecurity;High;;rg;\n",
			Config{}, []store.Recommendation{with(rec, func(r *store.Recommendation) { r.PotentialSavings = 1234.5 })},
			[]Skip{{Row: 3, Line: 4, Reason: "empty Recommendation"}}},
		{"quoted sep line", "\"sep=;\"\nRecommendation;Category\nEnable MFA;Security\n", Config{},
			[]store.Recommendation{{Category: store.CategorySecurity, Recommendation: "Enable MFA"}}, nil},
		{"semicolons without sep line", "Category;Business Impact;Recommendation;Resource Group\nSecurity;High;Enable MFA;rg\n", Config{},
			[]store.Recommendation{rec}, nil},
		{"tabs", "Category\tBusiness Impact\tRecommendation\tResource Group\nSecurity\tHigh\tEnable MFA\trg\n", Config{},
			[]store.Recommendation{rec}, nil},
		{"header aliases, any case and order", "resource_group,SHORT DESCRIPTION,impactstring,CategoryString,Subscription Id\nrg,Enable MFA,high,Security,x\n", Config{},
			[]store.Recommendation{with(rec, func(r *store.Recommendation) { r.SubscriptionID = "x" })}, nil},
		{"blank lines and empty rows ignored", "\n\nCategory,Business Impact,Recommendation,Resource Group\n\n,,,\nSecurity,High,Enable MFA,rg\n\n  \n,,\"\",\nSecurity,Loud,Enable MFA,rg\n", Config{},
			[]store.Recommendation{rec}, []Skip{{Row: 10, Line: 10, Reason: `unknown Business Impact "Loud"`}}},
		{"no category column, no default", "Business Impact,Recommendation\nHigh,Enable MFA\n", Config{},
			nil, []Skip{{Row: 2, Line: 2, Reason: "no Category column and no default category"}}},
		{"no category column, default", "Business Impact,Recommendation,Resource Group\nHigh,Enable MFA,rg\n", Config{DefaultCategory: store.CategorySecurity},
			[]store.Recommendation{rec}, nil},
		{"empty category cell, default", "Category,Business Impact,Recommendation,Resource Group\n,High,Enable MFA,rg\n", Config{DefaultCategory: store.CategorySecurity},
			[]store.Recommendation{rec}, nil},
		{"only the recommendation column", "Recommendation\nEnable MFA\n", Config{DefaultCategory: store.CategorySecurity},
			[]store.Recommendation{{Category: store.CategorySecurity, Recommendation: "Enable MFA"}}, nil},
		{"duplicate column: first wins", "Recommendation,Label,Category\nEnable MFA,Other,Security\n", Config{},
			[]store.Recommendation{{Category: store.CategorySecurity, Recommendation: "Enable MFA"}}, nil},
		{"multi-line header and records", "\"Recom\nmendation\",Category\n\"a\nb\nc\",Security\n\"x\",Sec\n", Config{},
			[]store.Recommendation{{Category: store.CategorySecurity, Recommendation: "a\nb\nc"}},
			[]Skip{{Row: 3, Line: 6, Reason: `unknown Category "Sec"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustParse(t, []byte(tt.input), tt.opts)
			if diff := cmp.Diff(tt.want, res.Recommendations); diff != "" {
				t.Errorf("recommendations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSkips, res.Skipped); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
		})
	}
}

func with(r store.Recommendation, f func(*store.Recommendation)) store.Recommendation {
	f(&r)
	return r
}

func TestParseWindows1252(t *testing.T) {
	// "Réduire les coûts – 5 €" with Windows-1252 bytes: é=E9, û=FB,
	// – (en dash)=96, €=80; "Société" in the subscription name.
	input := []byte("Category,Business Impact,Recommendation,Subscription Name\r\nCost,High,R\xe9duire les co\xfbts \x96 5 \x80,Soci\xe9t\xe9\r\n")
	res := mustParse(t, input, Config{})
	if res.Encoding != EncodingWindows1252 {
		t.Errorf("Encoding = %q, want %q", res.Encoding, EncodingWindows1252)
	}
	want := []store.Recommendation{{
		Category:         store.CategoryCost,
		BusinessImpact:   store.ImpactHigh,
		Recommendation:   "Réduire les coûts – 5 €",
		SubscriptionName: "Société",
	}}
	if diff := cmp.Diff(want, res.Recommendations); diff != "" {
		t.Errorf("recommendations (-want +got):\n%s", diff)
	}
}

func TestDecodeWindows1252Table(t *testing.T) {
	var all []byte
	for b := 0; b < 256; b++ {
		all = append(all, byte(b))
	}
	got := []rune(decodeWindows1252(all))
	if len(got) != 256 {
		t.Fatalf("decoded %d runes, want 256", len(got))
	}
	for b, r := range got {
		switch {
		case b < 0x80 || b >= 0xA0:
			if r != rune(b) {
				t.Errorf("byte %#x → %U, want %U", b, r, rune(b))
			}
		case b == 0x80 && r != '€', b == 0x8A && r != 'Š', b == 0x96 && r != '–', b == 0x9F && r != 'Ÿ', b == 0x81 && r != 0x81:
			t.Errorf("byte %#x → %U", b, r)
		}
	}
}

func TestParseUTF16(t *testing.T) {
	text := "Category\tBusiness Impact\tRecommendation\r\nSecurity\tHigh\tActiver l’authentification\r\n"
	le := []byte{0xFF, 0xFE}
	be := []byte{0xFE, 0xFF}
	for _, r := range text {
		le = append(le, byte(r), byte(r>>8))
		be = append(be, byte(r>>8), byte(r))
	}
	want := []store.Recommendation{{Category: store.CategorySecurity, BusinessImpact: store.ImpactHigh, Recommendation: "Activer l’authentification"}}
	for name, tc := range map[string]struct {
		in  []byte
		enc string
	}{"le": {le, EncodingUTF16LE}, "be": {be, EncodingUTF16BE}} {
		t.Run(name, func(t *testing.T) {
			res := mustParse(t, tc.in, Config{})
			if res.Encoding != tc.enc {
				t.Errorf("Encoding = %q, want %q", res.Encoding, tc.enc)
			}
			if diff := cmp.Diff(want, res.Recommendations); diff != "" {
				t.Errorf("recommendations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseNotAdvisorCSV(t *testing.T) {
	tests := []struct {
		name       string
		input      []byte
		wantReason string
	}{
		{"empty", nil, "empty file"},
		{"whitespace", []byte(" \r\n\n\t"), "empty file"},
		{"BOM only", []byte("\ufeff"), "empty file"},
		{"sep line only", []byte("sep=,\r\n"), "no header row"},
		{"JSON object", []byte(`{"recommendations":[{"category":"Cost"}]}`), "JSON"},
		{"JSON array", []byte(`[{"Recommendation":"x","Category":"Cost"}]`), "JSON"},
		{"binary", []byte{0x00, 0x01, 0x02, 0xFF, 0x00, 'a', ',', 'b'}, "binary data"},
		{"xlsx", []byte("PK\x03\x04\x14\x00\x06\x00"), "zip archive"},
		{"xls", []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0}, "legacy Excel"},
		{"pdf", []byte("%PDF-1.7\n"), "PDF"},
		{"no recommendation column", []byte("Category,Business Impact,Resource Name\nCost,High,vm\n"), `no Recommendation column in header ["Category", "Business Impact", "Resource Name"]`},
		{"plain text", []byte("hello world\nthis is not a CSV export\n"), "no Recommendation column"},
		{"unterminated quote in header", []byte("\"Recommendation,Category\nx,Cost\n"), "malformed header"},
		{"odd UTF-16", []byte{0xFF, 0xFE, 'a'}, "odd number of bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse(bytes.NewReader(tt.input), Config{})
			if !errors.Is(err, ErrNotAdvisorCSV) {
				t.Fatalf("Parse = %+v, %v; want ErrNotAdvisorCSV", res, err)
			}
			if !strings.Contains(err.Error(), tt.wantReason) {
				t.Errorf("error %q does not contain %q", err, tt.wantReason)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	data := readTestdata(t, "advisor_export_example.csv")
	tests := []struct {
		name    string
		opts    Config
		wantErr error
	}{
		{"rows at limit", Config{MaxRows: 40}, nil},
		{"rows over limit", Config{MaxRows: 39}, ErrTooLarge},
		{"bytes at limit", Config{MaxBytes: int64(len(data))}, nil},
		{"bytes over limit", Config{MaxBytes: int64(len(data)) - 1}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(bytes.NewReader(data), tt.opts)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Parse error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseOptionsValidation(t *testing.T) {
	tests := []struct {
		opts  Config
		field string
	}{
		{Config{MaxRows: -1}, "Config.MaxRows"},
		{Config{MaxBytes: -1}, "Config.MaxBytes"},
		{Config{DefaultCategory: "Cost"}, "Config.DefaultCategory"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			_, err := Parse(strings.NewReader("Recommendation\nx\n"), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.field) || errors.Is(err, ErrNotAdvisorCSV) {
				t.Errorf("Parse error = %v, want one naming %s", err, tt.field)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestParseReadError(t *testing.T) {
	_, err := Parse(failingReader{}, Config{})
	if err == nil || !strings.Contains(err.Error(), "connection reset") || errors.Is(err, ErrNotAdvisorCSV) {
		t.Errorf("Parse error = %v, want the read error", err)
	}
}

func TestParseSavings(t *testing.T) {
	tests := []struct {
		in     string
		want   float64
		reason string
	}{
		{"", 0, ""},
		{"0", 0, ""},
		{"4561", 4561, ""},
		{"5,332", 5332, ""},
		{"1,234.56", 1234.56, ""},
		{"0.5", 0.5, ""},
		{"1000000000000", 1e12, ""},
		{"1000000000000.01", 0, "amount too large"},
		{"-1", 0, "negative amount"},
		{"(12)", 0, "negative amount"},
		{"1,23", 0, "not a number"},
		{",123", 0, "not a number"},
		{"1234,567", 0, "not a number"},
		{"1.2.3", 0, "not a number"},
		{"1.", 0, "not a number"},
		{".5", 0, "not a number"},
		{"1e5", 0, "not a number"},
		{"Inf", 0, "not a number"},
		{"$5", 0, "not a number"},
		{"5 USD", 0, "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, reason := parseSavings(tt.in)
			if got != tt.want || reason != tt.reason {
				t.Errorf("parseSavings(%q) = %v, %q; want %v, %q", tt.in, got, reason, tt.want, tt.reason)
			}
		})
	}
}

// BenchmarkParse parses a 100,000-row export (the default MaxRows) built
// from the example file's rows.
func BenchmarkParse(b *testing.B) {
	example := readTestdata(b, "advisor_export_example.csv")
	headerEnd := bytes.Index(example, []byte("\r\n")) + 2
	body := example[headerEnd:]
	var buf bytes.Buffer
	buf.Write(example[:headerEnd])
	for range 100_000 / 40 { // the example has 40 rows
		buf.Write(body)
	}
	res, err := Parse(bytes.NewReader(buf.Bytes()), Config{MaxRows: 1 << 20, MaxBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	rows := res.Rows
	if rows != 100_000 {
		b.Fatalf("Rows = %d, want 100000", rows)
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(buf.Bytes()), Config{MaxRows: 1 << 20, MaxBytes: 1 << 30}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestParseCategoryAndImpact(t *testing.T) {
	cats := []struct {
		in   string
		want store.Category
		ok   bool
	}{
		{"Cost", store.CategoryCost, true},
		{"SECURITY", store.CategorySecurity, true},
		{"reliability", store.CategoryReliability, true},
		{"HighAvailability", store.CategoryReliability, true},
		{"High Availability", store.CategoryReliability, true},
		{"Operational excellence", store.CategoryOperationalExcellence, true},
		{"operational_excellence", store.CategoryOperationalExcellence, true},
		{"OperationalExcellence", store.CategoryOperationalExcellence, true},
		{"Performance", store.CategoryPerformance, true},
		{"Perf", "", false},
		{"", "", false},
	}
	for _, tt := range cats {
		if got, ok := parseCategory(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("parseCategory(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	impacts := []struct {
		in   string
		want store.Impact
		ok   bool
	}{
		{"High", store.ImpactHigh, true},
		{"MEDIUM", store.ImpactMedium, true},
		{"low", store.ImpactLow, true},
		{"", "", true},
		{"Critical", "", false},
		{"Hi", "", false},
	}
	for _, tt := range impacts {
		if got, ok := parseImpact(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("parseImpact(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
