// Package e2e holds asanajira's end-to-end tests: each test starts the
// whole demo (the Jira and Asana emulators and the bridge on SQLite, wired
// together as `asanajira demo` wires them) on free ports and drives it the
// way a person does, in headless Chromium: the Asana task pane, the install
// popup with Asana's consent and Jira's authorization, the issue form, the
// widget, the Jira emulator's own pages and the admin console. The tests
// then check on the Jira side what the person cannot see.
//
// Chromium is Debian's /usr/bin/chromium. Without it the tests skip on a
// developer machine and fail when the environment variable CI is set.
//
// go test ./e2e -update-screenshot rewrites docs/images/task-pane.png, the
// README's picture of the task pane showing the widget.
package e2e
