package policy

import "sort"

// condKind is one selector condition. The order is the evaluation order
// inside a selector: cheap comparisons first, so a selector that does not
// match usually fails on its first check.
type condKind uint8

const (
	cOperation condKind = iota
	cInteractive
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
)

// valueType is the YAML shape a condition takes.
type valueType uint8

const (
	listOfStrings valueType = iota
	boolean
	windows // a mapping, or a list of mappings
)

type condDef struct {
	key  string
	kind condKind
	typ  valueType
	glob flavor
}

// condition looks a selector key up. Keys are case-sensitive, as in D4C.
func condition(key string) (condDef, bool) {
	switch key {
	case "operation":
		return condDef{key, cOperation, listOfStrings, trailing}, true
	case "processExecutable":
		return condDef{key, cExecutable, listOfStrings, path}, true
	case "processName":
		return condDef{key, cProcessName, listOfStrings, trailing}, true
	case "sessionLeaderInteractive":
		return condDef{key, cInteractive, boolean, trailing}, true
	case "containerImageName":
		return condDef{key, cImageName, listOfStrings, trailing}, true
	case "containerImageFullName":
		return condDef{key, cImageFullName, listOfStrings, trailing}, true
	case "containerImageTag":
		return condDef{key, cImageTag, listOfStrings, trailing}, true
	case "kubernetesClusterId":
		return condDef{key, cClusterID, listOfStrings, trailing}, true
	case "kubernetesClusterName":
		return condDef{key, cClusterName, listOfStrings, trailing}, true
	case "kubernetesNamespace":
		return condDef{key, cNamespace, listOfStrings, trailing}, true
	case "kubernetesPodName":
		return condDef{key, cPodName, listOfStrings, trailing}, true
	case "kubernetesPodLabel":
		return condDef{key, cPodLabel, listOfStrings, trailing}, true
	case "containerName":
		return condDef{key, cContainerName, listOfStrings, trailing}, true
	case "processUserId":
		return condDef{key, cUserID, listOfStrings, trailing}, true
	case "processUserName":
		return condDef{key, cUserName, listOfStrings, trailing}, true
	case "processArgs":
		return condDef{key, cArgs, listOfStrings, anyStar}, true
	case "maintenanceWindow":
		return condDef{key, cWindow, windows, trailing}, true
	}
	return condDef{}, false
}

// conditionKeys lists every selector key, for suggestions.
func conditionKeys() []string {
	keys := []string{
		"operation", "processExecutable", "processName", "sessionLeaderInteractive",
		"containerImageName", "containerImageFullName", "containerImageTag",
		"kubernetesClusterId", "kubernetesClusterName", "kubernetesNamespace",
		"kubernetesPodName", "kubernetesPodLabel",
		"containerName", "processUserId", "processUserName", "processArgs", "maintenanceWindow",
	}
	sort.Strings(keys)
	return keys
}

// unsupportedD4C names D4C selector keys execguard does not take, with why.
func unsupportedD4C(key string) (string, bool) {
	switch key {
	case "targetFilePath", "ignoreVolumeMounts", "ignoreVolumeFiles":
		return "a file selector condition; put file selectors under file:, which execguard ignores", true
	case "sessionLeaderName":
		return "for an exec or a container start the session leader is the process itself: use processName", true
	case "kubernetesPodId":
		return "not supported: select pods by kubernetesPodName or kubernetesPodLabel", true
	}
	return "", false
}

// suggest returns the closest known word to s, or "" when none is close.
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(lower(s), lower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
