package advisorcsv

import (
	"bytes"
)

// Encoding names reported in Result.Encoding.
const (
	EncodingUTF8        = "utf-8"
	EncodingUTF16LE     = "utf-16le"
	EncodingUTF16BE     = "utf-16be"
	EncodingWindows1252 = "windows-1252"
)

// windows1252High maps the bytes 0x80…0x9F of Windows-1252 to Unicode. The
// five bytes the code page leaves undefined map to the C1 control with the
// same value, as the WHATWG Encoding Standard does. Bytes 0xA0…0xFF are
// Latin-1 and map to the code point of the same value.
var windows1252High = [32]rune{
	'\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021', // 80-87
	'\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F', // 88-8F
	'\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014', // 90-97
	'\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178', // 98-9F
}

// decodeWindows1252 decodes b as Windows-1252.
func decodeWindows1252(b []byte) string { return string(appendWindows1252(nil, b)) }

// binaryKind names well-known binary formats a user may upload by mistake,
// or returns "" when b does not start like one.
func binaryKind(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return "a zip archive (an .xlsx workbook must be saved as CSV first)"
	case bytes.HasPrefix(b, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return "a legacy Excel workbook (.xls must be saved as CSV first)"
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "a PDF document"
	case bytes.HasPrefix(b, []byte{0x1F, 0x8B}):
		return "gzip-compressed data"
	}
	// UTF-16 without a byte-order mark holds NUL bytes; it is not
	// supported, and is reported with the other binary data by decode.
	return ""
}
