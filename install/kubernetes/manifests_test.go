package kubernetes

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/execguard/execguard/detect/policy/policyfile"
	"github.com/execguard/execguard/install"
	"github.com/execguard/execguard/install/kubernetes/internal/manifesttest"
)

// objects decodes every document of every manifest strictly: a field the
// Kubernetes API does not know fails the test.
type objects struct {
	namespaces      []corev1.Namespace
	serviceAccounts []corev1.ServiceAccount
	configMaps      []corev1.ConfigMap
	daemonSets      []appsv1.DaemonSet
}

func decodeAll(t *testing.T) objects {
	t.Helper()
	var o objects
	files, err := fs.Glob(Manifests, "*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	docs, err := manifesttest.Documents(Manifests, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range docs {
		var err error
		switch doc.APIVersion + " " + doc.Kind {
		case "v1 Namespace":
			err = manifesttest.Append(doc, &o.namespaces)
		case "v1 ServiceAccount":
			err = manifesttest.Append(doc, &o.serviceAccounts)
		case "v1 ConfigMap":
			err = manifesttest.Append(doc, &o.configMaps)
		case "apps/v1 DaemonSet":
			err = manifesttest.Append(doc, &o.daemonSets)
		default:
			t.Fatalf("%s: unexpected %s %s", doc.Where, doc.APIVersion, doc.Kind)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func TestManifestsDecodeStrictly(t *testing.T) {
	o := decodeAll(t)
	if len(o.namespaces) != 1 || len(o.serviceAccounts) != 1 || len(o.configMaps) != 1 || len(o.daemonSets) != 1 {
		t.Fatalf("want one namespace, service account, config map and daemon set; got %d %d %d %d",
			len(o.namespaces), len(o.serviceAccounts), len(o.configMaps), len(o.daemonSets))
	}
	ns := o.namespaces[0].Name
	for _, m := range []string{o.serviceAccounts[0].Namespace, o.configMaps[0].Namespace, o.daemonSets[0].Namespace} {
		if m != ns {
			t.Errorf("object in namespace %q, want %q", m, ns)
		}
	}
	if sa := o.serviceAccounts[0]; sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("service account mounts a token")
	}
}

// TestStrictDecodingRejectsUnknownFields makes sure the decoding above
// would catch a misspelt field.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	fsys := fstest.MapFS{"cm.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndatta: {}\n")}}
	docs, err := manifesttest.Documents(fsys, []string{"cm.yaml"})
	if err != nil || len(docs) != 1 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	var cm corev1.ConfigMap
	if err := docs[0].Decode(&cm); err == nil {
		t.Fatal("unknown field accepted")
	}
}

func TestDaemonSet(t *testing.T) {
	o := decodeAll(t)
	ds := o.daemonSets[0]
	spec := ds.Spec.Template.Spec
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the template's labels", k, v)
		}
	}
	if spec.ServiceAccountName != o.serviceAccounts[0].Name {
		t.Errorf("service account %q", spec.ServiceAccountName)
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Error("host namespaces shared")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("pod mounts a service account token")
	}
	if !slices.ContainsFunc(spec.Tolerations, func(t corev1.Toleration) bool { return t.Operator == corev1.TolerationOpExists && t.Key == "" }) {
		t.Error("does not tolerate every taint: some nodes would be left out")
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	used := map[string]bool{}
	containers := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	if len(spec.InitContainers) != 1 || len(spec.Containers) != 1 {
		t.Fatalf("want one init container and one container")
	}
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil || (sc.Privileged != nil && *sc.Privileged) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil ||
			!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: security context %+v: want unprivileged, no escalation, read-only root, every capability dropped", c.Name, sc)
		}
		if c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: no memory limit", c.Name)
		}
		for _, m := range c.VolumeMounts {
			v, ok := volumes[m.Name]
			if !ok {
				t.Errorf("%s: mount of unknown volume %s", c.Name, m.Name)
				continue
			}
			used[m.Name] = true
			if v.HostPath == nil {
				continue
			}
			// The init container sees the host under /host (install --root);
			// the plugin at the host's own paths, which execguard's
			// configuration names.
			want := v.HostPath.Path
			if c.Name == spec.InitContainers[0].Name {
				want = "/host" + want
			}
			if m.MountPath != want {
				t.Errorf("%s: %s mounted at %s, want %s", c.Name, v.HostPath.Path, m.MountPath, want)
			}
		}
	}
	for name := range volumes {
		if !used[name] {
			t.Errorf("volume %s is not used", name)
		}
	}
	var hostPaths []string
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths = append(hostPaths, v.HostPath.Path)
		}
	}
	sort.Strings(hostPaths)
	// Exactly these: adding one must be deliberate. Never / or /etc whole.
	want := []string{"/etc/containerd", "/etc/crio", "/etc/execguard", "/run/execguard", "/usr", "/usr/local/bin",
		"/usr/local/libexec", "/var/lib/execguard", "/var/log/execguard", "/var/run/nri"}
	if !slices.Equal(hostPaths, want) {
		t.Errorf("host paths %v, want %v", hostPaths, want)
	}
	// Written only where execguard writes.
	writable := map[string]bool{}
	for _, c := range containers {
		for _, m := range c.VolumeMounts {
			if !m.ReadOnly {
				writable[c.Name+" "+m.MountPath] = true
			}
		}
	}
	for k := range writable {
		if strings.HasSuffix(k, " /host/usr") || strings.Contains(k, "execguard-policy") || k == "nri-plugin /etc/execguard" {
			t.Errorf("%s is writable", k)
		}
	}

	// The init container's command is an install onto /host with a valid
	// NRI mode and the policy from the ConfigMap's mount.
	initC := spec.InitContainers[0]
	args := strings.Join(initC.Command, " ")
	if !strings.HasPrefix(args, "/usr/local/bin/execguard install --root=/host") {
		t.Errorf("init command %q", args)
	}
	for _, a := range initC.Command {
		if mode, ok := strings.CutPrefix(a, "--nri="); ok && mode != string(install.NRIExternal) {
			t.Errorf("--nri=%s: the plugin runs in the main container, want external", mode)
		}
		// One manifest for every node: --front=shim would refuse CRI-O nodes,
		// --front=wrapper would keep containerd nodes off the shim.
		if front, ok := strings.CutPrefix(a, "--front="); ok && front != string(install.FrontAuto) {
			t.Errorf("--front=%s: want %s, the shim on containerd nodes and the wrapper on CRI-O nodes", front, install.FrontAuto)
		}
		if p, ok := strings.CutPrefix(a, "--policy="); ok {
			mounted := slices.ContainsFunc(initC.VolumeMounts, func(m corev1.VolumeMount) bool {
				return m.Name == "policy" && filepath.Dir(p) == m.MountPath
			})
			if !mounted || filepath.Base(p) != "policy.yaml" {
				t.Errorf("--policy=%s is not the ConfigMap's policy.yaml", p)
			}
		}
	}
	// The init container makes the state and event-log directories private
	// (the kubelet creates missing hostPath directories 0755): it needs
	// them mounted, writable.
	for _, want := range []string{"/host/run/execguard", "/host/var/log/execguard"} {
		if !slices.ContainsFunc(initC.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == want && !m.ReadOnly }) {
			t.Errorf("the init container does not mount %s writable", want)
		}
	}
	plug := strings.Join(spec.Containers[0].Command, " ")
	if plug != "/usr/local/bin/execguard nri run --socket=/var/run/nri/nri.sock" {
		t.Errorf("plugin command %q", plug)
	}
}

// TestPolicyConfigMap checks that the shipped policy is valid and is the
// documented default, so the two never drift apart.
func TestPolicyConfigMap(t *testing.T) {
	cm := decodeAll(t).configMaps[0]
	text, ok := cm.Data["policy.yaml"]
	if !ok {
		t.Fatal("no policy.yaml key")
	}
	if _, err := policyfile.Parse("policy.yaml", []byte(text)); err != nil {
		t.Fatalf("the ConfigMap's policy is invalid: %v", err)
	}
	def, err := os.ReadFile("../../detect/policy/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if text != string(def) {
		t.Error("the ConfigMap's policy differs from detect/policy/default.yaml")
	}
}
