package detect

import "strings"

// Annotation keys the engines put in a container's config.json.
const (
	// containerd CRI
	annCRIContainerType = "io.kubernetes.cri.container-type"
	annCRIContainerName = "io.kubernetes.cri.container-name"
	annCRIImageName     = "io.kubernetes.cri.image-name"
	annCRIPodImageName  = "io.kubernetes.cri.podsandbox.image-name"
	annCRISandboxID     = "io.kubernetes.cri.sandbox-id"
	annCRISandboxName   = "io.kubernetes.cri.sandbox-name"
	annCRISandboxNS     = "io.kubernetes.cri.sandbox-namespace"
	annCRISandboxUID    = "io.kubernetes.cri.sandbox-uid"

	// CRI-O (the kubelet's labels, copied) and Podman
	annPodName          = "io.kubernetes.pod.name"
	annPodNamespace     = "io.kubernetes.pod.namespace"
	annPodUID           = "io.kubernetes.pod.uid"
	annContainerName    = "io.kubernetes.container.name"
	annCRIOType         = "io.kubernetes.cri-o.ContainerType"
	annCRIOImageName    = "io.kubernetes.cri-o.ImageName"
	annCRIOSandboxID    = "io.kubernetes.cri-o.SandboxID"
	annContainerManager = "io.container.manager"
)

// ApplyAnnotations fills what the bundle's annotations tell about a
// container into c, leaving fields the annotations lack as they were.
func ApplyAnnotations(c *Container, ann map[string]string) {
	set := func(dst *string, keys ...string) {
		for _, k := range keys {
			if v := ann[k]; v != "" {
				*dst = v
				return
			}
		}
	}
	set(&c.Name, annCRIContainerName, annContainerName)
	set(&c.Type, annCRIContainerType, annCRIOType)
	set(&c.Image, annCRIImageName, annCRIOImageName, annCRIPodImageName)
	set(&c.SandboxID, annCRISandboxID, annCRIOSandboxID)
	set(&c.PodName, annCRISandboxName, annPodName)
	set(&c.PodNamespace, annCRISandboxNS, annPodNamespace)
	set(&c.PodUID, annCRISandboxUID, annPodUID)
	set(&c.Manager, annContainerManager)
	if c.Manager == "" {
		for k := range ann {
			if strings.HasPrefix(k, "io.kubernetes.cri.") {
				c.Manager = "containerd"
				break
			}
		}
	}
	if c.Name == "" && c.Type == "sandbox" {
		c.Name = c.PodName
	}
}
