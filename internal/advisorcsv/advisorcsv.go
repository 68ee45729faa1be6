// Package advisorcsv reads the CSV file the Azure portal produces with
// Advisor → Recommendations → "Download as CSV" and turns its rows into
// store.Recommendation records.
//
// The reader is forgiving about the shape of the file and strict about its
// values:
//
//   - The input is read as a stream, one chunk at a time: memory does not
//     grow with the file, only with the rows imported.
//   - A UTF-8 byte-order mark is removed; UTF-16 with a byte-order mark is
//     decoded; a file that is not valid UTF-8 (re-saved by Excel in a legacy
//     code page) is decoded as Windows-1252 from its first byte that is not
//     UTF-8 on (all of it when the text before is plain ASCII, as Excel
//     writes it). Result.Encoding names the encoding found.
//   - An optional first line "sep=," or "sep=;" (as Excel writes it) sets
//     the delimiter. Without it the delimiter is a comma, or a semicolon or
//     a tab when only that finds the header.
//   - Columns are found by header name, ignoring case, spaces and
//     punctuation, with the aliases of the portal and of the Advisor
//     metadata files (Category/CategoryString, Business Impact/Impact/
//     ImpactString, Recommendation/Label/Short Description, Type/Resource
//     Type, …). Only the Recommendation column is required; missing
//     columns read as empty cells.
//   - Category: Cost, Security, Reliability (also HighAvailability),
//     Operational excellence (also OperationalExcellence) and Performance.
//     A file exported from a single category tab has no Category column:
//     its rows take Config.DefaultCategory, and are skipped when that is
//     not set, because guessing the category from the recommendation text
//     would file rows under the wrong pillar.
//   - Business impact High, Medium or Low (any case); an empty impact is
//     kept empty (the analytics report it as unknown).
//   - Savings are annual amounts written as 4561, "5,332" or 1,234.56; an
//     empty cell is 0.
//   - "No resource group" (subscription-level rows) becomes an empty
//     resource group.
//   - A row whose values cannot be stored (unknown category or impact,
//     negative or malformed savings, an invalid currency, an empty
//     recommendation, a cell of an imported column longer than
//     MaxCellBytes, a malformed CSV record) is skipped and reported in
//     Result.Skipped with its row number and the reason. Blank lines and
//     rows whose cells are all empty are ignored.
//
// Every recommendation returned passes the store's validation
// (storedriver.PrepareReport), which the caller applies when it builds the report.
package advisorcsv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/advisoranalytics/advisor-analytics/store"
)

// Defaults of Config.
const (
	// MaxRowsDefault is the default Config.MaxRows.
	MaxRowsDefault = 100_000
	// MaxBytesDefault is the default Config.MaxBytes (32 MiB).
	MaxBytesDefault int64 = 32 << 20
	// MaxCellBytes is the longest cell of an imported column; a row with a
	// longer one is skipped.
	MaxCellBytes = 2048
)

// maxSavings is the largest amount store validation accepts.
const maxSavings = 1e12

var (
	// ErrNotAdvisorCSV is returned (wrapped with the reason) when the input
	// is not an Advisor CSV export: an empty file, binary data, JSON, a
	// malformed header, or a header without a Recommendation column.
	ErrNotAdvisorCSV = errors.New("advisorcsv: not an Azure Advisor CSV export")
	// ErrTooLarge is returned (wrapped) when the input has more than
	// Config.MaxBytes bytes or more than Config.MaxRows data rows.
	ErrTooLarge = errors.New("advisorcsv: file too large")
)

// Config tune Parse. The zero value uses the defaults.
type Config struct {
	// MaxRows is the largest number of data rows accepted; a file with more
	// yields ErrTooLarge. Defaults to MaxRowsDefault.
	MaxRows int
	// MaxBytes is the largest input accepted, in bytes; a larger input
	// yields ErrTooLarge. Defaults to MaxBytesDefault.
	MaxBytes int64
	// DefaultCategory is the category of rows without one: every row of a
	// file that has no Category column (an export from a single category
	// tab), and rows whose Category cell is empty. When it is empty such
	// rows are skipped.
	DefaultCategory store.Category
}

