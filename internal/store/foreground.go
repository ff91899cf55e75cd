package store

import "context"

// Foreground marks ctx as a user's request waiting for its answer (an App
// Components call, an admin page). A store that serializes its writes
// (SQLite's one writer, see NewSQLWithWriters) lets such writes go before
// the background work (jobs, sync runs, intake) waiting for the writer.
func Foreground(ctx context.Context) context.Context {
	return context.WithValue(ctx, foregroundKey{}, true)
}

// IsForeground reports whether ctx was marked by Foreground.
func IsForeground(ctx context.Context) bool {
	fg, _ := ctx.Value(foregroundKey{}).(bool)
	return fg
}

type foregroundKey struct{}

// Background unmarks ctx (Foreground): the work a request leaves behind,
// which is not to go before other requests' writes.
func Background(ctx context.Context) context.Context {
	if !IsForeground(ctx) {
		return ctx
	}
	return context.WithValue(ctx, foregroundKey{}, false)
}
