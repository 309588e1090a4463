package runtime

import (
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/execguard/execguard/config"
)

func TestZZAlloc(t *testing.T) {
	T := os.Getenv("ZZT")
	if T == "" {
		t.Skip()
	}
	ID := "7cbc845920c41fec85b973bad23394cfc280da1e3e0b24e2d9f9715b34ee692d"
	args := []string{T + "/execguard-runc", "--root", T + "/runc-root", "--log", T + "/" + ID + "/log.json", "--log-format", "json", "exec", "--process", T + "/process.json", "--console-socket", T + "/pty.sock", "--detach", "--pid-file", T + "/" + ID + "/zz.pid", ID}
	os.Setenv("EXECGUARD_CONFIG", T+"/config.toml")
	runtime.MemProfileRate = 1
	cfg, cfgErr := config.Load(config.PathFor(args[0]))
	call, parseErr := Parse(args)
	real, _ := resolveRuntime(cfg, args[0])
	decide(call, parseErr, cfg, cfgErr, real)
	runtime.GC()
	f, _ := os.Create("/tmp/zz.heap")
	pprof.Lookup("allocs").WriteTo(f, 0)
	f.Close()
}
