package kube

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The cluster runs no controller-manager. Two more of its jobs, done here
// for DaemonSets: the DaemonSet controller's (a pod from the template on
// the node) and the garbage collector's (the pods of a deleted DaemonSet).

// RunDaemonSet creates the pod the DaemonSet controller would create on the
// cluster's one node: the template, bound to the node, owned by the
// DaemonSet. It returns the pod's name; it does not wait for it.
func (c *Cluster) RunDaemonSet(namespace, name string) (string, error) {
	out, err := c.Kubectl("-n", namespace, "get", "daemonset", name, "-o", "json")
	if err != nil {
		return "", fmt.Errorf("run daemonset %s/%s: %w", namespace, name, err)
	}
	var ds appsv1.DaemonSet
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		return "", fmt.Errorf("run daemonset %s/%s: decode: %w", namespace, name, err)
	}
	tmpl := ds.Spec.Template
	pod := corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name + "-" + c.NodeName,
			Namespace:   namespace,
			Labels:      tmpl.Labels,
			Annotations: tmpl.Annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "DaemonSet", Name: ds.Name, UID: ds.UID,
				Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
		},
		Spec: tmpl.Spec,
	}
	pod.Spec.NodeName = c.NodeName
	manifest, err := json.Marshal(pod)
	if err != nil {
		return "", fmt.Errorf("run daemonset %s/%s: %w", namespace, name, err)
	}
	if _, err := c.KubectlStdin(strings.NewReader(string(manifest)), "create", "-f", "-"); err != nil {
		return "", fmt.Errorf("run daemonset %s/%s: %w", namespace, name, err)
	}
	return pod.Name, nil
}

// DeleteOwnedPods deletes the pods of namespace whose owner is the
// DaemonSet name (deleted or not) and waits until they are gone, as the
// garbage collector does after the DaemonSet is deleted.
func (c *Cluster) DeleteOwnedPods(namespace, name string, timeout time.Duration) error {
	out, err := c.Kubectl("-n", namespace, "get", "pods", "-o", "json")
	if err != nil {
		return fmt.Errorf("delete pods of daemonset %s/%s: %w", namespace, name, err)
	}
	var list corev1.PodList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return fmt.Errorf("delete pods of daemonset %s/%s: decode: %w", namespace, name, err)
	}
	var pods []string
	for _, p := range list.Items {
		for _, o := range p.OwnerReferences {
			if o.Kind == "DaemonSet" && o.Name == name {
				pods = append(pods, "pod/"+p.Name)
			}
		}
	}
	if len(pods) == 0 {
		return nil
	}
	args := append([]string{"-n", namespace, "delete", "--wait", "--timeout=" + timeout.String()}, pods...)
	if _, err := c.kubectlTimeout(timeout+10*time.Second, nil, args...); err != nil {
		return fmt.Errorf("delete pods of daemonset %s/%s: %w\nkubelet log tail:\n%s", namespace, name, err, c.LogTail("kubelet", 20))
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
