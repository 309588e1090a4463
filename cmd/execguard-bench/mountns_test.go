package main

import (
	"reflect"
	"testing"
)

func TestHybridCgroup2Mounts(t *testing.T) {
	const (
		root    = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		tmpfs   = "25 22 0:21 / /sys/fs/cgroup ro,nosuid shared:4 - tmpfs tmpfs ro,mode=755\n"
		memory  = "30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory\n"
		unified = "26 25 0:22 / /sys/fs/cgroup/unified rw,nosuid shared:5 - cgroup2 cgroup2 rw\n"
		pureV2  = "26 22 0:22 / /sys/fs/cgroup rw,nosuid shared:5 - cgroup2 cgroup2 rw,nsdelegate\n"
		spaced  = "27 25 0:23 / /mnt/cg\\0402 rw shared:6 - cgroup2 none rw\n"
	)
	tests := []struct {
		name      string
		mountinfo string
		want      []string
		wantErr   bool
	}{
		{name: "hybrid", mountinfo: root + tmpfs + memory + unified, want: []string{"/sys/fs/cgroup/unified"}},
		{name: "hybrid, cgroup2 listed first", mountinfo: root + tmpfs + unified + memory, want: []string{"/sys/fs/cgroup/unified"}},
		{name: "escaped mount point", mountinfo: root + memory + spaced, want: []string{"/mnt/cg 2"}},
		{name: "pure v2", mountinfo: root + pureV2},
		{name: "pure v1", mountinfo: root + tmpfs + memory},
		{name: "no cgroups", mountinfo: root},
		{name: "not mountinfo", mountinfo: root + "garbage\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hybridCgroup2Mounts(tt.mountinfo)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("hybridCgroup2Mounts = %q, want %q", got, tt.want)
			}
		})
	}
}
