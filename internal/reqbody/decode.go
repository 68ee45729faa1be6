package reqbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"sync"

	gojson "github.com/goccy/go-json"
)

// ErrTrailingData is the error of Decode for a body with more than one
// JSON value.
var ErrTrailingData = errors.New("unexpected data after the JSON body")

// Decode decodes the JSON object in data into v, a pointer to a zero
// value, as encoding/json's Decoder with DisallowUnknownFields does, and
// refuses anything but white space after the object (ErrTrailingData).
// Every other error is encoding/json's, so callers can inspect it with
// errors.As for *json.SyntaxError and *json.UnmarshalTypeError.
//
// The bulk ingest bodies (10,000 activities, 1,000 reports) spend most of
// their time decoding, so Decode first tries goccy/go-json, three to four
// times faster, on bodies that start with an object. When the fast decoder
// fails or panics, v is reset and data decoded again with encoding/json,
// whose result and error stand. A differential fuzz test holds the two to
// the same results.
func Decode(data []byte, v any) error {
	if startsWithObject(data) && decodeFast(data, v) {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	return decodeStd(data, v)
}

// decodeStd is Decode with encoding/json alone.
func decodeStd(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailingData
	}
	return nil
}

// disallowUnknown makes goccy/go-json refuse an object key that matches no
// field, as DisallowUnknownFields does on its Decoder: the flag is the
// library's decoder.DisallowUnknownFieldsOption, which it does not export
// as an option function. Its Unmarshal is twice as fast as its Decoder.
// fastUsable checks once that the flag still means that.
func disallowUnknown(o *gojson.DecodeOption) { o.Flags |= 1 << 4 }

var fastUsable = sync.OnceValue(func() bool {
	var v struct {
		A int `json:"a"`
	}
	return gojson.UnmarshalWithOption([]byte(`{"b":1}`), &v, disallowUnknown) != nil &&
		gojson.UnmarshalWithOption([]byte(`{"a":1}`), &v, disallowUnknown) == nil && v.A == 1
})

// decodeFast decodes data into v with goccy/go-json and reports whether
// it did so completely.
func decodeFast(data []byte, v any) (ok bool) {
	if !fastUsable() {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return gojson.UnmarshalWithOption(data, v, disallowUnknown) == nil
}

// startsWithObject reports whether the first JSON token of data opens an
// object: every body the API takes is one, and encoding/json words the
// error for anything else.
func startsWithObject(data []byte) bool {
	rest := bytes.TrimLeft(data, " \t\r\n")
	return len(rest) > 0 && rest[0] == '{'
}
