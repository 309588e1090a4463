package plugin

import (
	"sort"
	"strings"

	"github.com/containerd/nri/pkg/api"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/state"
)

// Bounds on what one record carries, so that a pod with a huge label set
// still gives a record the wrapper reads in microseconds (and far below the
// 1 MiB it accepts). Kubernetes keys are at most 317 bytes and values 63;
// the bounds leave room for runtimes that check less.
const (
	maxLabels      = 256
	maxLabelBytes  = 64 << 10
	maxKeyBytes    = 512
	maxValueBytes  = 4096
	maxStringBytes = 4096
	maxArgs        = 32
	maxArgsBytes   = 4096
)

// podInfo is what the plugin keeps of a pod sandbox. Its labels map is
// shared by the records of the pod's containers and never changed after it
// is built.
type podInfo struct {
	ID             string
	Name           string
	Namespace      string
	UID            string
	Labels         map[string]string
	RuntimeHandler string
	// dropped counts the labels left out by the bounds.
	dropped int
}

func newPodInfo(p *api.PodSandbox) *podInfo {
	if p == nil {
		return nil
	}
	labels, dropped := capLabels(p.GetLabels())
	return &podInfo{
		ID:             p.GetId(),
		Name:           capString(p.GetName()),
		Namespace:      capString(p.GetNamespace()),
		UID:            capString(p.GetUid()),
		Labels:         labels,
		RuntimeHandler: capString(p.GetRuntimeHandler()),
		dropped:        dropped,
	}
}

// same reports whether two pod infos carry the same metadata.
func (p *podInfo) same(o *podInfo) bool {
	if p == nil || o == nil {
		return p == o
	}
	if p.ID != o.ID || p.Name != o.Name || p.Namespace != o.Namespace || p.UID != o.UID ||
		p.RuntimeHandler != o.RuntimeHandler || len(p.Labels) != len(o.Labels) {
		return false
	}
	for k, v := range p.Labels {
		if w, ok := o.Labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// buildRecord is the record the wrapper reads for container c of pod p (p
// may be nil: a runtime may send a container without its pod). What the
// pod does not say comes from the container's annotations, as the wrapper
// itself would read them from the bundle.
func buildRecord(p *podInfo, c *api.Container) state.Container {
	var ann detect.Container
	detect.ApplyAnnotations(&ann, c.GetAnnotations())
	r := state.Container{
		ID:        c.GetId(),
		Name:      firstOf(c.GetName(), ann.Name),
		SandboxID: firstOf(c.GetPodSandboxId(), ann.SandboxID),
	}
	if p != nil {
		r.PodName = p.Name
		r.PodNamespace = p.Namespace
		r.PodUID = p.UID
		r.PodLabels = p.Labels
		r.RuntimeHandler = p.RuntimeHandler
		if r.SandboxID == "" {
			r.SandboxID = p.ID
		}
	}
	r.PodName = firstOf(r.PodName, ann.PodName)
	r.PodNamespace = firstOf(r.PodNamespace, ann.PodNamespace)
	r.PodUID = firstOf(r.PodUID, ann.PodUID)
	// NRI 0.12 runtimes name the image and its digest; older ones (containerd
	// 2.2 embeds NRI 0.11) leave only the reference in the annotations.
	img := c.GetImage()
	r.Image = firstOf(img.GetName(), ann.Image)
	r.ImageDigest = img.GetDigest()
	if r.ImageDigest == "" {
		if i := strings.LastIndexByte(r.Image, '@'); i >= 0 {
			r.ImageDigest = r.Image[i+1:]
		}
	}
	r.Name = capString(r.Name)
	r.SandboxID = capString(r.SandboxID)
	r.PodName = capString(r.PodName)
	r.PodNamespace = capString(r.PodNamespace)
	r.PodUID = capString(r.PodUID)
	r.Image = capString(r.Image)
	r.ImageDigest = capString(r.ImageDigest)
	return r
}

// sameRecord reports whether two records would be written alike.
func sameRecord(a, b state.Container) bool {
	if a.ID != b.ID || a.Name != b.Name || a.SandboxID != b.SandboxID || a.PodName != b.PodName ||
		a.PodNamespace != b.PodNamespace || a.PodUID != b.PodUID || a.Image != b.Image ||
		a.ImageDigest != b.ImageDigest || a.RuntimeHandler != b.RuntimeHandler || len(a.PodLabels) != len(b.PodLabels) {
		return false
	}
	for k, v := range a.PodLabels {
		if w, ok := b.PodLabels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// runtimeLabelPrefix marks the labels containerd adds to a pod's own
// (io.cri-containerd.kind=sandbox): its bookkeeping, not the pod's labels.
const runtimeLabelPrefix = "io.cri-containerd."

// capLabels copies labels within the bounds, without the runtime's own, in key order so that the same
// input always keeps the same labels; it returns how many it left out.
func capLabels(in map[string]string) (map[string]string, int) {
	if len(in) == 0 {
		return nil, 0
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, min(len(in), maxLabels))
	total, dropped := 0, 0
	for _, k := range keys {
		if strings.HasPrefix(k, runtimeLabelPrefix) {
			continue
		}
		v := in[k]
		size := len(k) + len(v)
		if k == "" || len(k) > maxKeyBytes || len(v) > maxValueBytes || len(out) == maxLabels || total+size > maxLabelBytes {
			dropped++
			continue
		}
		out[k] = v
		total += size
	}
	return out, dropped
}

// processArgs bounds the init's argument list kept for its end event.
func processArgs(args []string) []string {
	n, total := 0, 0
	for n < len(args) && n < maxArgs && total+len(args[n]) <= maxArgsBytes {
		total += len(args[n])
		n++
	}
	if n == 0 {
		return nil
	}
	return append([]string(nil), args[:n]...)
}

// ttyHint reports whether the container's environment carries the TERM=xterm
// that containerd and CRI-O add for a container created with tty: true. NRI
// does not pass the process spec's terminal flag (containerd/nri#44), so this
// is a fallback only: an image may set TERM itself.
func ttyHint(env []string) bool {
	for _, kv := range env {
		if kv == "TERM=xterm" {
			return true
		}
	}
	return false
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func capString(s string) string {
	if len(s) > maxStringBytes {
		return s[:maxStringBytes]
	}
	return s
}
