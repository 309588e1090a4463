package webhook

import (
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/execguard/execguard/detect"
	"github.com/execguard/execguard/detect/policy"
)

// call is one process start an admission request asks for: an exec, an
// attach to a container's process, or an ephemeral container's start.
type call struct {
	// action is event.action: exec, attach or container-start.
	action string
	req    policy.Request
	// argsKnown is false when the request does not name the command (an
	// attach, a container that runs its image's entrypoint).
	argsKnown bool
}

// calls reads the process starts an admission request asks for. ours is
// false for a request execguard does not decide (another resource, a pod
// update that adds no ephemeral container): it is allowed untouched.
func calls(r *admissionv1.AdmissionRequest, cluster detect.Cluster) (out []call, ours bool, err error) {
	id := policy.Identity{User: r.UserInfo.Username, Groups: r.UserInfo.Groups}
	if r.Resource.Group != "" || r.Resource.Resource != "pods" {
		return nil, false, nil
	}
	pod := detect.Container{PodName: r.Name, PodNamespace: r.Namespace, Manager: "kubernetes"}
	switch {
	case r.SubResource == "exec" && r.Operation == admissionv1.Connect:
		var o corev1.PodExecOptions
		if err := decode(r.Object.Raw, &o); err != nil {
			return nil, true, fmt.Errorf("pods/exec of %s/%s: %w", r.Namespace, r.Name, err)
		}
		c := pod
		c.Name = o.Container
		f := detect.Facts{
			Operation: detect.OpExec,
			Process:   detect.Process{Args: o.Command, Terminal: o.TTY, Known: true},
			Stdin:     stdinOf(o.TTY, o.Stdin), StdinSource: "api",
			Container: c, ExecKind: detect.ExecStream, Cluster: cluster,
		}
		return []call{{action: "exec", req: policy.Request{Facts: f, Identity: id}, argsKnown: true}}, true, nil
	case r.SubResource == "attach" && r.Operation == admissionv1.Connect:
		var o corev1.PodAttachOptions
		if err := decode(r.Object.Raw, &o); err != nil {
			return nil, true, fmt.Errorf("pods/attach of %s/%s: %w", r.Namespace, r.Name, err)
		}
		c := pod
		c.Name = o.Container
		// An attach joins the container's own process, whose command the
		// request does not carry: conditions on it do not hold.
		f := detect.Facts{
			Operation: detect.OpContainerStart,
			Process:   detect.Process{Terminal: o.TTY, Known: true},
			Stdin:     stdinOf(o.TTY, o.Stdin), StdinSource: "api",
			Container: c, Cluster: cluster,
		}
		return []call{{action: "attach", req: policy.Request{Facts: f, Identity: id}}}, true, nil
	case r.SubResource == "ephemeralcontainers" && (r.Operation == admissionv1.Update || r.Operation == admissionv1.Create):
		var now, old corev1.Pod
		if err := decode(r.Object.Raw, &now); err != nil {
			return nil, true, fmt.Errorf("pods/ephemeralcontainers of %s/%s: %w", r.Namespace, r.Name, err)
		}
		if len(r.OldObject.Raw) > 0 {
			if err := decode(r.OldObject.Raw, &old); err != nil {
				return nil, true, fmt.Errorf("pods/ephemeralcontainers of %s/%s: old object: %w", r.Namespace, r.Name, err)
			}
		}
		had := map[string]bool{}
		for _, ec := range old.Spec.EphemeralContainers {
			had[ec.Name] = true
		}
		for _, ec := range now.Spec.EphemeralContainers {
			if had[ec.Name] {
				continue
			}
			c := pod
			c.Name, c.Image, c.PodLabels = ec.Name, ec.Image, now.Labels
			if c.PodName == "" {
				c.PodName = now.Name
			}
			p := detect.Process{Terminal: ec.TTY, Known: true, Cwd: ec.WorkingDir}
			argsKnown := len(ec.Command) > 0
			if argsKnown {
				p.Args = append(append([]string(nil), ec.Command...), ec.Args...)
			}
			uidKnown := false
			if sc := ec.SecurityContext; sc != nil && sc.RunAsUser != nil && *sc.RunAsUser >= 0 {
				p.UID, uidKnown = uint32(*sc.RunAsUser), true
			} else if psc := now.Spec.SecurityContext; psc != nil && psc.RunAsUser != nil && *psc.RunAsUser >= 0 {
				p.UID, uidKnown = uint32(*psc.RunAsUser), true
			}
			f := detect.Facts{
				Operation: detect.OpContainerStart, Process: p,
				Stdin: stdinOf(ec.TTY, ec.Stdin), StdinSource: "api",
				Container: c, Cluster: cluster,
			}
			out = append(out, call{action: "container-start", req: policy.Request{Facts: f, Identity: id, UIDKnown: uidKnown}, argsKnown: argsKnown})
		}
		return out, len(out) > 0, nil
	}
	return nil, false, nil
}

func stdinOf(tty, stdin bool) detect.Stdin {
	switch {
	case tty:
		return detect.StdinTerminal
	case stdin:
		return detect.StdinAttached
	}
	return detect.StdinNone
}

func decode(raw []byte, v any) error {
	if len(raw) == 0 {
		return fmt.Errorf("no object in the request")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("object: %w", err)
	}
	return nil
}
