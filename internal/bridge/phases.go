package bridge

import (
	"context"
	"time"
)

// PhaseRecorder receives how long each step of a create took (the
// benchmark's -phases): the form's reads, the claim's transaction, Jira's
// calls, the link's statement. A request whose context carries none
// (WithPhases) pays one context lookup a step.
type PhaseRecorder interface {
	Phase(ctx context.Context, name string, d time.Duration)
}

type phasesKey struct{}

// WithPhases has the steps of a create made with ctx reported to r.
func WithPhases(ctx context.Context, r PhaseRecorder) context.Context {
	return context.WithValue(ctx, phasesKey{}, r)
}

// timePhase starts timing the step name of a create; the function it
// returns ends it.
func timePhase(ctx context.Context, name string) func() {
	r, _ := ctx.Value(phasesKey{}).(PhaseRecorder)
	if r == nil {
		return noPhase
	}
	start := time.Now()
	return func() { r.Phase(ctx, name, time.Since(start)) }
}

func noPhase() {}
