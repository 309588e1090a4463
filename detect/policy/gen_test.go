package policy

import (
	"fmt"
	"math/rand"
	"strings"
)

// genPolicy writes a policy of nSel selectors and nResp responses that uses
// every kind of condition, deterministically from seed.
func genPolicy(nSel, nResp int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	var b strings.Builder
	b.WriteString("# generated\nprocess:\n  selectors:\n")
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	for i := 0; i < nSel; i++ {
		fmt.Fprintf(&b, "    - name: sel-%03d\n", i)
		conds := 1 + rng.Intn(4)
		used := map[int]bool{}
		for c := 0; c < conds; c++ {
			k := rng.Intn(14)
			if used[k] {
				continue
			}
			used[k] = true
			switch k {
			case 0:
				fmt.Fprintf(&b, "      operation: [%s]\n", pick("exec", "exec, containerStart", "fork, exec", "containerStart"))
			case 1:
				fmt.Fprintf(&b, "      sessionLeaderInteractive: %v\n", rng.Intn(3) != 0)
			case 2:
				fmt.Fprintf(&b, "      kubernetesNamespace: [ns-%d, team-%d-*, %s]\n", rng.Intn(50), rng.Intn(50), pick("default", "kube-system", "prod-*"))
			case 3:
				fmt.Fprintf(&b, "      kubernetesPodName: [web-%d-*, api-%d]\n", rng.Intn(100), rng.Intn(100))
			case 4:
				fmt.Fprintf(&b, "      kubernetesPodLabel: [\"app:svc-%d\", \"tier:%s\", \"example.com/team:t%d-*\"]\n", rng.Intn(100), pick("front*", "back", "db"), rng.Intn(20))
			case 5:
				fmt.Fprintf(&b, "      processName: [%s, %s]\n", pick("sh", "bash", "nc", "curl"), pick("python3", "perl", "kube-controller"))
			case 6:
				fmt.Fprintf(&b, "      processExecutable: [%s, /opt/app%d/**/bin/*.sh]\n", pick("/bin/*", "/usr/local/**", "/usr/bin/cat", "/tmp/**/x*"), rng.Intn(30))
			case 7:
				fmt.Fprintf(&b, "      containerImageName: [%s]\n", pick("nginx", "busybox", "redis-*", "postgres"))
			case 8:
				fmt.Fprintf(&b, "      containerImageFullName: [%s]\n", pick("docker.io/nginx", "ghcr.io/acme/*", "registry.example.com:5000/team/app"))
			case 9:
				fmt.Fprintf(&b, "      containerImageTag: [%s]\n", pick("latest", "1.*", "staging"))
			case 10:
				fmt.Fprintf(&b, "      processArgs: [\"%s\", \"/healthz.sh **\"]\n", pick("cat /var/log/*", "sh -c *", "** --debug **"))
			case 11:
				fmt.Fprintf(&b, "      processUserId: [%d, %d]\n", rng.Intn(2000), rng.Intn(2000))
			case 12:
				fmt.Fprintf(&b, "      containerName: [c-%d, sidecar-*]\n", rng.Intn(100))
			case 13:
				fmt.Fprintf(&b, "      maintenanceWindow: {days: [%s], hours: \"%02d:00-%02d:30\"}\n", pick("sat, sun", "mon", "fri"), rng.Intn(24), rng.Intn(24))
			}
		}
		if len(used) == 0 {
			b.WriteString("      operation: [exec]\n")
		}
	}
	b.WriteString("  responses:\n")
	for i := 0; i < nResp; i++ {
		var match, exclude []string
		for j := 0; j < 2+rng.Intn(4); j++ {
			match = append(match, fmt.Sprintf("sel-%03d", rng.Intn(nSel)))
		}
		for j := 0; j < rng.Intn(4); j++ {
			exclude = append(exclude, fmt.Sprintf("sel-%03d", rng.Intn(nSel)))
		}
		fmt.Fprintf(&b, "    - match: [%s]\n", strings.Join(match, ", "))
		if len(exclude) > 0 {
			fmt.Fprintf(&b, "      exclude: [%s]\n", strings.Join(exclude, ", "))
		}
		fmt.Fprintf(&b, "      actions: [%s]\n", pick("log", "alert", "alert, block", "log, alert"))
	}
	return []byte(b.String())
}
