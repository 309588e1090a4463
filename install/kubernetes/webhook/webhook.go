// Package webhook holds the manifests of execguard's admission webhook:
// its Deployment, Service and ValidatingWebhookConfiguration, and in
// cert-manager/ the certificates for clusters with cert-manager.
// docs/webhook.md describes them. Apply after ../ (the namespace, the
// service account and the policy ConfigMap):
//
//	kubectl apply -f install/kubernetes/webhook/cert-manager/   # or: execguard webhook certs
//	kubectl apply -f install/kubernetes/webhook/
package webhook

import "embed"

// Manifests are the YAML files of this directory and of cert-manager/.
//
//go:embed *.yaml cert-manager/*.yaml
var Manifests embed.FS