// Result is what Parse read.
type Result struct {
	// Recommendations are the rows imported, in file order.
	Recommendations []store.Recommendation
	// Skipped are the rows not imported, in file order, with the reason.
	Skipped []Skip
	// Rows is the number of data rows read: len(Recommendations) +
	// len(Skipped).
	Rows int
	// Encoding is the text encoding found: EncodingUTF8, EncodingUTF16LE,
	// EncodingUTF16BE or EncodingWindows1252.
	Encoding string
}

// Skip is a data row that was not imported.
type Skip struct {
	// Row is the row number a spreadsheet shows for the record: the header
	// is row 1, a record with line breaks inside quoted cells is one row,
	// and a leading "sep=" line is not counted (Excel hides it).
	Row int
	// Line is the 1-based line of the file where the record starts.
	Line int
	// Reason says why the row was skipped.
	Reason string
}

// field identifies a column Parse reads.
type field int

const (
	fieldCategory field = iota
	fieldImpact
	fieldRecommendation
	fieldSubscriptionID
	fieldSubscriptionName
	fieldResourceGroup
	fieldResourceName
	fieldResourceType
	fieldSavings
	fieldCurrency
	numFields
)

// headerAliases maps a normalised header name (see normHeader) to its field.
var headerAliases = map[string]field{
	"category":                      fieldCategory,
	"categorystring":                fieldCategory,
	"businessimpact":                fieldImpact,
	"impact":                        fieldImpact,
	"impactstring":                  fieldImpact,
	"recommendation":                fieldRecommendation,
	"label":                         fieldRecommendation,
	"shortdescription":              fieldRecommendation,
	"subscriptionid":                fieldSubscriptionID,
	"subscriptionname":              fieldSubscriptionName,
	"resourcegroup":                 fieldResourceGroup,
	"resourcegroupname":             fieldResourceGroup,
	"resourcename":                  fieldResourceName,
	"type":                          fieldResourceType,
	"resourcetype":                  fieldResourceType,
	"potentialannualcostsavings":    fieldSavings,
	"potentialannualcostsavingsusd": fieldSavings,
	"potentialcostsavings":          fieldSavings,
	"potentialannualsavings":        fieldSavings,
	"annualsavings":                 fieldSavings,
	"potentialcostsavingscurrency":  fieldCurrency,
	"savingscurrency":               fieldCurrency,
	"currency":                      fieldCurrency,
}

// categoryNames maps a normalised category (see normHeader) to its value.
var categoryNames = map[string]store.Category{
	"cost":                  store.CategoryCost,
	"security":              store.CategorySecurity,
	"reliability":           store.CategoryReliability,
	"highavailability":      store.CategoryReliability,
	"operationalexcellence": store.CategoryOperationalExcellence,
	"performance":           store.CategoryPerformance,
}

// normHeader lower-cases s and keeps only its letters and digits, so
// "Business Impact", "business_impact" and "BusinessImpact" compare equal.
func normHeader(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(s) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// Parse reads an Advisor CSV export from r. It returns ErrNotAdvisorCSV
// (wrapped with the reason) when r does not hold one, ErrTooLarge when it
// exceeds the limits of opts, and the error of r when reading fails. Rows
// that cannot be imported are reported in Result.Skipped.
func Parse(r io.Reader, opts Config) (*Result, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	maxBytes := opts.MaxBytes
	if maxBytes == 0 {
		maxBytes = MaxBytesDefault
	}
	maxRows := opts.MaxRows
	if maxRows == 0 {
		maxRows = MaxRowsDefault
	}
	dec, err := newDecoder(&limitedReader{r: r, n: maxBytes, max: maxBytes})
	if err != nil {
		return nil, err
	}
	text := bufio.NewReaderSize(dec, readChunk)
	sep, lineOffset, err := cutSepLine(text)
	if err != nil {
		return nil, err
	}
	p, err := newParser(text, sep, lineOffset > 0, opts.DefaultCategory)
	if err != nil {
		return nil, err
	}
	p.lineOffset = lineOffset
	res := &Result{}
	for {
		rec, line, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		res.Rows++
		if res.Rows > maxRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrTooLarge, maxRows)
		}
		if rec.reason != "" {
			res.Skipped = append(res.Skipped, Skip{Row: line.row, Line: line.line, Reason: rec.reason})
			continue
		}
		res.Recommendations = append(res.Recommendations, rec.rec)
	}
	res.Encoding = dec.encoding()
	return res, nil
}

