package advisorcsv_test

import (
	"fmt"
	"strings"

	"github.com/advisoranalytics/advisor-analytics/internal/advisorcsv"
)

func ExampleParse() {
	export := "\ufeffCategory,Business Impact,Recommendation,Subscription ID,Resource Group,Potential Annual Cost Savings,Potential Cost Savings Currency\r\n" +
		"Cost,High,Right-size or shutdown underutilized virtual machines,0ed90475-e8e2-81e7-36f6-1600099950d8,rg-data,\"5,332\",USD\r\n" +
		"HighAvailability,Medium,Enable Soft Delete to protect your blob data,0ed90475-e8e2-81e7-36f6-1600099950d8,No resource group,,\r\n" +
		"Cost,Low,Buy reserved instances,0ed90475-e8e2-81e7-36f6-1600099950d8,rg-data,-12,USD\r\n"
	res, err := advisorcsv.Parse(strings.NewReader(export), advisorcsv.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Recommendations {
		fmt.Printf("%s/%s %q rg=%q savings=%.2f currency=%q\n", r.Category, r.BusinessImpact, r.Recommendation, r.ResourceGroup, r.PotentialSavings, r.Currency)
	}
	for _, s := range res.Skipped {
		fmt.Printf("row %d skipped: %s\n", s.Row, s.Reason)
	}

	_, err = advisorcsv.Parse(strings.NewReader(`{"not":"a csv"}`), advisorcsv.Config{})
	fmt.Println(err)
	// Output:
	// cost/high "Right-size or shutdown underutilized virtual machines" rg="rg-data" savings=5332.00 currency="USD"
	// reliability/medium "Enable Soft Delete to protect your blob data" rg="" savings=0.00 currency=""
	// row 4 skipped: invalid Potential Annual Cost Savings "-12": negative amount
	// advisorcsv: not an Azure Advisor CSV export: the file holds JSON, not CSV
}
