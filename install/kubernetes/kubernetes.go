// Package kubernetes holds the manifests that roll execguard out to every
// node of a cluster; install/README.md describes them. Apply them in name
// order: kubectl apply -f install/kubernetes/
package kubernetes

import "embed"

// Manifests are the YAML files of this directory.
//
//go:embed *.yaml
var Manifests embed.FS
