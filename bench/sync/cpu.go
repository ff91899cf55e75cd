package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuUse is CPU time spent, up to a moment: by this process (the load
// generator, the bridge and its jobs, the plain handler), by the
// PostgreSQL server's processes working for this one (zero on SQLite), and by the whole machine (every core, every
// process: the other work sharing it included).
type cpuUse struct {
	process, db, machine time.Duration
}

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// readCPU reads the CPU used so far. What it cannot read counts as zero:
// the figures explain a rate, they do not decide the run.
func readCPU() cpuUse {
	var u cpuUse
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.process = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		// cpu  user nice system idle iowait irq softirq steal …
		if line, _, ok := bytes.Cut(b, []byte("\n")); ok {
			f := bytes.Fields(line)
			for i, v := range f[1:] {
				if i == 3 || i == 4 { // idle, iowait
					continue
				}
				if i >= 8 { // guest times are counted in user already
					break
				}
				n, _ := strconv.ParseInt(string(v), 10, 64)
				u.machine += time.Duration(n) * clockTick
			}
		}
	}
	u.db = postgresCPU()
	return u
}

// postgresCPU sums the user and system time of the PostgreSQL server's
// processes that work for this one: the backends of its connections (a
// backend's title names its client's port) and the server's own
// processes (WAL writer, checkpointer, background writer: shared with
// whatever else uses the server). A backend that exited takes its time
// with it, so this undercounts a phase that ends connections.
func postgresCPU() time.Duration {
	ports := ownPorts()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var total time.Duration
	for _, p := range stats {
		b, err := os.ReadFile(p) //nolint:gosec // G304: /proc, read-only
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime stime: fields 14 and 15, counted
		// after the comm, which may hold spaces.
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open || string(b[open+1:end]) != "postgres" {
			continue
		}
		title, err := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline")) //nolint:gosec // G304: /proc, read-only
		if err != nil {
			continue
		}
		// "postgres: 15/main: user db 127.0.0.1(47362) idle" for a backend.
		if i := bytes.LastIndexByte(title, '('); i >= 0 {
			port, _, _ := bytes.Cut(title[i+1:], []byte(")"))
			if !ports[string(port)] {
				continue // another client's backend
			}
		}
		f := bytes.Fields(b[end+1:])
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(string(f[11]), 10, 64)
		st, _ := strconv.ParseInt(string(f[12]), 10, 64)
		total += time.Duration(ut+st) * clockTick
	}
	return total
}

// ownPorts are the local TCP ports of this process's sockets, in decimal.
func ownPorts() map[string]bool {
	inodes := map[string]bool{}
	fds, _ := filepath.Glob("/proc/self/fd/*")
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil {
			if ino, ok := strings.CutPrefix(l, "socket:["); ok {
				inodes[strings.TrimSuffix(ino, "]")] = true
			}
		}
	}
	ports := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if n, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
				ports[strconv.FormatUint(n, 10)] = true
			}
		}
	}
	return ports
}

// addSince adds the CPU used from u to now to acc.
func (u cpuUse) addSince(acc *cpuUse) {
	now := readCPU()
	acc.process += now.process - u.process
	acc.db += now.db - u.db
	acc.machine += now.machine - u.machine
}
