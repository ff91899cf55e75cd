package appcomponents

import (
	"html"
	"net/http"
	"net/url"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
)

// The JSON shapes of app_components_oas.yaml that asanajira answers with.

type formResponse struct {
	Template string       `json:"template"`
	Metadata formMetadata `json:"metadata"`
}

type formMetadata struct {
	Title            string      `json:"title"`
	Fields           []formField `json:"fields"`
	OnSubmitCallback string      `json:"on_submit_callback,omitempty"`
	OnChangeCallback string      `json:"on_change_callback,omitempty"`
	SubmitButtonText string      `json:"submit_button_text,omitempty"`
}

type formField struct {
	Type         string   `json:"type"`
	ID           string   `json:"id"`
	Name         string   `json:"name,omitempty"`
	IsRequired   bool     `json:"is_required,omitempty"`
	IsWatched    bool     `json:"is_watched,omitempty"`
	Error        string   `json:"error,omitempty"`
	Placeholder  string   `json:"placeholder,omitempty"`
	Value        any      `json:"value,omitempty"`
	Options      []option `json:"options,omitempty"`
	TypeaheadURL string   `json:"typeahead_url,omitempty"`
	Style        string   `json:"style,omitempty"`
}

type option struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

type typeaheadItem struct {
	Title    string `json:"title"`
	Subtitle string `json:"subtitle,omitempty"`
	Value    string `json:"value"`
}

type typeaheadResponse struct {
	Header string          `json:"header,omitempty"`
	Items  []typeaheadItem `json:"items"`
}

type attachedResponse struct {
	ResourceName string `json:"resource_name"`
	ResourceURL  string `json:"resource_url"`
}

type ranActionResponse struct {
	ActionResult     string             `json:"action_result"`
	ResourcesCreated []attachedResponse `json:"resources_created,omitempty"`
	Error            string             `json:"error,omitempty"`
}

type widgetResponse struct {
	Template string         `json:"template"`
	Metadata widgetMetadata `json:"metadata"`
}

type widgetMetadata struct {
	Title       string        `json:"title"`
	Subtitle    string        `json:"subtitle,omitempty"`
	Fields      []widgetField `json:"fields"`
	Footer      widgetFooter  `json:"footer"`
	NumComments *int          `json:"num_comments,omitempty"`
}

type widgetField struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	Text     string `json:"text,omitempty"`
	Color    string `json:"color,omitempty"`
	Datetime string `json:"datetime,omitempty"`
}

type widgetFooter struct {
	FooterType    string `json:"footer_type"`
	Text          string `json:"text,omitempty"`
	LastUpdatedAt string `json:"last_updated_at,omitempty"`
}

// Widget limits of app_components_oas.yaml.
const (
	maxWidgetTitle  = 200
	maxWidgetFields = 5
	maxWidgetText   = 40
)

// renderForm turns a bridge form into Asana's form JSON. changePath and
// submitPath are our callback routes; typeaheadPath serves its typeaheads.
func (h *Handler) renderForm(r *http.Request, f *bridge.Form, changePath, submitPath, typeaheadPath string) formResponse {
	md := formMetadata{Title: f.Title, Fields: []formField{}, OnChangeCallback: h.callbackURL(r, changePath)}
	if f.CanSubmit {
		md.OnSubmitCallback = h.callbackURL(r, submitPath)
		md.SubmitButtonText = "Create issue"
	}
	for _, ff := range f.Fields {
		out := formField{ID: ff.ID, Name: ff.Name, IsRequired: ff.Required, IsWatched: ff.Watched, Error: ff.Error, Placeholder: ff.Placeholder}
		switch ff.Kind {
		case bridge.KindFinishLink:
			// Rich text, so the link's text may be short and its URL whole.
			out.Type = "rich_text"
			if l, ok := ff.Value.(bridge.Link); ok {
				out.Value = "<BODY><a href=\"" + html.EscapeString(l.URL) + "\">" + html.EscapeString(l.Text) + "</a></BODY>"
			}
		case bridge.KindText, bridge.KindNumber, bridge.KindLabels:
			out.Type = "single_line_text"
			out.Value = nonEmpty(truncValue(str(ff.Value), bridge.MaxTextValue))
		case bridge.KindTextarea:
			out.Type = "multi_line_text"
			out.Value = nonEmpty(truncValue(str(ff.Value), bridge.MaxTextareaValue))
		case bridge.KindSelect, bridge.KindCascadeKid:
			out.Type, out.Options = "dropdown", options(ff.Options)
			out.Value = nonEmpty(str(ff.Value))
		case bridge.KindRadio:
			out.Type, out.Options = "radio_button", options(ff.Options)
			out.Value = nonEmpty(str(ff.Value))
		case bridge.KindMultiSelect:
			out.Type, out.Options = "checkbox", options(ff.Options)
			if vs, ok := ff.Value.([]string); ok && len(vs) > 0 {
				out.Value = vs
			}
		case bridge.KindDate:
			out.Type = "date"
			if d, ok := bridge.CalendarDate(str(ff.Value)); ok {
				out.Value = d
			}
		case bridge.KindDateTime:
			out.Type = "datetime"
			if s := str(ff.Value); s != "" {
				if t, err := time.Parse(time.RFC3339, s); err == nil {
					out.Value = t.UTC().Format(time.RFC3339)
				}
			}
		case bridge.KindUser, bridge.KindProject:
			out.Type = "typeahead"
			q := url.Values{}
			for k, v := range ff.Typeahead {
				q[k] = v
			}
			out.TypeaheadURL = h.callbackURL(r, typeaheadPath+"?"+q.Encode())
			if o, ok := ff.Value.(bridge.Option); ok && o.ID != "" {
				title := o.Label
				if title == "" {
					title = o.ID
				}
				out.Value = typeaheadItem{Title: title, Value: o.ID}
			}
		default: // unsupported and static
			out = formField{Type: "static_text", ID: ff.ID, Name: ff.Name}
		}
		md.Fields = append(md.Fields, out)
	}
	return formResponse{Template: "form_metadata_v0", Metadata: md}
}

