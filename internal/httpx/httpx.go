// Package httpx owns what every asanajira HTTP handler shares: the error type
// and adapter that turn a handler's error into one response and one log
// line, JSON responders, and the middleware chain (request ids, access log,
// panic recovery, body size limits, Prometheus metrics).
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Error is an error with the HTTP status and the message the client may see.
// Err, the cause, is logged but never sent.
type Error struct {
	Status int
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a public message and no cause.
func Errorf(status int, format string, a ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, a...)}
}

// Wrap returns an *Error with a public message and a logged cause.
func Wrap(status int, msg string, err error) *Error {
	return &Error{Status: status, Msg: msg, Err: err}
}

// HandlerFunc is a handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts fn to an http.Handler: a returned *Error is answered with its
// status and message; any other error with 500 and a generic message. The
// error is logged once, here, with the request id.
func Handle(log *slog.Logger, fn HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		status, msg := http.StatusInternalServerError, "internal error; the server log has the details (request id "+RequestID(r.Context())+")"
		var he *Error
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &he):
			status, msg = he.Status, he.Msg
		case errors.As(err, &mbe):
			status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
		}
		level := slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(r.Context(), level, "request failed", slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("error", err))
		WriteJSON(w, status, map[string]string{"error": msg})
	})
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// DecodeJSON reads a JSON body of at most limit bytes into v. Malformed or
// oversized bodies become 400 and 413 errors.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Wrap(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit), err)
		}
		return Wrap(http.StatusBadRequest, "request body is not valid JSON", err)
	}
	return nil
}
