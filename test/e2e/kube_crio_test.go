//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/plugin"
	"github.com/execguard/execguard/test/kube"
)

// TestKubernetesCRIO: the kubelet in front of a private CRI-O whose runc
// and crun handlers run the wrapper, with the NRI plugin connected:
// kubectl exec -it is recorded as interactive with the pod's labels and
// alerted, kubectl exec is not interactive, and in block mode kubectl exec
// -it is refused with what kubectl prints checked.
func TestKubernetesCRIO(t *testing.T) {
	binDir := kubeBinDir(t)
	e := newCRIOEnv(t, "alert")
	stateDir := filepath.Join(e.dir, "state")
	startNRIPlugin(t, e.dir, e.crio.NRISocket, e.configPath, filepath.Join(e.dir, "plugin.log"))
	waitStatus(t, stateDir, "the plugin connected", func(s plugin.Status) bool {
		return s.Connected && !s.Synchronized.IsZero()
	})
	before := readKubeHostState(t)
	c := startKube(t, kube.Options{CRIO: e.crio, BinDir: binDir})
	if err := c.CreateNamespace(kubeNamespace); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(dsWebPod(c.NodeName)); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitPodReady(kubeNamespace, "web", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	out, err := c.Kubectl("-n", kubeNamespace, "get", "pod", "web", "-o", "jsonpath={.status.containerStatuses[0].containerID}")
	if err != nil {
		t.Fatal(err)
	}
	web, ok := strings.CutPrefix(out, "cri-o://")
	if !ok || web == "" {
		t.Fatalf("container id of pod web: %q", out)
	}
	sub := func(t *testing.T) *kubeEnv {
		return &kubeEnv{env: &env{t: t, dir: e.dir, configPath: e.configPath, eventLog: e.eventLog}, c: c}
	}

	t.Run("exec-it", func(t *testing.T) {
		k := sub(t)
		mark := k.mark()
		s := k.session("-n", kubeNamespace, "exec", "-it", "web", "-c", "app", "--", "sh")
		if err := s.Expect(promptOrHint, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		typeUntil(t, s, markerLine, computed)
		typeUntil(t, s, "tty", regexp.MustCompile(`/dev/pts/\d+`))
		endSession(t, s, 0)
		docs := k.since(mark)
		execs := filter(docs, "event", "exec", web)
		alerts := filter(docs, "alert", "exec", web)
		if len(execs) != 1 || len(alerts) != 1 {
			t.Fatalf("%d exec events and %d alerts, want 1 and 1: %v", len(execs), len(alerts), docs)
		}
		checkCRIOKubeExec(t, execs[0], true)
		check(t, "alert", alerts[0], []expectation{{"rule.id", ruleID}, {"process.args", []string{"sh"}}})
		checkRules(t, docs, web, true, true)
	})

	t.Run("exec", func(t *testing.T) {
		k := sub(t)
		mark := k.mark()
		out, err := c.Kubectl("-n", kubeNamespace, "exec", "web", "-c", "app", "--", "id")
		if err != nil || !strings.Contains(out, "uid=0(root)") {
			t.Fatalf("kubectl exec id: %q, %v", out, err)
		}
		docs := k.since(mark)
		execs := filter(docs, "event", "exec", web)
		if len(execs) != 1 {
			t.Fatalf("%d exec events, want 1: %v", len(execs), docs)
		}
		checkCRIOKubeExec(t, execs[0], false)
		if alerts := kinds(docs, "alert"); len(alerts) != 0 {
			t.Errorf("%d alerts for kubectl exec without a terminal: %v", len(alerts), alerts)
		}
	})

	t.Run("block-exec-it", func(t *testing.T) {
		k := sub(t)
		e.setCRIOAction("block")
		mark := k.mark()
		s := k.session("-n", kubeNamespace, "exec", "-it", "web", "-c", "app", "--", "sh", "-c", "touch /tmp/was-here")
		out, err := s.Wait()
		got := strings.TrimSpace(strings.ReplaceAll(out, "\r", ""))
		t.Logf("kubectl exit %v, printed:\n%s", err, got)
		if kube.ExitCode(err) != crioBlockedExit || !crioBlockedExec.MatchString(got) {
			t.Errorf("kubectl exit %v, printed:\n%s\nwant status %d and output matching %s", err, got, crioBlockedExit, crioBlockedExec)
		}
		denied := filter(k.since(mark), "event", "exec", web)
		if len(denied) != 1 {
			t.Fatalf("%d exec events, want 1", len(denied))
		}
		checkCRIOKubeExec(t, denied[0], true)
		check(t, "denied exec", denied[0], []expectation{
			{"event.type", []string{"denied"}},
			{"execguard.action", "block"},
		})
		if _, err := c.Kubectl("-n", kubeNamespace, "exec", "web", "-c", "app", "--", "test", "!", "-e", "/tmp/was-here"); err != nil {
			t.Errorf("the refused session ran: %v", err)
		}
		// Without a terminal the exec still runs.
		if out, err := c.Kubectl("-n", kubeNamespace, "exec", "web", "-c", "app", "--", "id"); err != nil || !strings.Contains(out, "uid=0(root)") {
			t.Errorf("kubectl exec in block mode: %q, %v", out, err)
		}
	})

	// The huge pages hidden from the kubelet stay hidden in its namespace only.
	if b, err := os.ReadFile("/proc/self/mountinfo"); err != nil || strings.Contains(string(b), " /sys/kernel/mm/hugepages ") {
		t.Errorf("a mount over /sys/kernel/mm/hugepages on the host (%v)", err)
	}
	pids := c.PIDs()
	if err := c.Close(); err != nil {
		t.Errorf("close cluster: %v", err)
	}
	for name, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("%s (pid %d) still runs after Close", name, pid)
		}
	}
	if left := kubeLeftovers(t, c.Dir, before); len(left) > 0 {
		t.Errorf("a closed cluster left:\n%s", strings.Join(left, "\n"))
	}
}

// crioBlockedExec is the whole of what kubectl exec -it prints when the
// wrapper refuses the exec CRI-O runs: the wrapper's line on the session's
// terminal, then kubectl's report of the exit status (CRI-O's streaming
// exec has no error channel for a runtime refusal, unlike containerd's).
// The terminal's line end can come after kubectl's own line.
var (
	crioBlockedExit = 1
	crioBlockedExec = regexp.MustCompile(`^execguard: interactive exec into container "app" of pod demo/web blocked by policy\n?` +
		`command terminated with exit code 1$`)
)

// checkCRIOKubeExec checks an exec event of the web pod's app container
// made through CRI-O's streaming exec.
func checkCRIOKubeExec(t *testing.T, d doc, interactive bool) {
	t.Helper()
	checkCommon(t, "exec event", d)
	checkPod(t, "exec event", d, "web", kubeNamespace, "app")
	check(t, "exec event", d, []expectation{
		{"process.interactive", interactive},
		{"orchestrator.type", "kubernetes"},
		{"orchestrator.resource.label.app", "web"},
		{"orchestrator.resource.label.tier", "frontend"},
		{"execguard.caller", "crio"},
		{"execguard.exec_kind", "stream"},
	})
}
