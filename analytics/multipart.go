package analytics

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
)

func newMultipartReader(r io.Reader, boundary string) *multipart.Reader {
	return multipart.NewReader(r, boundary)
}

// findFilePart returns the part named "file" of a multipart body.
func findFilePart(mr *multipart.Reader) (*multipart.Part, error) {
	for {
		part, err := mr.NextPart()
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, ErrBodyTooLarge
			}
			if err == io.EOF {
				return nil, badBody("file", "the multipart body has no \"file\" field")
			}
			return nil, badBody("file", "malformed multipart body")
		}
		if part.FormName() == "file" {
			return part, nil
		}
		_ = part.Close()
	}
}
