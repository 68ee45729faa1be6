package analytics

import (
	"net/http"
	"strconv"
	"strings"
)

// OpenAPI returns the OpenAPI 3.1 document of the routes, generated from
// the route table; basePath is the mount prefix ("/api/v1/analytics").
func (s *Service) OpenAPI(basePath string) map[string]any {
	gen := &schemaGen{components: map[string]any{}}
	paths := map[string]any{}
	for _, rt := range s.routes {
		ops := map[string]any{}
		for _, m := range rt.Methods {
			op := rt.operation(gen, m)
			ops[strings.ToLower(m)] = op
			if m == http.MethodGet {
				head := map[string]any{}
				for k, v := range op {
					head[k] = v
				}
				head["operationId"] = "head_" + op["operationId"].(string)[len("get_"):]
				ops["head"] = head
			}
		}
		paths[strings.TrimRight(basePath, "/")+"/"+rt.Path+"/"] = ops
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "Advisor Analytics API", "version": "1.0.0"},
		"paths":   paths,
		"components": map[string]any{
			"schemas": withComponents(gen.components, "Error", map[string]any{
				"type":     "object",
				"required": []string{"error", "message"},
				"properties": map[string]any{
					"error": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
					"field": map[string]any{"type": "string"}, "request_id": map[string]any{"type": "string"},
				},
			}),
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
		"security": []any{map[string]any{"bearer": []any{}}},
	}
}

// operation is the OpenAPI operation of method m on the route.
func (rt *route) operation(gen *schemaGen, m string) map[string]any {
	op := map[string]any{
		"operationId": strings.ToLower(m) + "_" + strings.NewReplacer("/", "_", "-", "_", "{", "", "}", "", ".", "_").Replace(rt.Path),
		"summary":     rt.Summary,
		"parameters":  rt.parameters(),
		"responses":   rt.responses(gen, m),
	}
	role := "any authenticated user"
	switch {
	case rt.Public:
		role = "public"
		op["security"] = []any{}
	case rt.Role == RoleAdmin:
		role = "admin (or staff)"
	case rt.Role != "":
		role = string(rt.Role) + " or above"
	}
	op["x-role"] = role
	if rt.CacheTTL > 0 {
		op["x-cache-ttl-seconds"] = int(rt.CacheTTL.Seconds())
	}
	if m == http.MethodPost && !rt.noBody {
		op["requestBody"] = rt.requestBody(gen)
	}
	return op
}

// parameters are the route's path and query parameters.
func (rt *route) parameters() []any {
	params := []any{}
	for _, seg := range rt.segs {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			params = append(params, map[string]any{"name": strings.TrimSuffix(name, "}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
	}
	for _, p := range rt.Params {
		sch := map[string]any{"type": "string"}
		switch p.Type {
		case "integer":
			sch = map[string]any{"type": "integer"}
		case "uuid":
			sch["format"] = "uuid"
		case "date":
			sch["format"] = "date-time"
		}
		if len(p.Enum) > 0 {
			sch["enum"] = p.Enum
		}
		params = append(params, map[string]any{"name": p.Name, "in": "query", "description": p.Description, "schema": sch})
	}
	return params
}

// responses are the success response and the errors the route answers.
func (rt *route) responses(gen *schemaGen, m string) map[string]any {
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{
			"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	}
	media := rt.media
	if media == nil {
		media = []string{"application/json"}
	}
	okContent := map[string]any{}
	for i, mt := range media {
		sch := map[string]any{}
		if i == 0 && rt.resp != nil {
			sch = gen.of(rt.resp)
		}
		okContent[mt] = map[string]any{"schema": sch}
	}
	ok := http.StatusOK
	if rt.okStatus != 0 {
		ok = rt.okStatus
	}
	responses := map[string]any{
		strconv.Itoa(ok): map[string]any{"description": "Success", "content": okContent},
		"400":            errResp("Invalid parameter or body"),
		"405":            errResp("Method not allowed"),
		"500":            errResp("Internal error (carries request_id)"),
		"503":            errResp("Store unavailable"),
	}
	if !rt.Public {
		responses["401"] = errResp("No identity")
		responses["429"] = errResp("Request limit reached (with Config.RateLimit); see Retry-After")
		if rt.Role != "" || rt.scoped {
			responses["403"] = errResp("Role not allowed")
		}
	}
	if m == http.MethodPost {
		responses["413"] = errResp("Body too large")
	}
	if rt.finds {
		responses["404"] = errResp("Unknown client or job")
	}
	if rt.conflicts {
		responses["409"] = errResp("The write collides with stored data (an activity with the id and created_at of a stored one); nothing written")
	}
	if rt.bounded {
		responses["429"] = errResp("Too many of these calls running at once, or request limit reached (with Config.RateLimit); see Retry-After")
	}
	return responses
}

// requestBody is the request body of a POST to the route.
func (rt *route) requestBody(gen *schemaGen) map[string]any {
	ct := "application/json"
	if rt.reqMedia != "" {
		ct = rt.reqMedia
	}
	body := map[string]any{"schema": map[string]any{"type": "object"}}
	if rt.req != nil {
		body = map[string]any{"schema": gen.of(rt.req)}
	}
	content := map[string]any{ct: body}
	if rt.multipart {
		content["multipart/form-data"] = map[string]any{"schema": map[string]any{"type": "object",
			"properties": map[string]any{"file": map[string]any{"type": "string", "contentMediaType": "text/csv"}},
			"required":   []string{"file"}}}
	}
	return map[string]any{"required": true, "content": content}
}

func (s *Service) serveOpenAPI(w http.ResponseWriter, r *http.Request, _ Principal) error {
	// The document lists paths under the prefix the handler is mounted at
	// when it can be told (StripPrefix keeps the original in RequestURI).
	base := "/api/v1/analytics"
	if uri := r.RequestURI; uri != "" {
		if i := strings.Index(uri, "/openapi.json"); i >= 0 {
			base = uri[:i]
		}
	}
	return writeJSON(w, http.StatusOK, s.OpenAPI(base))
}

func withComponents(m map[string]any, name string, schema any) map[string]any {
	m[name] = schema
	return m
}
