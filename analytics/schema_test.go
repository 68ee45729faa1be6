package analytics

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validate checks v (decoded JSON) against an OpenAPI schema, resolving
// component references.
func validate(doc map[string]any, schema map[string]any, v any, at string) error {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		s, ok := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: unknown component %s", at, name)
		}
		return validate(doc, s, v, at)
	}
	if alts, ok := schema["anyOf"].([]any); ok {
		var errs []string
		for _, s := range alts {
			err := validate(doc, s.(map[string]any), v, at)
			if err == nil {
				return nil
			}
			errs = append(errs, err.Error())
		}
		return fmt.Errorf("%s: matches no alternative: %s", at, strings.Join(errs, "; "))
	}
	typ, _ := schema["type"].(string)
	switch typ {
	case "":
		return nil
	case "null":
		if v != nil {
			return fmt.Errorf("%s: want null, got %v", at, v)
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: want a string, got %v", at, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %v", at, v)
		}
	case "number", "integer":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: want a number, got %v", at, v)
		}
		if typ == "integer" && strings.ContainsAny(n.String(), ".eE") {
			return fmt.Errorf("%s: want an integer, got %s", at, n)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %v", at, v)
		}
		for i, x := range arr {
			if err := validate(doc, schema["items"].(map[string]any), x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %v", at, v)
		}
		props, _ := schema["properties"].(map[string]any)
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				if _, ok := obj[r.(string)]; !ok {
					return fmt.Errorf("%s: missing %s", at, r)
				}
			}
		}
		for k, x := range obj {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if ap, ok := schema["additionalProperties"].(map[string]any); ok {
					ps = ap
				} else if schema["additionalProperties"] == false {
					return fmt.Errorf("%s: unexpected key %s", at, k)
				} else {
					continue
				}
			}
			if err := validate(doc, ps, x, at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// TestResponsesMatchOpenAPISchemas validates real responses (the golden
// requests, made live) against the schemas of the OpenAPI document.
func TestResponsesMatchOpenAPISchemas(t *testing.T) {
	st := openSQLite(t)
	seed(t, st)
	e := newEnv(t, st, nil)
	var doc map[string]any
	if err := json.Unmarshal(e.get(t, "openapi.json", "").body, &doc); err != nil {
		t.Fatal(err)
	}
	paths := doc["paths"].(map[string]any)
	schemaFor := func(path, method, status string) map[string]any {
		op := paths[basePath+"/"+path+"/"].(map[string]any)[method].(map[string]any)
		content := op["responses"].(map[string]any)[status].(map[string]any)["content"].(map[string]any)
		return content["application/json"].(map[string]any)["schema"].(map[string]any)
	}
	for _, g := range goldenRoutes {
		if !strings.HasSuffix(g.file, ".json") {
			continue
		}
		path, _, _ := strings.Cut(g.path, "?")
		path = strings.TrimSuffix(path, "/")
		r := e.get(t, g.path, g.token)
		if err := validate(doc, schemaFor(path, "get", "200"), decodeNumbers(t, r.body), g.file); err != nil {
			t.Error(err)
		}
	}
	writes := map[string][2]string{
		"post_activities.json": {"activities", "202"}, "ingest_activities.json": {"ingest/activities", "201"},
		"ingest_client.json": {"ingest/clients", "201"}, "ingest_report.json": {"ingest/reports", "201"},
		"ingest_advisor_csv.json": {"ingest/advisor-csv", "201"}, "cache_invalidate.json": {"cache/invalidate", "200"},
	}
	for file, w := range writes {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(doc, schemaFor(w[0], "post", w[1]), decodeNumbers(t, b), file); err != nil {
			t.Error(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join("testdata", "error_400.json"))
	errSchema := doc["components"].(map[string]any)["schemas"].(map[string]any)["Error"].(map[string]any)
	if err := validate(doc, errSchema, decodeNumbers(t, b), "error_400.json"); err != nil {
		t.Error(err)
	}
	// The validator itself must reject a wrong shape.
	if validate(doc, schemaFor("metrics", "get", "200"), decodeNumbers(t, []byte(`{"total_reports":1.5}`)), "bad") == nil {
		t.Error("validator accepted a wrong body")
	}
}
