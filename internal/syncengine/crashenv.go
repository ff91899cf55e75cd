package syncengine

// The crash-point test's hooks, read only by a binary built with -tags
// crashtest (crashpoint_crashtest.go); every other build ignores them.
const (
	// CrashEnv names the step at which the process kills itself with
	// SIGKILL (see crashAt).
	CrashEnv = "ASANAJIRA_TEST_CRASH_AT"
	// LeaseEnv shortens the link lease and the write lease (a Go duration),
	// so the test waits seconds, not the production half-minute, before a
	// killed run's leases lapse.
	LeaseEnv = "ASANAJIRA_TEST_SYNC_LEASE"
)