func (o Config) validate() error {
	if o.MaxRows < 0 {
		return fmt.Errorf("advisorcsv: invalid Config.MaxRows %d: must not be negative", o.MaxRows)
	}
	if o.MaxBytes < 0 {
		return fmt.Errorf("advisorcsv: invalid Config.MaxBytes %d: must not be negative", o.MaxBytes)
	}
	if o.DefaultCategory != "" && !o.DefaultCategory.Valid() {
		return fmt.Errorf("advisorcsv: invalid Config.DefaultCategory %q: unknown category", o.DefaultCategory)
	}
	return nil
}

// cutSepLine removes a leading "sep=X" line (optionally quoted) from text
// and returns the delimiter it names (0 when there is none) and the number
// of lines removed.
func cutSepLine(text *bufio.Reader) (sep rune, lines int, err error) {
	head, err := text.Peek(64)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, 0, err
	}
	line, _, found := strings.Cut(string(head), "\n")
	if !found && err != io.EOF {
		return 0, 0, nil // longer than any sep line
	}
	s := strings.TrimSpace(line)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if len(s) < 4 || !strings.EqualFold(s[:4], "sep=") {
		return 0, 0, nil
	}
	d := s[4:]
	if d == "" && strings.HasPrefix(line[strings.Index(line, "=")+1:], "\t") {
		d = "\t" // "sep=<tab>": the tab was trimmed as space
	}
	r, size := utf8.DecodeRuneInString(d)
	if size == 0 || size != len(d) || !validDelim(r) {
		return 0, 0, nil
	}
	n := len(line)
	if found {
		n++
	}
	_, _ = text.Discard(n)
	return r, 1, nil
}

// validDelim reports whether encoding/csv accepts r as a delimiter.
func validDelim(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && r != utf8.RuneError && utf8.ValidRune(r)
}

// parser reads the data rows of one file.
type parser struct {
	cr         *csv.Reader
	cols       [numFields]int // column index per field, -1 when absent
	names      [numFields]string
	defaultCat store.Category
	// lineOffset is the number of lines removed before the CSV text.
	lineOffset int
	// extraLines counts the line breaks inside the records read so far,
	// to turn file lines into spreadsheet rows.
	extraLines int
}

// position is where a record is.
type position struct{ row, line int }

// outcome is a converted row: rec, or the reason it was skipped.
type outcome struct {
	rec    store.Recommendation
	reason string
}

// newParser finds the header of text. With sep == 0 it tries a comma, then
// a semicolon, then a tab, reading the start of text again for each.
// hadSep tells that a sep line was removed (the file is not empty).
func newParser(text io.Reader, sep rune, hadSep bool, defaultCat store.Category) (*parser, error) {
	delims := []rune{sep}
	if sep == 0 {
		delims = []rune{',', ';', '\t'}
	}
	var firstErr error
	var replay []byte // the text read by the previous attempts
	for _, d := range delims {
		rec := &recorder{r: io.MultiReader(bytes.NewReader(replay), text)}
		p, err := tryHeader(rec, d, hadSep, defaultCat)
		if err == nil {
			return p, nil
		}
		var ne *notCSVError
		if !errors.As(err, &ne) {
			return nil, err // a read error or ErrTooLarge
		}
		if firstErr == nil {
			firstErr = ne.err
		}
		if rec.over {
			break // the header cannot be read again
		}
		replay = rec.rec
	}
	return nil, firstErr
}

// notCSVError is a header that is not one with this delimiter.
type notCSVError struct{ err error }

func (e *notCSVError) Error() string { return e.err.Error() }