// str is a field value as text.
func str(v any) string { return bridge.Values{"v": v}.String("v") }

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func truncValue(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

func options(in []bridge.Option) []option {
	out := make([]option, 0, len(in))
	for _, o := range in {
		out = append(out, option{ID: o.ID, Label: o.Label})
	}
	return out
}

// statusColors maps Jira status categories to Asana pill colours, the way
// Jira colours them (To Do grey-blue, In Progress yellow, Done green).
var statusColors = map[string]string{"new": "cool-gray", "indeterminate": "blue", "done": "green"}

// renderWidget draws the issue; now tells whether its due date has passed.
func renderWidget(d *bridge.WidgetData, now time.Time) widgetResponse {
	if d.NoAccess {
		return widgetResponse{Template: "summary_with_details_v0", Metadata: widgetMetadata{
			Title: d.Key, Subtitle: viewedAs("Jira issue", d),
			Fields: []widgetField{{Type: "text_with_icon", Name: "Access", Text: "Your Jira account can't see it"}},
			Footer: widgetFooter{FooterType: "custom_text", Text: "Ask a Jira administrator for access to " + d.Key + "."},
		}}
	}
	md := widgetMetadata{Title: truncValue(d.Key+": "+d.Summary, maxWidgetTitle), Subtitle: viewedAs("Jira "+d.IssueType, d),
		Fields: make([]widgetField, 0, maxWidgetFields)}
	color := statusColors[d.StatusCategory]
	if color == "" {
		color = "none"
	}
	add := func(f widgetField) {
		if len(md.Fields) < maxWidgetFields {
			f.Name, f.Text = truncValue(f.Name, maxWidgetText), truncValue(f.Text, maxWidgetText)
			md.Fields = append(md.Fields, f)
		}
	}
	add(widgetField{Type: "pill", Name: "Status", Text: orDash(d.Status), Color: color})
	add(widgetField{Type: "text_with_icon", Name: "Assignee", Text: orText(d.Assignee, "Unassigned")})
	add(widgetField{Type: "text_with_icon", Name: "Priority", Text: orDash(d.Priority)})
	if d.Syncing {
		add(syncField(d)) // the issue type is in the subtitle already
	} else {
		add(widgetField{Type: "text_with_icon", Name: "Issue type", Text: orDash(d.IssueType)})
	}
	switch {
	case d.Resolution != "":
		add(widgetField{Type: "text_with_icon", Name: "Resolution", Text: d.Resolution})
	case d.DueDate != "":
		// The date itself, as Jira shows it (a datetime would be drawn as
		// "273 days ago"), and a red pill once it has passed.
		if t, err := time.Parse(time.DateOnly, d.DueDate); err == nil {
			text := t.Format("Jan 2, 2006")
			if d.DueDate < now.Format(time.DateOnly) {
				add(widgetField{Type: "pill", Name: "Due date", Text: text + " · overdue", Color: "red"})
			} else {
				add(widgetField{Type: "text_with_icon", Name: "Due date", Text: text})
			}
		}
	}
	switch {
	case d.Syncing && d.SyncError != "":
		md.Footer = widgetFooter{FooterType: "custom_text", Text: "Sync error: " + d.SyncError}
	case d.Updated.IsZero():
		md.Footer = widgetFooter{FooterType: "custom_text", Text: "Jira issue " + d.Key}
	default:
		md.Footer = widgetFooter{FooterType: "updated", LastUpdatedAt: d.Updated.UTC().Format(time.RFC3339)}
	}
	n := d.Comments
	md.NumComments = &n
	return widgetResponse{Template: "summary_with_details_v0", Metadata: md}
}

// syncField is the widget's line on two-way sync: when the link last
// synced, or that it has an error (told in full in the footer).
func syncField(d *bridge.WidgetData) widgetField {
	switch {
	case d.SyncError != "":
		return widgetField{Type: "text_with_icon", Name: "Sync", Text: "Error (see below)"}
	case d.SyncedAt.IsZero():
		return widgetField{Type: "text_with_icon", Name: "Sync", Text: "Waiting for the first sync"}
	}
	return widgetField{Type: "datetime_with_icon", Name: "Last synced", Datetime: d.SyncedAt.UTC().Format(time.RFC3339)}
}

// viewedAs is the widget's subtitle: what the issue is and, when known,
// the Jira account it is seen with ("connected as alice — Alice
// Anderson"), so a browser logged in to Jira as someone else is noticed.
func viewedAs(what string, d *bridge.WidgetData) string {
	switch {
	case d.Viewer == "":
		return what
	case d.ViewerName == "" || d.ViewerName == d.Viewer:
		return what + " · connected as " + d.Viewer
	}
	return what + " · connected as " + d.Viewer + " — " + d.ViewerName
}

func orDash(s string) string { return orText(s, "—") }

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
