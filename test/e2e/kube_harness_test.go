//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/execguard/execguard/test/kube"
)

// TestKubernetesHarnessFailures: when the cluster itself is the problem,
// the harness's error names the part that failed and shows its log: an
// image the node does not have, the admin kubeconfig gone, the apiserver
// down (last: the cluster does not come back from it).
func TestKubernetesHarnessFailures(t *testing.T) {
	requirePrerequisites(t)
	binDir := kubeBinDir(t)
	e := newEnv(t, "alert")
	c := startKube(t, kube.Options{Node: e.node, BinDir: binDir})
	if err := c.CreateNamespace(kubeNamespace); err != nil {
		t.Fatal(err)
	}

	t.Run("image-not-imported", func(t *testing.T) {
		const image = "localhost/execguard/not-imported:e2e"
		pod := strings.ReplaceAll(dsWebPod(c.NodeName), "name: web", "name: noimage")
		pod = strings.Replace(pod, "image: "+imageOf(pod), "image: "+image, 1)
		if err := c.Apply(pod); err != nil {
			t.Fatal(err)
		}
		err := c.WaitPodReady(kubeNamespace, "noimage", 10*time.Second)
		if err == nil {
			t.Fatal("a pod whose image is not on the node became ready")
		}
		t.Logf("the harness says:\n%s", firstLines(err.Error(), 4))
		for _, want := range []string{
			"container app: image " + image + " is not in the node's containerd (ErrImageNeverPull",
			"containerd log tail:", "kubelet log tail:",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})

	t.Run("missing-kubeconfig", func(t *testing.T) {
		moved := c.Kubeconfig + ".away"
		if err := os.Rename(c.Kubeconfig, moved); err != nil {
			t.Fatal(err)
		}
		_, err := c.Kubectl("get", "nodes")
		if rerr := os.Rename(moved, c.Kubeconfig); rerr != nil {
			t.Fatal(rerr)
		}
		t.Logf("the harness says: %v", err)
		if err == nil || !strings.Contains(err.Error(), "admin kubeconfig "+c.Kubeconfig+" missing") {
			t.Errorf("kubectl without its kubeconfig: %v", err)
		}
		if _, err := c.Kubectl("get", "nodes"); err != nil {
			t.Errorf("kubectl with the kubeconfig back: %v", err)
		}
	})

	t.Run("apiserver-down", func(t *testing.T) {
		if err := c.KillComponent("kube-apiserver"); err != nil {
			t.Fatal(err)
		}
		_, err := c.Kubectl("get", "nodes")
		if err == nil {
			t.Fatal("kubectl succeeded with the apiserver stopped")
		}
		t.Logf("the harness says:\n%s", firstLines(err.Error(), 3))
		for _, want := range []string{"kube-apiserver exited", "kube-apiserver log tail"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})
}

// imageOf is the first image a manifest names.
func imageOf(manifest string) string {
	for _, l := range strings.Split(manifest, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "image: "); ok {
			return v
		}
	}
	return ""
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
