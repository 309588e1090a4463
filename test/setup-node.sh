#!/usr/bin/env bash
# Prepares a Debian 12 machine for execguard's end-to-end tests and demo:
# Debian packages (runc, crun, podman, conmon, busybox-static, tmux, hyperfine,
# util-linux for script, strace, asciinema to play recorded sessions) and
# containerd, ctr, containerd-shim-runc-v2 and crictl built from the Go module
# proxy into /usr/local/bin. containerd 1.7
# (containerd, ctr, containerd-shim-runc-v2) is built into a directory of its
# own, CONTAINERD_1_7_BIN_DIR, so that it never shadows the 2.x binaries.
#
# Idempotent: anything already present at the right version is skipped, so a
# second run does no network access. Runs unattended (CI=true, no stdin).
set -euo pipefail

CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.2.9}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.34.0}"
BIN_DIR="${BIN_DIR:-/usr/local/bin}"
CONTAINERD_1_7_VERSION="${CONTAINERD_1_7_VERSION:-v1.7.35}"
CONTAINERD_1_7_BIN_DIR="${CONTAINERD_1_7_BIN_DIR:-/usr/local/lib/execguard-e2e/containerd-1.7/bin}"
APT_PACKAGES=(runc crun podman conmon busybox-static tmux hyperfine util-linux strace asciinema)

export PATH="/usr/local/go/bin:${PATH}"
export DEBIAN_FRONTEND=noninteractive

log() { printf 'setup-node: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

# --- Debian packages -------------------------------------------------------

missing_packages() {
	local pkg status
	for pkg in "${APT_PACKAGES[@]}"; do
		status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
		[ "$status" = "install ok installed" ] || printf '%s\n' "$pkg"
	done
}

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -eq 0 ]; then
	log "Debian packages already installed"
else
	log "installing Debian packages: ${missing[*]}"
	apt-get update </dev/null
	apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
fi

# --- Go tools --------------------------------------------------------------

command -v go >/dev/null || die "Go not found (expected in /usr/local/go/bin)"

# module_version BIN MODULE prints the version of MODULE that BIN was built
# from, or nothing when BIN is absent or was built from something else.
module_version() {
	local bin="$1" module="$2"
	[ -x "$bin" ] || return 0
	go version -m "$bin" 2>/dev/null | awk -v m="$module" '$1 == "mod" && $2 == m { print $3 }'
}

containerd_ok=true
for tool in containerd ctr containerd-shim-runc-v2; do
	if [ "$(module_version "$BIN_DIR/$tool" github.com/containerd/containerd/v2)" != "$CONTAINERD_VERSION" ]; then
		containerd_ok=false
	fi
done
if $containerd_ok; then
	log "containerd $CONTAINERD_VERSION already installed"
else
	log "building containerd $CONTAINERD_VERSION into $BIN_DIR"
	GOBIN="$BIN_DIR" go install -tags no_btrfs \
		"github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
		"github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION" \
		"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" </dev/null
fi

# containerd 1.7's go.mod has an exclude directive, which go install pkg@version
# refuses; a throwaway main module requiring it builds the same packages.
containerd17_ok=true
for tool in containerd ctr containerd-shim-runc-v2; do
	if [ "$(module_version "$CONTAINERD_1_7_BIN_DIR/$tool" github.com/containerd/containerd)" != "$CONTAINERD_1_7_VERSION" ]; then
		containerd17_ok=false
	fi
done
if $containerd17_ok; then
	log "containerd $CONTAINERD_1_7_VERSION already installed in $CONTAINERD_1_7_BIN_DIR"
else
	log "building containerd $CONTAINERD_1_7_VERSION into $CONTAINERD_1_7_BIN_DIR"
	build_dir="$(mktemp -d)"
	trap 'rm -rf "$build_dir"' EXIT
	mkdir -p "$CONTAINERD_1_7_BIN_DIR"
	(
		cd "$build_dir"
		go mod init execguard.invalid/containerd-1.7 </dev/null 2>/dev/null
		go get "github.com/containerd/containerd@$CONTAINERD_1_7_VERSION" </dev/null
		# As containerd's Makefile: the shim is static (no cgo), the daemon
		# and ctr use cgo; btrfs would need its C headers.
		go build -mod=mod -tags no_btrfs -o "$CONTAINERD_1_7_BIN_DIR/" \
			github.com/containerd/containerd/cmd/containerd \
			github.com/containerd/containerd/cmd/ctr </dev/null
		CGO_ENABLED=0 go build -mod=mod -tags no_btrfs -o "$CONTAINERD_1_7_BIN_DIR/" \
			github.com/containerd/containerd/cmd/containerd-shim-runc-v2 </dev/null
	)
	rm -rf "$build_dir"
	trap - EXIT
