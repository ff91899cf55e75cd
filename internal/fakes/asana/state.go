package asana

import (
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"strconv"
	"time"
)

// state is everything the emulator remembers; it is guarded by Server.mu.
type state struct {
	baseURL string
	app     AppRegistration
	faults  Faults
	rng     *mrand.Rand // the faults' random choices, seeded by Faults.Seed
	nextGID int64

	workspaces   map[string]*workspace
	users        map[string]*user
	userOrder    []string
	projects     map[string]*project
	projectOrder []string
	sections     map[string]*section
	tasks        map[string]*task
	taskOrder    []string
	stories      map[string]*story
	attachments  map[string]*attachment
	customFields map[string]*customField
	enumOptions  map[string]*enumOption
	webhooks     map[string]*webhook
	webhookOrder []string

	pats     map[string]string // personal access token -> user gid
	access   map[string]*accessToken
	refresh  map[string]*refreshToken
	codes    map[string]*authCode
	sessions map[string]string // task pane session id -> user gid

	downloads map[string]download // download ticket -> file

	events     []*event
	eventSeq   int64
	syncTokens map[string]syncToken

	rate map[string]*tokenRate

	installed   map[string]bool // user gid -> finished the app's install flow
	appProjects map[string]bool // project gid -> the app is added to it
	rules       map[string]*rule
	ruleOrder   []string
	runs        map[string]*ruleRun // idempotency key -> run
}

func newState(baseURL string, app AppRegistration) *state {
	return &state{
		baseURL:      baseURL,
		app:          app,
		rng:          newRNG(0),
		nextGID:      1300000000000000,
		workspaces:   map[string]*workspace{},
		users:        map[string]*user{},
		projects:     map[string]*project{},
		sections:     map[string]*section{},
		tasks:        map[string]*task{},
		stories:      map[string]*story{},
		attachments:  map[string]*attachment{},
		customFields: map[string]*customField{},
		enumOptions:  map[string]*enumOption{},
		webhooks:     map[string]*webhook{},
		pats:         map[string]string{},
		access:       map[string]*accessToken{},
		refresh:      map[string]*refreshToken{},
		codes:        map[string]*authCode{},
		sessions:     map[string]string{},
		downloads:    map[string]download{},
		syncTokens:   map[string]syncToken{},
		rate:         map[string]*tokenRate{},
		installed:    map[string]bool{},
		appProjects:  map[string]bool{},
		rules:        map[string]*rule{},
		runs:         map[string]*ruleRun{},
	}
}

// newGID returns a fresh numeric gid, as Asana's are (opaque strings of digits).
func (st *state) newGID() string {
	st.nextGID++
	return strconv.FormatInt(st.nextGID, 10)
}

type workspace struct {
	gid, name string
}

type user struct {
	gid, name, login, email string
}

type project struct {
	gid, name, notes, color string
	workspace               string
	owner                   string
	createdAt, modifiedAt   time.Time
	archived                bool
	customFields            []string          // custom field gids enabled on the project
	settingGIDs             map[string]string // custom field gid -> its custom_field_setting gid
	sections                []string          // section gids in project order; never empty
}

type task struct {
	gid, name             string
	notes, htmlNotes      string
	completed             bool
	completedAt           time.Time
	assignee              string
	dueOn                 string
	workspace             string
	projects              []string
	sections              map[string]string // project gid -> the task's section in it
	createdAt, modifiedAt time.Time
	customValues          map[string]any // custom field gid -> text/number/enum option gid/[]string/nil
	external              *externalData
	stories               []string
	attachments           []string
	deleted               bool
}

type externalData struct {
	gid, data string
}

type story struct {
	gid, task, author  string
	text, htmlText     string
	subtype, typ       string // typ is "comment" or "system"
	source             string // api or web
	createdAt          time.Time
	isPinned, isEdited bool
	// details are a system story's conditional fields (new_name,
	// new_dates, assignee, new_section, new_enum_value, ...), captured
	// when the change happened.
	details obj
}

type attachment struct {
	gid, name      string
	subtype        string // asana, dropbox, gdrive, box, onedrive, vimeo, external
	parent         string
	url            string               // the linked URL for non-Asana hosts
	content        []byte               // the file bytes for Asana-hosted files
	generated      *GeneratedAttachment // content made on the fly instead
	contentType    string
	createdAt      time.Time
	connectedToApp bool
	createdBy      string
}

type customField struct {
	gid, name, subtype string
	description        string
	workspace          string
	options            []string // enum option gids
	precision          int
}

type enumOption struct {
	gid, name, color string
	enabled          bool
	field            string
}

type accessToken struct {
	user, clientID string
	expires        time.Time
	refresh        string
}

type refreshToken struct {
	user, clientID string
	scope          string
	revoked        bool
}

type authCode struct {
	user, clientID, redirectURI string
	challenge, method           string
	scope                       string
	expires                     time.Time
}

type download struct {
	attachment string
	expires    time.Time
}

// randomToken returns n random bytes as hex, for codes, tokens and secrets.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return hex.EncodeToString(b)
}
