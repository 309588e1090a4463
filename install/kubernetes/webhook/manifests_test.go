package webhook

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	kubemanifests "github.com/execguard/execguard/install/kubernetes"
	"github.com/execguard/execguard/install/kubernetes/internal/manifesttest"
)

type objects struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	webhooks    []admissionregistrationv1.ValidatingWebhookConfiguration
	certManager []map[string]any
}

// decodeAll decodes every document strictly into the Kubernetes API's types;
// cert-manager's, whose types are not linked, into maps.
func decodeAll(t *testing.T) objects {
	t.Helper()
	var o objects
	var files []string
	for _, g := range []string{"*.yaml", "cert-manager/*.yaml"} {
		m, err := fs.Glob(Manifests, g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	docs, err := manifesttest.Documents(Manifests, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range docs {
		var err error
		switch doc.APIVersion + " " + doc.Kind {
		case "apps/v1 Deployment":
			err = manifesttest.Append(doc, &o.deployments)
		case "v1 Service":
			err = manifesttest.Append(doc, &o.services)
		case "admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration":
			err = manifesttest.Append(doc, &o.webhooks)
		case "cert-manager.io/v1 Issuer", "cert-manager.io/v1 Certificate":
			err = manifesttest.Append(doc, &o.certManager)
		default:
			t.Fatalf("%s: unexpected %s %s", doc.Where, doc.APIVersion, doc.Kind)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func TestManifests(t *testing.T) {
	o := decodeAll(t)
	if len(o.deployments) != 1 || len(o.services) != 1 || len(o.webhooks) != 1 || len(o.webhooks[0].Webhooks) != 1 {
		t.Fatalf("want one Deployment, Service and webhook configuration with one webhook: %d %d %d", len(o.deployments), len(o.services), len(o.webhooks))
	}
	d, svc, w := o.deployments[0], o.services[0], o.webhooks[0].Webhooks[0]

	// The API server reaches the Deployment's pods through the Service.
	if cs := w.ClientConfig.Service; cs == nil || cs.Name != svc.Name || cs.Namespace != svc.Namespace ||
		cs.Path == nil || *cs.Path != "/validate" || cs.Port == nil || *cs.Port != svc.Spec.Ports[0].Port {
		t.Errorf("clientConfig.service %+v does not name the Service %s/%s at /validate", w.ClientConfig.Service, svc.Namespace, svc.Name)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, which the Deployment's pods do not have", k, v)
		}
	}
	c := d.Spec.Template.Spec.Containers[0]
	if svc.Spec.Ports[0].TargetPort.StrVal != c.Ports[0].Name || !slices.Contains(c.Command, "--listen=:"+fmt.Sprint(c.Ports[0].ContainerPort)) {
		t.Errorf("the Service's target port %v is not the port the webhook listens on (%v, %v)", svc.Spec.Ports[0].TargetPort, c.Ports, c.Command)
	}

	// What it is sent: exec and attach (CONNECT), ephemeral containers (UPDATE).
	var got []string
	for _, r := range w.Rules {
		for _, op := range r.Operations {
			for _, res := range r.Resources {
				got = append(got, string(op)+" "+res)
			}
		}
	}
	slices.Sort(got)
	if want := []string{"CONNECT pods/attach", "CONNECT pods/exec", "UPDATE pods/ephemeralcontainers"}; !slices.Equal(got, want) {
		t.Errorf("rules %v, want %v", got, want)
	}
	if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Ignore {
		t.Errorf("failurePolicy %v, want Ignore by default", w.FailurePolicy)
	}
	if w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNone || !slices.Contains(w.AdmissionReviewVersions, "v1") {
		t.Errorf("sideEffects %v, admissionReviewVersions %v", w.SideEffects, w.AdmissionReviewVersions)
	}

	// The same policy ConfigMap the nodes install, and the TLS Secret
	// cert-manager writes.
	var policyCM, tlsSecret string
	for _, v := range d.Spec.Template.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			policyCM = v.ConfigMap.Name
		case v.Secret != nil:
			tlsSecret = v.Secret.SecretName
		}
	}
	nodePolicy := ""
	data, err := kubemanifests.Manifests.ReadFile("20-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	nodePolicy = cm.Name
	if policyCM != nodePolicy || cm.Namespace != d.Namespace {
		t.Errorf("the webhook reads the ConfigMap %q, the nodes %s/%s", policyCM, cm.Namespace, nodePolicy)
	}
	var certSecret, injected string
	for _, obj := range o.certManager {
		md, _ := obj["metadata"].(map[string]any)
		spec, _ := obj["spec"].(map[string]any)
		if obj["kind"] == "Certificate" && spec["isCA"] != true {
			certSecret, _ = spec["secretName"].(string)
			injected = fmt.Sprint(md["namespace"], "/", md["name"])
			for _, n := range []string{svc.Name + "." + svc.Namespace + ".svc"} {
				if !strings.Contains(fmt.Sprint(spec["dnsNames"]), n) {
					t.Errorf("the serving Certificate's dnsNames %v lack %s", spec["dnsNames"], n)
				}
			}
		}
	}
	if certSecret != tlsSecret || o.webhooks[0].Annotations["cert-manager.io/inject-ca-from"] != injected {
		t.Errorf("the Deployment mounts the Secret %q, cert-manager writes %q; the CA is injected from %q, the Certificate is %q",
			tlsSecret, certSecret, o.webhooks[0].Annotations["cert-manager.io/inject-ca-from"], injected)
	}

	// Not privileged, no API access.
	ps := d.Spec.Template.Spec
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot ||
		c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Errorf("the webhook's pod is not locked down: %+v %+v", ps.SecurityContext, c.SecurityContext)
	}
}
