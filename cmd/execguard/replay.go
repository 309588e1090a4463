package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/execguard/execguard/config"
	"github.com/execguard/execguard/internal/trust"
	"github.com/execguard/execguard/runtime/ttyrec"
)

// maxCastBytes bounds a cast replay reads: recordings are capped far below.
const maxCastBytes = 256 << 20

type replayOptions struct {
	configPath string
	dir        string
	container  string
	speed      float64
	idleLimit  time.Duration
}

func (a *app) replayCommand() *cobra.Command {
	var o replayOptions
	cmd := &cobra.Command{
		Use:   "replay EXEC-ID|FILE [flags]",
		Short: "play a recorded terminal session to this terminal, with its timing",
		Long: `Plays the asciicast execguard recorded of a terminal exec (a policy
response with the record action) to standard output, with its timing.

EXEC-ID is the exec's id (execguard.exec_id in its events); the cast is
looked up in the tty directory beside the configuration's event_log. When
execs into several containers had that id, name the container with
--container; when one container had it several times, the latest plays.
A FILE path (with a /) plays that file.

The recording's output goes to the terminal as it is, escape sequences and
all, as it went to the session's terminal: a cast is only played when it is
a regular file owned by root (or by you) that neither group nor others can
write, in a directory of the same kind. Each cast is also playable with
asciinema play.`,
		Example: `  execguard replay 6f1c0e5d9a                    # a crictl/kubectl exec's id
  execguard replay --speed 4 --idle-limit 2s sh-debug
  execguard replay /var/log/execguard/tty/sh-debug+0123abcd+1764670000000000000.cast`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("replay: name one exec id or cast file (got %d)", len(args))
			}
			return nil
		},
		RunE: a.action(func(cmd *cobra.Command, args []string) (int, error) {
			return a.replay(cmd.Context(), o, args[0])
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.configPath, "config", config.Path(), "execguard's node configuration, for its event_log")
	fl.StringVar(&o.dir, "dir", "", "the directory of the casts (default: tty beside the event log)")
	fl.StringVar(&o.container, "container", "", "the container `id` (or its first characters) the exec ran in")
	fl.Float64Var(&o.speed, "speed", 1, "play this many times faster")
	fl.DurationVar(&o.idleLimit, "idle-limit", 0, "wait at most this long between outputs (0: as recorded)")
	return cmd
}

func (a *app) replay(ctx context.Context, o replayOptions, target string) (int, error) {
	if o.speed <= 0 {
		return exitUsage, usagef("replay: --speed %v: want a number above 0", o.speed)
	}
	if o.idleLimit < 0 {
		return exitUsage, usagef("replay: --idle-limit %v: want a duration of 0 or more", o.idleLimit)
	}
	path := target
	if !strings.Contains(target, "/") {
		dir := o.dir
		if dir == "" {
			cfg, err := config.Load(o.configPath)
			if err != nil {
				return exitPolicy, err
			}
			dir = ttyrec.CastDir(cfg.EventLog)
		}
		var err error
		if path, err = findCast(dir, target, o.container, a.stderr); err != nil {
			return exitPolicy, err
		}
	}
	f, err := openTrustedCast(path)
	if err != nil {
		return exitPolicy, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	_, events, err := ttyrec.ReadCast(io.LimitReader(f, maxCastBytes))
	if err != nil {
		return exitPolicy, fmt.Errorf("replay: %s: %w", path, err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := play(ctx, a.stdout, events, o.speed, o.idleLimit, sleepCtx); err != nil {
		return exitPolicy, fmt.Errorf("replay: %w", err)
	}
	return exitOK, nil
}

// findCast finds the cast of exec execID in dir: the latest, of the one
// container that matches container (a prefix of its id; "" for any).
func findCast(dir, execID, container string, stderr io.Writer) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("replay: casts: %w", err)
	}
	type found struct {
		name, container string
		start           time.Time
	}
	var matches []found
	containers := map[string]bool{}
	for _, e := range entries {
		x, c, start, ok := ttyrec.ParseCastName(e.Name())
		if !ok || x != execID || !strings.HasPrefix(c, container) {
			continue
		}
		matches = append(matches, found{e.Name(), c, start})
		containers[c] = true
	}
	switch {
	case len(matches) == 0:
		return "", fmt.Errorf("replay: no recording of exec %q in %s", execID, dir)
	case len(containers) > 1:
		ids := make([]string, 0, len(containers))
		for c := range containers {
			ids = append(ids, c)
		}
		sort.Strings(ids)
		return "", usagef("replay: exec %q ran in %d containers (%s): name one with --container", execID, len(ids), strings.Join(ids, ", "))
	}
	sort.Slice(matches, func(i, j int) bool { return matches[i].start.Before(matches[j].start) })
	if len(matches) > 1 {
		fmt.Fprintf(stderr, "execguard: replay: exec %q ran %d times in container %s; playing the latest, of %s\n",
			execID, len(matches), matches[0].container, matches[len(matches)-1].start.UTC().Format(time.RFC3339))
	}
	return filepath.Join(dir, matches[len(matches)-1].name), nil
}

// openTrustedCast opens a cast whose output may go to the terminal as it
// is: a regular file (not a link) owned by root or by us, in such a
// directory, that neither group nor others can write.
func openTrustedCast(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if err := trust.Check(dir, di); err != nil {
		return nil, fmt.Errorf("cast directory not trusted: %w", err)
	}
	f, fi, err := trust.Open(path, trust.NoFollow)
	if err != nil {
		return nil, fmt.Errorf("cast %s: %w", path, err)
	}
	if err := trust.Check(path, fi); err != nil {
		f.Close()
		return nil, fmt.Errorf("cast not trusted: %w", err)
	}
	return f, nil
}

// play writes the events to w, waiting as recorded (divided by speed, at
// most idle when idle > 0) before each.
func play(ctx context.Context, w io.Writer, events []ttyrec.Event, speed float64, idle time.Duration, sleep func(context.Context, time.Duration) error) error {
	var last time.Duration
	for _, e := range events {
		wait := time.Duration(float64(e.At-last) / speed)
		last = e.At
		if idle > 0 && wait > idle {
			wait = idle
		}
		if wait > 0 {
			if err := sleep(ctx, wait); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, e.Text); err != nil {
			return err
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return errors.New("interrupted")
		}
		return ctx.Err()
	}
}
