// Command analyticsd is the reference server of Advisor Analytics: it runs
// the analytics API, the activity ingestion routes and the background jobs
// standalone, on an embedded SQLite file by default or on PostgreSQL (where
// several replicas can share one database).
//
// Usage:
//
//	analyticsd [command] [flags]
//
// Commands:
//
//	serve           run the server (the default command)
//	migrate         apply the pending database migrations
//	init            migrate, backfill daily snapshots, warm the cache, check the setup
//	import-advisor  import an Azure Advisor CSV export as a report
//	export          write activities as CSV or NDJSON
//	jobs            list the background jobs, or run one now
//	version         print the version
//
// Every flag also has an environment variable (see "analyticsd <command>
// -h"); a flag given on the command line wins. Try it with demo data:
//
//	go run ./cmd/analyticsd -demo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	_ "time/tzdata" // -timezone works on systems without a zoneinfo database

	"github.com/advisoranalytics/advisor-analytics/internal/cli"
)

func main() {
	cli.Main(func(ctx context.Context) int { return run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr) })
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the server (the default command)", runServe},
		{"migrate", "apply the pending database migrations and print the schema version", runMigrate},
		{"init", "migrate, backfill daily snapshots, warm the cache and check the setup", runInit},
		{"import-advisor", "import an Azure Advisor CSV export as one report", runImportAdvisor},
		{"import", "backfill activities or reports from an NDJSON file", runImport},
		{"export", "write activities as CSV or NDJSON", runExport},
		{"jobs", "list the background jobs, or run one now (jobs list, jobs run NAME)", runJobs},
		{"version", "print the version", runVersion},
	}
}

// run is the whole program: it parses args (without the program name),
// reads settings through env, writes to stdout and stderr, and returns the
// exit status. Cancelling ctx shuts a running server down gracefully.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	cmds := commands()
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" || (name == "serve" && len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help")) {
		printUsage(stderr, cmds)
		if name == "help" {
			return cli.ExitOK
		}
	}
	for _, c := range cmds {
		if c.name != name {
			continue
		}
		err := c.run(ctx, args, env, stdout, stderr)
		switch {
		case err == nil:
			return cli.ExitOK
		case errors.Is(err, flag.ErrHelp):
			return cli.ExitOK
		case errors.Is(err, errUsage):
			return cli.ExitUsage
		default:
			fmt.Fprintf(stderr, "analyticsd %s: %v\n", name, err)
			return cli.ExitFailure
		}
	}
	fmt.Fprintf(stderr, "analyticsd: unknown command %q\n\n", name)
	printUsage(stderr, cmds)
	return cli.ExitUsage
}

func printUsage(w io.Writer, cmds []command) {
	fmt.Fprintf(w, "Advisor Analytics reference server.\n\nUsage: analyticsd [command] [flags]\n\nCommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-15s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'analyticsd <command> -h' for the flags of a command. Every flag has an\nenvironment variable; a flag on the command line wins.\n\n")
}