fi

if [ "$(module_version "$BIN_DIR/crictl" sigs.k8s.io/cri-tools)" = "$CRICTL_VERSION" ]; then
	log "crictl $CRICTL_VERSION already installed"
else
	log "building crictl $CRICTL_VERSION into $BIN_DIR"
	GOBIN="$BIN_DIR" go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" </dev/null
fi

# --- Check -----------------------------------------------------------------

for tool in containerd ctr containerd-shim-runc-v2 crictl; do
	[ -x "$BIN_DIR/$tool" ] || die "$BIN_DIR/$tool missing after install"
done
for tool in containerd ctr containerd-shim-runc-v2; do
	[ -x "$CONTAINERD_1_7_BIN_DIR/$tool" ] || die "$CONTAINERD_1_7_BIN_DIR/$tool missing after install"
done
for tool in /usr/sbin/runc /usr/bin/crun /bin/busybox /usr/bin/script; do
	[ -x "$tool" ] || die "$tool missing after install"
done
log "ready: $("$BIN_DIR/containerd" --version), $("$CONTAINERD_1_7_BIN_DIR/containerd" --version), $(/usr/sbin/runc --version | head -n1)"

# --- CRI-O (own directory) -------------------------------------------------
# crio, pinns and copyimg (loads OCI archives into CRI-O's storage) built from
# the cri-o module source the Go module proxy serves, into a directory of their
# own so nothing replaces a system CRI-O. Skipped when the stamp names this
# version. conmon and crictl come from above.

CRIO_VERSION="${CRIO_VERSION:-v1.36.3}"
CRIO_DIR="${CRIO_DIR:-/usr/local/lib/execguard-e2e/crio-${CRIO_VERSION#v}}"
CRIO_APT_PACKAGES=(libseccomp-dev libgpgme-dev pkg-config gcc make libc6-dev conmon)
CRIO_TAGS="containers_image_ostree_stub exclude_graphdriver_btrfs btrfs_noversion seccomp"

crio_built() {
	local tool
	[ "$(cat "$CRIO_DIR/VERSION" 2>/dev/null)" = "$CRIO_VERSION" ] || return 1
	for tool in crio pinns copyimg; do
		[ -x "$CRIO_DIR/bin/$tool" ] || return 1
	done
}

if crio_built; then
	log "CRI-O $CRIO_VERSION already built in $CRIO_DIR"
