package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/runtime/ttyrec"
)

const testCast = `{"version":2,"width":80,"height":24}
[0.500000,"o","\u001b[1mhello\u001b[0m\r\n"]
[2.500000,"o","/ # "]
[2.750000,"o","exit\r\n"]
`

func writeCast(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplay(t *testing.T) {
	const want = "\x1b[1mhello\x1b[0m\r\n/ # exit\r\n"
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string) []string // the arguments after replay
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"by exec id", func(t *testing.T, dir string) []string {
			writeCast(t, dir, ttyrec.CastName("x1", "c1", time.Unix(1, 0)), testCast, 0o600)
			return []string{"--dir", dir, "--speed", "1000", "x1"}
		}, exitOK, want, ""},
		{"by file", func(t *testing.T, dir string) []string {
			return []string{"--speed", "1000", writeCast(t, dir, "s.cast", testCast, 0o600)}
		}, exitOK, want, ""},
		{"latest of a reused id", func(t *testing.T, dir string) []string {
			writeCast(t, dir, ttyrec.CastName("x1", "c1", time.Unix(1, 0)), `{"version":2}`+"\n"+`[0,"o","old"]`+"\n", 0o600)
			writeCast(t, dir, ttyrec.CastName("x1", "c1", time.Unix(2, 0)), testCast, 0o600)
			return []string{"--dir", dir, "--idle-limit", "1ms", "x1"}
		}, exitOK, want, "ran 2 times"},
		{"exec id in two containers", func(t *testing.T, dir string) []string {
			writeCast(t, dir, ttyrec.CastName("x1", "c1", time.Unix(1, 0)), testCast, 0o600)
			writeCast(t, dir, ttyrec.CastName("x1", "c2", time.Unix(2, 0)), testCast, 0o600)
			return []string{"--dir", dir, "x1"}
		}, exitUsage, "", "--container"},
		{"container named", func(t *testing.T, dir string) []string {
			writeCast(t, dir, ttyrec.CastName("x1", "c1", time.Unix(1, 0)), `{"version":2}`+"\n"+`[0,"o","other"]`+"\n", 0o600)
			writeCast(t, dir, ttyrec.CastName("x1", "c2", time.Unix(2, 0)), testCast, 0o600)
			return []string{"--dir", dir, "--container", "c2", "--speed", "1000", "x1"}
		}, exitOK, want, ""},
		{"no recording", func(t *testing.T, dir string) []string {
			return []string{"--dir", dir, "x9"}
		}, exitPolicy, "", "no recording"},
		{"writable by others", func(t *testing.T, dir string) []string {
			writeCast(t, dir, ttyrec.CastName("x1", "c1", time.Unix(1, 0)), testCast, 0o666)
			return []string{"--dir", dir, "x1"}
		}, exitPolicy, "", "not trusted"},
		{"symbolic link", func(t *testing.T, dir string) []string {
			target := writeCast(t, dir, "real.cast", testCast, 0o600)
			link := filepath.Join(dir, ttyrec.CastName("x1", "c1", time.Unix(1, 0)))
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return []string{"--dir", dir, "x1"}
		}, exitPolicy, "", "symbolic link"},
		{"directory writable by others", func(t *testing.T, dir string) []string {
			sub := filepath.Join(dir, "open")
			if err := os.Mkdir(sub, 0o777); err != nil {
				t.Fatal(err)
			}
			os.Chmod(sub, 0o777)
			return []string{writeCast(t, sub, "s.cast", testCast, 0o600)}
		}, exitPolicy, "", "directory not trusted"},
		{"not a cast", func(t *testing.T, dir string) []string {
			return []string{writeCast(t, dir, "s.cast", "hello\n", 0o600)}
		}, exitPolicy, "", "cast header"},
		{"bad speed", func(t *testing.T, dir string) []string {
			return []string{"--speed", "0", "x1"}
		}, exitUsage, "", "--speed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.Chmod(dir, 0o700)
			args := append([]string{"replay"}, tt.setup(t, dir)...)
			var out, errOut bytes.Buffer
			code := run(args, strings.NewReader(""), &out, &errOut)
			if code != tt.wantCode || out.String() != tt.wantOut || !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("exit %d stdout %q stderr %q\nwant %d %q, stderr with %q", code, out.String(), errOut.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

// TestPlayTiming checks the waits replay asks for: the recorded gaps,
// divided by the speed, cut at the idle limit.
func TestPlayTiming(t *testing.T) {
	events := []ttyrec.Event{{At: 500 * time.Millisecond, Text: "a"}, {At: 2500 * time.Millisecond, Text: "b"}, {At: 2500 * time.Millisecond, Text: "c"}}
	tests := []struct {
		speed float64
		idle  time.Duration
		want  []time.Duration
	}{
		{1, 0, []time.Duration{500 * time.Millisecond, 2 * time.Second}},
		{2, 0, []time.Duration{250 * time.Millisecond, time.Second}},
		{1, time.Second, []time.Duration{500 * time.Millisecond, time.Second}},
	}
	for _, tt := range tests {
		var waits []time.Duration
		var out bytes.Buffer
		err := play(context.Background(), &out, events, tt.speed, tt.idle, func(_ context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		})
		if err != nil || out.String() != "abc" || !reflect.DeepEqual(waits, tt.want) {
			t.Errorf("speed %v idle %v: waits %v out %q err %v, want %v", tt.speed, tt.idle, waits, out.String(), err, tt.want)
		}
	}
}

// TestTestRecord: policy test says when a call's terminal is recorded.
func TestTestRecord(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"terminal exec", []string{"--namespace", "shop", "--tty"}, "actions:    alert, record\n"},
		{"exec without a terminal", []string{"--namespace", "shop"}, "actions:    alert\n"},
		{"other namespace", []string{"--namespace", "dev", "--tty"}, "actions:    none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"policy", "test", "testdata/record.yaml"}, tt.args...)
			if code := run(args, strings.NewReader(""), &out, &errOut); code != 0 || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, stdout lacks %q:\n%s%s", code, tt.want, out.String(), errOut.String())
			}
		})
	}
}
