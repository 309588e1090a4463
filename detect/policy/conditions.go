package policy

// condKind is one selector condition. The order is the evaluation order
// inside a selector: cheap comparisons first, so a selector that does not
// match usually fails on its first check.
type condKind uint8

const (
	cOperation condKind = iota
	cInteractive
	cStdin
	cStdinShell
	cUserID
	cUserName
	cNamespace
	cPodName
	cContainerName
	cClusterID
	cClusterName
	cImageName
	cImageFullName
	cImageTag
	cProcessName
	cPodLabel
	cExecutable
	cArgs
	cWindow
	cDetectionRule
	cKubeUser
	cKubeGroup
)

type condDef struct {
	kind condKind
	glob flavor
}

// condition gives a selector key its meaning. The keys and their YAML shapes
// are listed in spec.Conditions; a test checks the two agree.
func condition(key string) (condDef, bool) {
	switch key {
	case "operation":
		return condDef{cOperation, trailing}, true
	case "processExecutable":
		return condDef{cExecutable, path}, true
	case "processName":
		return condDef{cProcessName, trailing}, true
	case "sessionLeaderInteractive":
		return condDef{cInteractive, trailing}, true
	case "stdin":
		return condDef{cStdin, trailing}, true
	case "stdinShell":
		return condDef{cStdinShell, trailing}, true
	case "containerImageName":
		return condDef{cImageName, trailing}, true
	case "containerImageFullName":
		return condDef{cImageFullName, trailing}, true
	case "containerImageTag":
		return condDef{cImageTag, trailing}, true
	case "kubernetesClusterId":
		return condDef{cClusterID, trailing}, true
	case "kubernetesClusterName":
		return condDef{cClusterName, trailing}, true
	case "kubernetesNamespace":
		return condDef{cNamespace, trailing}, true
	case "kubernetesPodName":
		return condDef{cPodName, trailing}, true
	case "kubernetesPodLabel":
		return condDef{cPodLabel, trailing}, true
	case "containerName":
		return condDef{cContainerName, trailing}, true
	case "processUserId":
		return condDef{cUserID, trailing}, true
	case "processUserName":
		return condDef{cUserName, trailing}, true
	case "processArgs":
		return condDef{cArgs, anyStar}, true
	case "maintenanceWindow":
		return condDef{cWindow, trailing}, true
	case "detectionRule":
		return condDef{cDetectionRule, trailing}, true
	case "kubernetesUser":
		return condDef{cKubeUser, trailing}, true
	case "kubernetesGroup":
		return condDef{cKubeGroup, trailing}, true
	}
	return condDef{}, false
}