func tryHeader(rec *recorder, delim rune, hadSep bool, defaultCat store.Category) (*parser, error) {
	cr := csv.NewReader(rec)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = true
	p := &parser{cr: cr, defaultCat: defaultCat}
	notCSV := func(format string, args ...any) error {
		return &notCSVError{fmt.Errorf("%w: "+format, append([]any{ErrNotAdvisorCSV}, args...)...)}
	}
	var header []string
	for {
		r, err := cr.Read()
		if err == io.EOF {
			if !hadSep && !rec.over && len(bytes.TrimSpace(rec.rec)) == 0 {
				return nil, notCSV("empty file")
			}
			return nil, notCSV("no header row")
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, fmt.Errorf("advisorcsv: read header: %w", err)
		}
		if err != nil {
			if looksLikeJSON(rec.rec) {
				return nil, notCSV("the file holds JSON, not CSV")
			}
			return nil, notCSV("malformed header: %w", err)
		}
		if !allBlank(r) {
			header = r
			break
		}
		if rec.over {
			return nil, notCSV("no header row in the first %d bytes", maxHeaderBytes)
		}
	}
	p.countLines(header)
	for i := range p.cols {
		p.cols[i] = -1
	}
	for i, h := range header {
		f, ok := headerAliases[normHeader(h)]
		if ok && p.cols[f] < 0 {
			p.cols[f] = i
			p.names[f] = strings.TrimSpace(h)
		}
	}
	if p.cols[fieldRecommendation] < 0 {
		if looksLikeJSON(rec.rec) {
			return nil, notCSV("the file holds JSON, not CSV")
		}
		return nil, notCSV("no Recommendation column in header %s", quoteHeader(header))
	}
	// The header is found: stop recording.
	rec.over, rec.rec = true, nil
	return p, nil
}

func looksLikeJSON(text []byte) bool {
	s := bytes.TrimSpace(text)
	return bytes.HasPrefix(s, []byte("{")) || bytes.HasPrefix(s, []byte("["))
}

