//go:build !crashtest || !unix

package syncengine

// crashAt marks a step of a sync write where the crash-point test kills the
// process. In every normal build it does nothing and costs nothing; the test
// builds asanajira with -tags crashtest (see crashpoint_crashtest.go).
func crashAt(string) {}

// testLeases changes nothing outside the crash-point test's build.
func testLeases(*Config) {}
