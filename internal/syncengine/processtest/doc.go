// Package processtest holds the sync engine's tests that run the real
// asanajira binary, with Jira and Asana emulators in processes of their own
// (`asanajira emulate jira|asana`):
//
//   - the crash-point test: a binary built with -tags crashtest kills itself
//     with SIGKILL at each step of a comment sync and a completion sync
//     (ASANAJIRA_TEST_CRASH_AT); restarted, it applies every change exactly
//     once, counted once nothing is left to do (changes, Jira deliveries,
//     and the jobs that apply them, the killed process's among them);
//   - a run with no change of its own, killed mirroring a comment whose
//     delivery was lost: the restarted process's rescued job writes it once;
//   - two `serve` replicas on one PostgreSQL: the periodic reconciliation
//     runs once per interval across them, and catches a webhook Jira never
//     sent.
//
// The package has no code outside its tests.
package processtest
