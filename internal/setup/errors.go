package setup

import (
	"errors"
	"fmt"

	"github.com/asanajira/asanajira/internal/jira"
)

// Code classifies an *Error so each face can answer in its own terms (an
// HTTP status, an exit code).
type Code int

// Error codes.
const (
	// Invalid: the input is wrong or the operation does not apply (a bad
	// URL, a method the server lacks, a link Jira does not accept).
	Invalid Code = iota + 1
	// NotFound: the server, workspace, connection or route does not exist.
	NotFound
	// Conflict: the change clashes with what exists (a second server with
	// the same base URL).
	Conflict
	// JiraFailed: Jira refused or did not answer a step of a change made
	// in Jira; Step says which.
	JiraFailed
)

// Error is every failure the service reports to a person: Message is one
// or more full sentences for the admin, safe to show (never a credential).
type Error struct {
	Code    Code
	Message string
	// Step is the step of a multi-step change that failed, if any.
	Step string
	Err  error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func invalid(format string, a ...any) error {
	return &Error{Code: Invalid, Message: fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) error {
	return &Error{Code: NotFound, Message: fmt.Sprintf(format, a...)}
}

// CodeOf returns err's Code, or 0 when err is not an *Error (an internal
// failure such as the database).
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// explain turns a Jira error into one sentence for the admin; the Jira
// client's message already carries its hint.
func explain(err error) string {
	var je *jira.Error
	if errors.As(err, &je) {
		return je.Error()
	}
	var se *Error
	if errors.As(err, &se) {
		return se.Message
	}
	return err.Error()
}

// stepFailed is a Jira step that failed during a change.
func stepFailed(step string, err error) error {
	return &Error{Code: JiraFailed, Step: step, Err: err,
		Message: "stopped at “" + step + "”: " + explain(err)}
}
