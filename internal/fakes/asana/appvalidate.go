package asana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// validateAppResponse checks an app's answer the way Asana's UI does before
// rendering it: the status must be one the App Components spec lists for the
// request, and the body must match the schema of app_components_oas.yaml
// (required properties, types, enums), plus the documented limits (title
// lengths, field and option counts). It returns nil for a valid answer.
func validateAppResponse(kind AppCallKind, status int, body []byte) error {
	if status == http.StatusNoContent && kind == CallActionSubmit {
		return nil
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		if status == http.StatusOK && kind == CallActionSubmit {
			return nil // on submit of a rule action needs no body
		}
		return fmt.Errorf("status %d: body is not JSON: %w", status, err)
	}
	v := &validator{}
	switch status {
	case http.StatusOK:
		switch kind {
		case CallWidget:
			v.widget(doc)
		case CallFormMetadata, CallFormChange, CallActionMetadata, CallActionChange:
			v.form(doc)
		case CallFormTypeahead, CallLookupTypeahead:
			v.typeahead(doc, 0)
		case CallActionTypeahead:
			v.typeahead(doc, 50)
		case CallAttach, CallFormSubmit:
			v.attached("", doc)
		case CallActionSubmit:
		case CallRunAction:
			v.ranAction(doc)
		}
	case http.StatusBadRequest:
		switch kind {
		case CallFormChange, CallFormSubmit, CallActionChange, CallActionSubmit:
			// The spec's 400 of a form's on_change and on_submit is a
			// FormMetadataResponse: Asana shows the form again with the
			// errors on it, and has nothing to show for {error}.
			v.form(doc)
		default:
			v.errorBody(doc)
		}
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusInternalServerError, http.StatusTeapot:
		v.errorBody(doc)
	case http.StatusGone:
		if kind != CallRunAction {
			return fmt.Errorf("status 410 is only defined for run action")
		}
		v.errorBody(doc)
	default:
		return fmt.Errorf("status %d is not an App Components answer for %s", status, kind)
	}
	return v.err
}

// validator collects the first violation, with a JSON path.
type validator struct{ err error }

func (v *validator) fail(path, format string, a ...any) {
	if v.err == nil {
		v.err = fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...))
	}
}

func (v *validator) object(path string, x any) map[string]any {
	m, ok := x.(map[string]any)
	if !ok {
		v.fail(path, "must be an object")
	}
	return m
}

// str checks an optional (or required) string property with a length limit
// (0: none).
func (v *validator) str(path string, m map[string]any, key string, required bool, limit int) string {
	x, ok := m[key]
	if !ok {
		if required {
			v.fail(path, "missing required property %q", key)
		}
		return ""
	}
	s, ok := x.(string)
	if !ok {
		v.fail(path+"."+key, "must be a string")
		return ""
	}
	if limit > 0 && len([]rune(s)) > limit {
		v.fail(path+"."+key, "longer than %d characters", limit)
	}
	return s
}

