package harness

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

// Flags are the flags every in-process benchmark takes: the database, the
// profiles of its measured phases, -scale and -v.
type Flags struct {
	Database     string
	PostgresURL  string
	CPUProfile   string
	BlockProfile string
	MutexProfile string
	Verbose      bool
}

// Register adds the flags to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Database, "db", SQLite, "database the bridge runs on: sqlite or postgres")
	fs.StringVar(&f.PostgresURL, "postgres-url", "", "PostgreSQL server for -db postgres, where the run gets a schema of its own (default $TEST_POSTGRES_URL, else "+DefaultPostgresURL+")")
	fs.StringVar(&f.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured phases to this file")
	fs.StringVar(&f.BlockProfile, "blockprofile", "", "write a profile of where goroutines blocked (channels, locks, the database pool) during the measured phases")
	fs.StringVar(&f.MutexProfile, "mutexprofile", "", "write a profile of contended mutexes during the measured phases")
	fs.BoolVar(&f.Verbose, "v", false, "show the bridge's warnings and errors, and the calls recorded, on stderr")
}

// Options are the world options the flags ask for, in a temporary folder.
func (f *Flags) Options() Options {
	o := Options{Database: f.Database, PostgresURL: f.PostgresURL}
	if f.Verbose {
		o.BridgeLog = os.Stderr
	}
	return o
}

// Logf writes to stderr under -v.
func (f *Flags) Logf(format string, a ...any) {
	if f.Verbose {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
	}
}

// Profile records the profiles the flags ask for from Start until the
// returned function runs.
type Profile struct {
	f       *Flags
	cpu     io.Closer
	running bool
}

// StartProfiles starts the CPU profile and turns on block and mutex
// sampling. Stop writes them.
func (f *Flags) StartProfiles() (*Profile, error) {
	p := &Profile{f: f, running: true}
	if f.CPUProfile != "" {
		out, err := os.Create(f.CPUProfile)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			_ = out.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		p.cpu = out
	}
	if f.BlockProfile != "" {
		// One sample per 10 µs blocked on average: cheap enough not to
		// change what it measures, fine enough for waits of milliseconds.
		runtime.SetBlockProfileRate(10_000)
	}
	if f.MutexProfile != "" {
		runtime.SetMutexProfileFraction(5)
	}
	return p, nil
}

// Stop ends the profiles and writes them; a second call does nothing.
func (p *Profile) Stop() error {
	if p == nil || !p.running {
		return nil
	}
	p.running = false
	var errs []error
	if p.cpu != nil {
		pprof.StopCPUProfile()
		errs = append(errs, p.cpu.Close())
	}
	write := func(name, path string) {
		if path == "" {
			return
		}
		out, err := os.Create(path)
		if err == nil {
			err = pprof.Lookup(name).WriteTo(out, 0)
			errs = append(errs, out.Close())
		}
		errs = append(errs, err)
	}
	write("block", p.f.BlockProfile)
	write("mutex", p.f.MutexProfile)
	runtime.SetBlockProfileRate(0)
	runtime.SetMutexProfileFraction(0)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	return nil
}
