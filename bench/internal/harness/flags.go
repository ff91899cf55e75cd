package harness

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// Flags are the flags every in-process benchmark takes: the database, the
// profiles of its measured phases, -scale and -v.
type Flags struct {
	Database     string
	PostgresURL  string
	CPUProfile   string
	BlockProfile string
	MutexProfile string
	Trace        string
	Verbose      bool
	ScaleFlags
}

// Register adds the flags to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Database, "db", SQLite, "database the bridge runs on: sqlite or postgres")
	fs.StringVar(&f.PostgresURL, "postgres-url", "", "PostgreSQL server for -db postgres, where the run gets a schema of its own (default $TEST_POSTGRES_URL, else "+DefaultPostgresURL+")")
	fs.StringVar(&f.CPUProfile, "cpuprofile", "", "write a CPU profile of the measured phases to this file")
	fs.StringVar(&f.BlockProfile, "blockprofile", "", "write a profile of where goroutines blocked (channels, locks, the database pool) during the measured phases")
	fs.StringVar(&f.MutexProfile, "mutexprofile", "", "write a profile of contended mutexes during the measured phases")
	fs.StringVar(&f.Trace, "trace", "", "write an execution trace of the measured phases to this file: where requests waited for a processor, the network or a lock (go tool trace -pprof=sched|net|sync|syscall FILE)")
	fs.BoolVar(&f.Verbose, "v", false, "show the bridge's warnings and errors, and the calls recorded, on stderr")
	f.ScaleFlags.Register(fs)
}

// Options are the world options the flags ask for, in a temporary folder.
func (f *Flags) Options() Options {
	o := Options{Database: f.Database, PostgresURL: f.PostgresURL}
	if f.Verbose {
		o.BridgeLog = os.Stderr
	}
	return o
}

// ScaleFlags are -scale and -scale-sizes, which every benchmark takes.
type ScaleFlags struct {
	Scale      bool
	ScaleSizes string
}

// Register adds the flags to fs.
func (f *ScaleFlags) Register(fs *flag.FlagSet) {
	fs.BoolVar(&f.Scale, "scale", false, "measure again on a world filled by the scale generator (-scale-sizes) and print that line too, with scale_ratio= its main figure over the demo data's")
	fs.StringVar(&f.ScaleSizes, "scale-sizes", FullScale.String(), "what -scale adds to the demo's data (keys left out keep these values)")
}

// Sizes is what -scale asks for: nil without -scale.
func (f *ScaleFlags) Sizes() (*Sizes, error) {
	if !f.Scale {
		return nil, nil
	}
	s, err := ParseSizes(f.ScaleSizes)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// Figures is a benchmark's figures on one world, printed as its summary
// line: Head, then the data it ran on, then Rest.
type Figures struct {
	Head, Rest []any
	// Filled is what the scale generator added (nil on the demo's data).
	Filled *Filled
	// Figure is the benchmark's main figure, which scale_ratio compares.
	Figure float64
	// Also are other figures compared the same way, each printed as
	// <name>_scale_ratio.
	Also []Named
}

// Named is a figure with its name.
type Named struct {
	Name  string
	Value float64
}

// Line is the summary line: data=demo, or data=scale with what the
// generator added, how long it took (fill_s) and scale_ratio, Figure over
// demo's Figure (the same benchmark on the demo's data, in the same run).
func (s Figures) Line(demo *Figures) string {
	kv := append([]any{}, s.Head...)
	if s.Filled == nil {
		kv = append(kv, "data", "demo")
	} else {
		z := s.Filled.Sizes
		kv = append(kv, "data", "scale", "scale_workspaces", z.Workspaces, "scale_servers", z.Servers, "scale_users", z.Users, "scale_links", z.Links,
			"scale_audit", z.Audit, "scale_jobs", z.Jobs, "fill_s", s.Filled.Duration.Seconds())
		if demo != nil {
			kv = append(kv, "scale_ratio", s.Figure/demo.Figure)
			for i, a := range s.Also {
				if i < len(demo.Also) {
					kv = append(kv, a.Name+"_scale_ratio", a.Value/demo.Also[i].Value)
				}
			}
		}
	}
	return Line(append(kv, s.Rest...)...)
}

// MeasureBoth prints the figures measure gives on the demo's data and,
// when sizes is not nil, then on a world filled to sizes, with the
// comparison of the two.
func MeasureBoth(ctx context.Context, out io.Writer, sizes *Sizes, measure func(ctx context.Context, sizes *Sizes) (Figures, error)) error {
	small, err := measure(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, small.Line(nil)); err != nil {
		return err
	}
	if sizes == nil {
		return nil
	}
	big, err := measure(ctx, sizes)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, big.Line(&small))
	return err
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
	trace   io.Closer
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
	if f.Trace != "" {
		out, err := os.Create(f.Trace)
		if err == nil {
			if err = trace.Start(out); err != nil {
				_ = out.Close()
			}
		}
		if err != nil {
			if p.cpu != nil {
				pprof.StopCPUProfile()
				_ = p.cpu.Close()
			}
			return nil, fmt.Errorf("trace: %w", err)
		}
		p.trace = out
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
	if p.trace != nil {
		trace.Stop()
		errs = append(errs, p.trace.Close())
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