func (v *validator) enum(path string, m map[string]any, key string, required bool, allowed ...string) string {
	s := v.str(path, m, key, required, 0)
	if _, ok := m[key]; ok && !slices.Contains(allowed, s) {
		v.fail(path+"."+key, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
	return s
}

func (v *validator) boolean(path string, m map[string]any, key string) {
	if x, ok := m[key]; ok {
		if _, ok := x.(bool); !ok {
			v.fail(path+"."+key, "must be a boolean")
		}
	}
}

func (v *validator) array(path string, m map[string]any, key string, required bool, minN, maxN int) []any {
	x, ok := m[key]
	if !ok {
		if required {
			v.fail(path, "missing required property %q", key)
		}
		return nil
	}
	a, ok := x.([]any)
	if !ok {
		v.fail(path+"."+key, "must be an array")
		return nil
	}
	if len(a) < minN || (maxN > 0 && len(a) > maxN) {
		v.fail(path+"."+key, "has %d items; allowed %d to %d", len(a), minN, maxN)
	}
	return a
}

func (v *validator) errorBody(doc any) {
	m := v.object("$", doc)
	if m != nil {
		v.str("$", m, "error", false, 0)
	}
}

func (v *validator) attached(path string, doc any) {
	if path == "" {
		path = "$"
	}
	m := v.object(path, doc)
	if m == nil {
		return
	}
	v.str(path, m, "resource_name", true, 0)
	v.str(path, m, "resource_url", true, 0)
	v.str(path, m, "error", false, 0)
}

func (v *validator) ranAction(doc any) {
	m := v.object("$", doc)
	if m == nil {
		return
	}
	v.enum("$", m, "action_result", true, "ok", "resources_created")
	v.str("$", m, "error", false, 0)
	for i, r := range v.array("$", m, "resources_created", false, 0, 0) {
		v.attached(fmt.Sprintf("$.resources_created[%d]", i), r)
	}
}

func (v *validator) typeahead(doc any, maxItems int) {
	m := v.object("$", doc)
	if m == nil {
		return
	}
	v.str("$", m, "header", false, 0)
	for i, it := range v.array("$", m, "items", true, 0, maxItems) {
		v.typeaheadItem(fmt.Sprintf("$.items[%d]", i), it)
	}
}

func (v *validator) typeaheadItem(path string, x any) {
	m := v.object(path, x)
	if m == nil {
		return
	}
	v.str(path, m, "title", true, 0)
	v.str(path, m, "value", true, 0)
	v.str(path, m, "subtitle", false, 0)
	v.str(path, m, "icon_url", false, 0)
}

var pillColors = []string{"none", "red", "orange", "yellow-orange", "yellow", "yellow-green", "green",
	"blue-green", "aqua", "blue", "indigo", "purple", "magenta", "hot-pink", "pink", "cool-gray"}

func (v *validator) datetime(path string, m map[string]any, key string, required bool) {
	s := v.str(path, m, key, required, 0)
	if _, ok := m[key]; ok {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			v.fail(path+"."+key, "%q is not an ISO 8601 date-time", s)
		}
	}
}

func (v *validator) widget(doc any) {
	m := v.object("$", doc)
	if m == nil {
		return
	}
	v.enum("$", m, "template", true, "summary_with_details_v0")
	md, ok := m["metadata"]
	if !ok {
		v.fail("$", "missing required property %q", "metadata")
		return
	}
	meta := v.object("$.metadata", md)
	if meta == nil {
		return
	}
	v.str("$.metadata", meta, "title", true, 200)
	v.str("$.metadata", meta, "subtitle", false, 0)
	v.str("$.metadata", meta, "subicon_url", false, 0)
	if n, ok := meta["num_comments"]; ok {
		num, isNum := n.(json.Number)
		if _, err := num.Int64(); !isNum || err != nil {
			v.fail("$.metadata.num_comments", "must be an integer")
		}
	}
	for i, f := range v.array("$.metadata", meta, "fields", true, 1, 5) {
		p := fmt.Sprintf("$.metadata.fields[%d]", i)
		fm := v.object(p, f)
		if fm == nil {
			continue
		}
		switch v.enum(p, fm, "type", true, "text_with_icon", "pill", "datetime_with_icon") {
		case "text_with_icon":
			v.str(p, fm, "name", true, 40)
			v.str(p, fm, "text", true, 40)
			v.str(p, fm, "icon_url", false, 0)
		case "pill":
			v.str(p, fm, "name", true, 40)
			v.str(p, fm, "text", true, 40)
			v.enum(p, fm, "color", true, pillColors...)
		case "datetime_with_icon":
			v.str(p, fm, "name", true, 40)
			v.datetime(p, fm, "datetime", false)
			v.str(p, fm, "icon_url", false, 0)
		}
	}
	ft, ok := meta["footer"]
	if !ok {
		v.fail("$.metadata", "missing required property %q", "footer")
		return
	}
	fm := v.object("$.metadata.footer", ft)
	if fm == nil {
		return
	}
	p := "$.metadata.footer"
	switch v.enum(p, fm, "footer_type", true, "custom_text", "created", "updated") {
	case "custom_text":
		v.str(p, fm, "text", true, 0)
		v.str(p, fm, "icon_url", false, 0)
	case "created":
		v.datetime(p, fm, "created_at", true)
	case "updated":
		v.datetime(p, fm, "last_updated_at", true)
	}
}

var formFieldTypes = []string{"single_line_text", "multi_line_text", "rich_text", "dropdown", "radio_button",
	"checkbox", "date", "datetime", "typeahead", "static_text"}

func (v *validator) form(doc any) {
	m := v.object("$", doc)
	if m == nil {
		return
	}
	v.enum("$", m, "template", true, "form_metadata_v0")
	md, ok := m["metadata"]
	if !ok {
		v.fail("$", "missing required property %q", "metadata")
		return
	}
	meta := v.object("$.metadata", md)
	if meta == nil {
		return
	}
	v.str("$.metadata", meta, "title", true, 0)
	v.str("$.metadata", meta, "on_submit_callback", false, 0)
	v.str("$.metadata", meta, "on_change_callback", false, 0)
	v.str("$.metadata", meta, "submit_button_text", false, 0)
	ids := map[string]bool{}
	for i, f := range v.array("$.metadata", meta, "fields", true, 0, 30) {
		p := fmt.Sprintf("$.metadata.fields[%d]", i)
		fm := v.object(p, f)
		if fm == nil {
			continue
		}
		id := v.str(p, fm, "id", true, 0)
		if ids[id] {
			v.fail(p+".id", "%q is not unique in the form", id)
		}
		ids[id] = true
		typ := v.enum(p, fm, "type", true, formFieldTypes...)
		if typ == "static_text" {
			v.str(p, fm, "name", true, 50)
			v.enum(p, fm, "style", false, "default", "header")
			continue
		}
		v.str(p, fm, "name", false, 50)
		v.boolean(p, fm, "is_required")
		v.boolean(p, fm, "is_watched")
		v.str(p, fm, "error", false, 0)
		v.str(p, fm, "placeholder", false, 0)
		switch typ {
		case "single_line_text":
			v.enum(p, fm, "width", false, "full", "half")
			v.str(p, fm, "value", false, 200)
		case "multi_line_text", "rich_text":
			v.str(p, fm, "value", false, 3000)
		case "dropdown":
			v.enum(p, fm, "width", false, "full", "half")
			v.str(p, fm, "value", false, 0)
			v.options(p, fm, 50, "icon_url")
		case "radio_button":
			v.str(p, fm, "value", false, 0)
			v.options(p, fm, 5, "sub_label")
		case "checkbox":
			v.options(p, fm, 10)
			for j, x := range v.array(p, fm, "value", false, 0, 0) {
				if _, ok := x.(string); !ok {
					v.fail(fmt.Sprintf("%s.value[%d]", p, j), "must be a string")
				}
			}
		case "date", "datetime":
			if x, ok := fm["value"]; ok && x != nil {
				s, isStr := x.(string)
				_, errDate := time.Parse(time.DateOnly, s)
				_, errTime := time.Parse(time.RFC3339, s)
				if !isStr || (typ == "date" && errDate != nil && errTime != nil) || (typ == "datetime" && errTime != nil) {
					v.fail(p+".value", "%v is not a valid %s", x, typ)
				}
			}
		case "typeahead":
			v.enum(p, fm, "width", false, "full", "half")
			v.str(p, fm, "typeahead_url", true, 0)
			if x, ok := fm["value"]; ok {
				v.typeaheadItem(p+".value", x)
			}
		}
	}
}

func (v *validator) options(path string, m map[string]any, maxN int, extra ...string) {
	for i, o := range v.array(path, m, "options", true, 1, maxN) {
		p := fmt.Sprintf("%s.options[%d]", path, i)
		om := v.object(p, o)
		if om == nil {
			continue
		}
		v.str(p, om, "id", true, 0)
		v.str(p, om, "label", true, 80)
		for _, k := range extra {
			v.str(p, om, k, false, 0)
		}
	}
}
