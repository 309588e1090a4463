package policy

import "strings"

// image is a container image reference split the way D4C's conditions see
// it, for docker.io/library/nginx:1.25:
//
//	fullName  docker.io/library/nginx   (containerImageFullName: registry and repository)
//	name      nginx                     (containerImageName: the repository's last component)
//	tag       1.25                      (containerImageTag)
//
// A reference without a tag or digest has the tag latest; one pinned only by
// digest has no tag.
type image struct {
	fullName, name, tag string
}

func parseImage(ref string) image {
	if ref == "" {
		return image{}
	}
	var im image
	digest := false
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref, digest = ref[:i], true
	}
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		ref, im.tag = ref[:i], ref[i+1:]
	} else if !digest {
		im.tag = "latest"
	}
	im.fullName = normalizeRepository(ref)
	im.name = im.fullName[strings.LastIndexByte(im.fullName, '/')+1:]
	return im
}

// normalizeRepository adds what the short Docker Hub forms leave out, as
// container engines do: nginx and docker.io/nginx are both
// docker.io/library/nginx.
func normalizeRepository(repo string) string {
	first, rest, ok := strings.Cut(repo, "/")
	if !ok || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		first, rest = "docker.io", repo
	}
	if first == "index.docker.io" {
		first = "docker.io"
	}
	if first == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	return first + "/" + rest
}