else
	crio_missing=()
	for pkg in "${CRIO_APT_PACKAGES[@]}"; do
		[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" = "install ok installed" ] ||
			crio_missing+=("$pkg")
	done
	if [ "${#crio_missing[@]}" -gt 0 ]; then
		log "installing Debian packages for CRI-O: ${crio_missing[*]}"
		apt-get update </dev/null
		apt-get install -y --no-install-recommends "${crio_missing[@]}" </dev/null
	fi

	log "building CRI-O $CRIO_VERSION into $CRIO_DIR"
	crio_mod="$(go mod download -json "github.com/cri-o/cri-o@$CRIO_VERSION" </dev/null |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
	[ -d "$crio_mod/cmd/crio" ] || die "cri-o $CRIO_VERSION: module source not found (got '$crio_mod')"
	crio_work="$(mktemp -d)"
	trap 'rm -rf "$crio_work"' EXIT
	# The module cache is read-only and -mod=mod may rewrite go.mod/go.sum.
	cp -r "$crio_mod" "$crio_work/src"
	chmod -R u+w "$crio_work/src"
	mkdir -p "$crio_work/bin"
	(
		cd "$crio_work/src"
		GOFLAGS=-buildvcs=false go build -mod=mod -tags "$CRIO_TAGS" -o "$crio_work/bin/crio" ./cmd/crio
		GOFLAGS=-buildvcs=false go build -mod=mod -tags "$CRIO_TAGS" -o "$crio_work/bin/copyimg" ./test/copyimg
		cc -static -O2 -o "$crio_work/bin/pinns" pinns/src/*.c
	) </dev/null
	mkdir -p "$CRIO_DIR"
	rm -rf "$CRIO_DIR/bin"
	mv "$crio_work/bin" "$CRIO_DIR/bin"
	printf '%s\n' "$CRIO_VERSION" >"$CRIO_DIR/VERSION"
	rm -rf "$crio_work"
	trap - EXIT
fi
crio_built || die "CRI-O $CRIO_VERSION missing in $CRIO_DIR after build"
log "ready: $("$CRIO_DIR/bin/crio" --version 2>/dev/null | head -n1) in $CRIO_DIR/bin"

# --- Kubernetes (kube-apiserver, kubelet, kube-scheduler, kubectl) and etcd --
#
# For test/kube's single-node cluster. Built from the Go module proxy into a
# directory of their own, KUBERNETES_BIN_DIR, so nothing on PATH changes and a
# kubelet or kubectl already on the machine is never shadowed. k8s.io/kubernetes
# requires its staging modules at v0.0.0 with replace lines to ./staging, which
# a module proxy download cannot follow: a scratch main module pins each of them
# at the matching v0.x release instead. etcd's root package is its main.
# A cold build takes about 20 minutes on two cores (nice 19).
KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.4}"
KUBERNETES_BIN_DIR="${KUBERNETES_BIN_DIR:-/usr/local/lib/execguard-e2e/kubernetes-${KUBERNETES_VERSION}/bin}"
KUBERNETES_TOOLS=(kube-apiserver kubelet kube-scheduler kubectl)

kubernetes_ok=true
for tool in "${KUBERNETES_TOOLS[@]}"; do
	if [ "$(module_version "$KUBERNETES_BIN_DIR/$tool" k8s.io/kubernetes)" != "$KUBERNETES_VERSION" ]; then
		kubernetes_ok=false
	fi
done
etcd_ok=true
if [ "$(module_version "$KUBERNETES_BIN_DIR/etcd" go.etcd.io/etcd/server/v3)" != "$ETCD_VERSION" ]; then
	etcd_ok=false
fi

if $kubernetes_ok && $etcd_ok; then
	log "Kubernetes $KUBERNETES_VERSION and etcd $ETCD_VERSION already installed in $KUBERNETES_BIN_DIR"
else
	kube_build_dir="$(mktemp -d)"
	trap 'rm -rf "$kube_build_dir"' EXIT
	mkdir -p "$KUBERNETES_BIN_DIR"
	if ! $kubernetes_ok; then
		log "building Kubernetes $KUBERNETES_VERSION into $KUBERNETES_BIN_DIR"
		staging_version="v0.${KUBERNETES_VERSION#v1.}"
		k8s_gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" </dev/null |
			sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
		[ -f "$k8s_gomod" ] || die "go.mod of k8s.io/kubernetes@$KUBERNETES_VERSION not found"
		mkdir -p "$kube_build_dir/kubernetes"
		{
			printf 'module execguard.invalid/kubernetes\n\ngo 1.24.0\n\ngodebug default=go1.24\n\n'
			printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES_VERSION"
			# Every staging module: a k8s.io/<name> v0.0.0 requirement.
			awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$k8s_gomod" | sort -u |
				while read -r module; do
					printf '\t%s => %s %s\n' "$module" "$module" "$staging_version"
				done
			printf ')\n'
		} >"$kube_build_dir/kubernetes/go.mod"
		version_flags=""
		for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			version_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION"
			version_flags+=" -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
			version_flags+=" -X $pkg.gitTreeState=clean"
		done
		(
			cd "$kube_build_dir/kubernetes"
			nice -n 19 go build -mod=mod -trimpath -ldflags "-s -w$version_flags" \
				-o "$KUBERNETES_BIN_DIR/" \
				k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubelet \
				k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl </dev/null
		)
	fi
	if ! $etcd_ok; then
		log "building etcd $ETCD_VERSION into $KUBERNETES_BIN_DIR"
		mkdir -p "$kube_build_dir/etcd"
		printf 'module execguard.invalid/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
			"$ETCD_VERSION" >"$kube_build_dir/etcd/go.mod"
		(
			cd "$kube_build_dir/etcd"
			nice -n 19 go build -mod=mod -trimpath -ldflags "-s -w" \
				-o "$KUBERNETES_BIN_DIR/etcd" go.etcd.io/etcd/server/v3 </dev/null
		)
	fi
	rm -rf "$kube_build_dir"
	trap - EXIT
fi
for tool in "${KUBERNETES_TOOLS[@]}" etcd; do
	[ -x "$KUBERNETES_BIN_DIR/$tool" ] || die "$KUBERNETES_BIN_DIR/$tool missing after install"
done
log "ready: Kubernetes $("$KUBERNETES_BIN_DIR/kubectl" version --client 2>/dev/null | head -n1), etcd $("$KUBERNETES_BIN_DIR/etcd" --version | head -n1)"
