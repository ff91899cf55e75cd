//go:build crashtest && unix

package syncengine

import (
	"os"
	"syscall"
	"time"
)

// In a crashtest build, CrashEnv names the step at which asanajira kills
// itself with SIGKILL, as a power cut or the OOM killer would: nothing after
// it runs, no deferred call, no shutdown. Steps:
//
//	before-asana-write, after-asana-write, after-asana-record   (a story; a field's write, without -record)
//	before-jira-write, after-jira-write, after-jira-record      (a Jira comment; a field's write, without -record)
//	before-jira-transition, after-jira-transition               (the status)
//	before-asana-complete, after-asana-complete                 (the task's completion)
//	before-attachment-write, after-attachment-write             (a Jira file copied to the task)
//	before-finish                                               (state saved, changes not yet marked)
//
// This file is compiled only with -tags crashtest, so no released binary
// can be made to crash by its environment; the crash-point test builds its
// own binary with the tag.
var crashStep = os.Getenv(CrashEnv)

func testLeases(cfg *Config) {
	if d, err := time.ParseDuration(os.Getenv(LeaseEnv)); err == nil && d > 0 {
		cfg.Lease, cfg.WriteLease = d, d
	}
}

func crashAt(step string) {
	if crashStep != "" && step == crashStep {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL is not delivered synchronously; never go on
	}
}
