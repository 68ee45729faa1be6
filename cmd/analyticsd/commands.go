package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release version, set at build time with
// -ldflags "-X main.version=v1.2.3". Without it the module version or the
// VCS revision recorded by the Go toolchain is shown.
var version = ""

func versionString() string {
	v, rev, dirty := version, "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "-dirty"
		}
		v += " (" + rev + ")"
	}
	return fmt.Sprintf("analyticsd %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func runVersion(_ context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "analyticsd version", "Print the version of analyticsd.", env, stderr)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fs.invalid("version", "takes no arguments, got %q", fs.Args())
	}
	fmt.Fprintln(stdout, versionString())
	return nil
}

func runMigrate(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var c commonFlags
	fs := newFlagSet("migrate", "analyticsd migrate [flags]",
		"Apply the pending database migrations (the server also applies them on start)\nand print the schema version.", env, stderr)
	c.register(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fs.invalid("database", "migrate takes no arguments, got %q", fs.Args())
	}
	if err := c.validate(fs, stderr); err != nil {
		return err
	}
	st, err := openStore(ctx, &c, false)
	if err != nil {
		return err
	}
	defer st.Close()
	before, latest, err := st.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("read migration status: %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	after, _, err := st.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("read migration status: %w", err)
	}
	if after == before {
		fmt.Fprintf(stdout, "%s: schema is up to date (version %d of %d)\n", displayDSN(c.database), after, latest)
	} else {
		fmt.Fprintf(stdout, "%s: migrated from version %d to %d (latest %d)\n", displayDSN(c.database), before, after, latest)
	}
	return st.Close()
}

func displayDSN(dsn string) string {
	if isPostgresURL(dsn) {
		return redactURL(dsn)
	}
	return dsn
}