// quoteHeader formats the first few header cells for an error message.
func quoteHeader(h []string) string {
	const maxCells = 8
	parts := make([]string, 0, maxCells+1)
	for i, c := range h {
		if i == maxCells {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, strconv.Quote(clip(c)))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// clip shortens s for an error message.
func clip(s string) string {
	const maxRunes = 40
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	return string([]rune(s)[:maxRunes]) + "…"
}

func allBlank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// countLines adds the line breaks inside rec to p.extraLines.
func (p *parser) countLines(rec []string) {
	for _, c := range rec {
		p.extraLines += strings.Count(c, "\n")
	}
}

// next returns the next non-blank data row, io.EOF at the end.
func (p *parser) next() (outcome, position, error) {
	for {
		rec, err := p.cr.Read()
		if err == io.EOF {
			return outcome{}, position{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			pos := p.position(pe.StartLine)
			if pe.Line > pe.StartLine {
				p.extraLines += pe.Line - pe.StartLine
			}
			return outcome{reason: "malformed CSV record: " + pe.Err.Error()}, pos, nil
		}
		if err != nil {
			return outcome{}, position{}, fmt.Errorf("advisorcsv: read record: %w", err)
		}
		if allBlank(rec) {
			p.countLines(rec)
			continue
		}
		line, _ := p.cr.FieldPos(0)
		pos := p.position(line)
		p.countLines(rec)
		return p.convert(rec), pos, nil
	}
}

// position converts a line of the CSV text to the record's position.
func (p *parser) position(line int) position {
	return position{row: line - p.extraLines, line: line + p.lineOffset}
}

// cell returns the trimmed value of field f in rec ("" when absent).
func (p *parser) cell(rec []string, f field) string {
	i := p.cols[f]
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// name is the header of field f as written in the file.
func (p *parser) name(f field) string { return p.names[f] }

func (p *parser) convert(rec []string) outcome {
	for f := range numFields {
		if i := p.cols[f]; i >= 0 && i < len(rec) && len(rec[i]) > MaxCellBytes {
			return outcome{reason: fmt.Sprintf("%s cell is longer than %d bytes", p.name(f), MaxCellBytes)}
		}
	}
	r := store.Recommendation{
		Recommendation:   p.cell(rec, fieldRecommendation),
		SubscriptionID:   p.cell(rec, fieldSubscriptionID),
		SubscriptionName: p.cell(rec, fieldSubscriptionName),
		ResourceGroup:    p.cell(rec, fieldResourceGroup),
		ResourceName:     p.cell(rec, fieldResourceName),
		ResourceType:     p.cell(rec, fieldResourceType),
	}
	if r.Recommendation == "" {
		return outcome{reason: fmt.Sprintf("empty %s", p.name(fieldRecommendation))}
	}

	switch c := p.cell(rec, fieldCategory); {
	case c != "":
		cat, ok := parseCategory(c)
		if !ok {
			return outcome{reason: fmt.Sprintf("unknown %s %q", p.name(fieldCategory), clip(c))}
		}
		r.Category = cat
	case p.defaultCat != "":
		r.Category = p.defaultCat
	case p.cols[fieldCategory] < 0:
		return outcome{reason: "no Category column and no default category"}
	default:
		return outcome{reason: fmt.Sprintf("empty %s", p.name(fieldCategory))}
	}

	impact, ok := parseImpact(p.cell(rec, fieldImpact))
	if !ok {
		return outcome{reason: fmt.Sprintf("unknown %s %q", p.name(fieldImpact), clip(p.cell(rec, fieldImpact)))}
	}
	r.BusinessImpact = impact

	savings, why := parseSavings(p.cell(rec, fieldSavings))
	if why != "" {
		return outcome{reason: fmt.Sprintf("invalid %s %q: %s", p.name(fieldSavings), clip(p.cell(rec, fieldSavings)), why)}
	}
	r.PotentialSavings = savings

	cur := strings.ToUpper(p.cell(rec, fieldCurrency))
	if cur != "" && !isCurrencyCode(cur) {
		return outcome{reason: fmt.Sprintf("invalid %s %q: not a 3-letter ISO 4217 code", p.name(fieldCurrency), clip(cur))}
	}
	r.Currency = cur

	if strings.EqualFold(r.ResourceGroup, "No resource group") {
		r.ResourceGroup = ""
	}
	if id, ok := store.NormalizeUUID(r.SubscriptionID); ok {
		r.SubscriptionID = id
	}
	return outcome{rec: r}
}

// parseCategory maps a Category cell to its value.
func parseCategory(s string) (store.Category, bool) {
	// The spellings of the portal and of the metadata files, without
	// allocating; anything else goes through normHeader.
	for _, c := range knownCategories {
		if strings.EqualFold(s, c.name) {
			return c.cat, true
		}
	}
	cat, ok := categoryNames[normHeader(s)]
	return cat, ok
}

var knownCategories = []struct {
	name string
	cat  store.Category
}{
	{"Cost", store.CategoryCost},
	{"Security", store.CategorySecurity},
	{"Reliability", store.CategoryReliability},
	{"HighAvailability", store.CategoryReliability},
	{"Operational excellence", store.CategoryOperationalExcellence},
	{"OperationalExcellence", store.CategoryOperationalExcellence},
	{"Performance", store.CategoryPerformance},
}

// parseImpact maps a Business Impact cell to its value; the empty cell is
// the empty impact.
func parseImpact(s string) (store.Impact, bool) {
	if s == "" {
		return "", true
	}
	for _, i := range store.Impacts {
		if strings.EqualFold(s, string(i)) {
			return i, true
		}
	}
	return "", false
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// parseSavings reads an annual savings amount: digits with optional
// thousands commas and an optional decimal point ("4561", "5,332",
// "1,234.56"). The empty string is 0. It returns the reason when s is
// not such an amount.
func parseSavings(s string) (float64, string) {
	if s == "" {
		return 0, ""
	}
	if s[0] == '-' || s[0] == '(' {
		return 0, "negative amount"
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if hasFrac && !allDigits(frac) {
		return 0, "not a number"
	}
	if !validIntPart(intPart) {
		return 0, "not a number"
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, "not a number"
	}
	if v > maxSavings {
		return 0, "amount too large"
	}
	return v, ""
}

// validIntPart reports whether s is digits, optionally grouped by commas in
// threes ("5332", "5,332", "1,234,567").
func validIntPart(s string) bool {
	if !strings.Contains(s, ",") {
		return allDigits(s)
	}
	groups := strings.Split(s, ",")
	if len(groups[0]) < 1 || len(groups[0]) > 3 || !allDigits(groups[0]) {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 || !allDigits(g) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
