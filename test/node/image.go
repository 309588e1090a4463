package node

import (
	"archive/tar"
	"bytes"
	_ "crypto/sha256" // registers sha256 for go-digest
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image describes a single-layer image made of a static busybox.
type Image struct {
	// Name is the full reference the image is imported as (containerd reads
	// the io.containerd.image.name annotation of the index entry).
	Name string
	// Entrypoint and Cmd go into the image config.
	Entrypoint []string
	Cmd        []string
}

// busyboxApplets are the commands linked to /bin/busybox in every image.
func busyboxApplets() []string {
	return []string{
		"[", "cat", "date", "echo", "env", "false", "grep", "head", "hostname", "id", "kill",
		"ls", "mkdir", "printf", "ps", "pwd", "rm", "sh", "sleep", "stty", "tail", "tar", "test",
		"touch", "true", "tty", "uname", "wc",
	}
}

// epoch is the fixed timestamp that keeps archives byte-for-byte reproducible.
func epoch() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }

// WriteOCIArchive writes an OCI image layout as a tar stream holding one
// manifest per image, all sharing one busybox layer read from busyboxPath.
func WriteOCIArchive(w io.Writer, busyboxPath string, images ...Image) error {
	if len(images) == 0 {
		return fmt.Errorf("write OCI archive: no images")
	}
	layer, err := busyboxLayer(busyboxPath)
	if err != nil {
		return err
	}
	blobs := map[digest.Digest][]byte{}
	add := func(mediaType string, b []byte) ocispec.Descriptor {
		d := digest.FromBytes(b)
		blobs[d] = b
		return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
	}
	layerDesc := add(ocispec.MediaTypeImageLayer, layer)

	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
	}
	for _, img := range images {
		created := epoch()
		cfg := ocispec.Image{
			Created:  &created,
			Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
			Config: ocispec.ImageConfig{
				Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				Entrypoint: img.Entrypoint,
				Cmd:        img.Cmd,
				WorkingDir: "/",
			},
			RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layerDesc.Digest}},
		}
		cfgJSON, err := json.Marshal(cfg)
		if err != nil {
			return fmt.Errorf("marshal config of %s: %w", img.Name, err)
		}
		manifest := ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageManifest,
			Config:    add(ocispec.MediaTypeImageConfig, cfgJSON),
			Layers:    []ocispec.Descriptor{layerDesc},
		}
		manifestJSON, err := json.Marshal(manifest)
		if err != nil {
			return fmt.Errorf("marshal manifest of %s: %w", img.Name, err)
		}
		desc := add(ocispec.MediaTypeImageManifest, manifestJSON)
		desc.Platform = &cfg.Platform
		desc.Annotations = map[string]string{"io.containerd.image.name": img.Name}
		index.Manifests = append(index.Manifests, desc)
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return fmt.Errorf("marshal index: %w", err)
	}
	layoutJSON, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return fmt.Errorf("marshal oci-layout: %w", err)
	}

	tw := tar.NewWriter(w)
	files := []struct {
		name string
		data []byte
	}{
		{ocispec.ImageLayoutFile, layoutJSON},
		{ocispec.ImageIndexFile, indexJSON},
	}
	digests := make([]digest.Digest, 0, len(blobs))
	for d := range blobs {
		digests = append(digests, d)
	}
	sort.Slice(digests, func(i, j int) bool { return digests[i] < digests[j] })
	if err := writeDir(tw, "blobs/"); err != nil {
		return err
	}
	if err := writeDir(tw, "blobs/sha256/"); err != nil {
		return err
	}
	for _, d := range digests {
		files = append(files, struct {
			name string
			data []byte
		}{"blobs/sha256/" + d.Encoded(), blobs[d]})
	}
	for _, f := range files {
		if err := writeFile(tw, f.name, 0o644, f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("close OCI archive: %w", err)
	}
	return nil
}

// busyboxLayer returns an uncompressed layer tar with /bin/busybox, its
// applet symlinks and the few directories and files a container needs.
func busyboxLayer(busyboxPath string) ([]byte, error) {
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("read busybox: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"bin/", "dev/", "etc/", "proc/", "root/", "sys/", "var/"} {
		if err := writeDir(tw, dir); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: epoch(), Format: tar.FormatPAX,
	}); err != nil {
		return nil, fmt.Errorf("write tmp/: %w", err)
	}
	if err := writeFile(tw, "bin/busybox", 0o755, bin); err != nil {
		return nil, err
	}
	for _, applet := range busyboxApplets() {
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox",
			Mode: 0o777, ModTime: epoch(), Format: tar.FormatPAX,
		}); err != nil {
			return nil, fmt.Errorf("write symlink %s: %w", applet, err)
		}
	}
	etc := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for _, name := range []string{"etc/group", "etc/passwd"} {
		if err := writeFile(tw, name, 0o644, []byte(etc[name])); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close layer: %w", err)
	}
	return buf.Bytes(), nil
}

func writeDir(tw *tar.Writer, name string) error {
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch(), Format: tar.FormatPAX,
	}); err != nil {
		return fmt.Errorf("write dir %s: %w", name, err)
	}
	return nil
}

func writeFile(tw *tar.Writer, name string, mode int64, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)),
		ModTime: epoch(), Format: tar.FormatPAX,
	}); err != nil {
		return fmt.Errorf("write header %s: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
