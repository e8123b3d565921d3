#!/bin/sh
# PID 1 of one lab host. Runs inside fresh UTS, PID and mount namespaces (made by
# `unshare`) and inside the host's network namespace (made by `ip netns exec`).
# Arguments are positional values, never spliced into a command string.
#   $1 hostname  $2 lowerdir (shared rootfs)  $3 upperdir  $4 workdir  $5 merged  $6 listen IP
set -eu
name=$1 lower=$2 upper=$3 work=$4 merged=$5 addr=$6

hostname "$name"
# Nothing mounted here may propagate back to the machine.
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$merged"
mount -t proc proc "$merged/proc"
mount -t sysfs sysfs "$merged/sys"
mount --rbind /dev "$merged/dev"
# Container engines in a host: its own /dev/shm (podman's lock segment must not be shared
# between hosts) and the cgroup hierarchies, mounted as a real device's systemd does (the
# netns' fresh /sys has none). v1 hierarchies from /proc/cgroups, else cgroup2.
mount -t tmpfs -o mode=1777 tmpfs "$merged/dev/shm"
mount -t tmpfs -o mode=0755 cgroup "$merged/sys/fs/cgroup"
hierarchies=$(awk 'NR > 1 && $2 > 0 && $4 == 1 { h[$2] = h[$2] (h[$2] ? "," : "") $1 }
                   END { for (i in h) print h[i] }' /proc/cgroups)
if [ -n "$hierarchies" ]; then
    for opts in $hierarchies; do
        mkdir -p "$merged/sys/fs/cgroup/$opts"
        mount -t cgroup -o "$opts" cgroup "$merged/sys/fs/cgroup/$opts"
    done
else
    umount "$merged/sys/fs/cgroup"
    mount -t cgroup2 cgroup2 "$merged/sys/fs/cgroup"
fi
mount -t tmpfs -o mode=0755 tmpfs "$merged/run"
mkdir -p "$merged/run/sshd" "$merged/run/lock"
mount -t tmpfs -o mode=1777 tmpfs "$merged/tmp"

exec chroot "$merged" /usr/sbin/sshd -D -e -o "ListenAddress=$addr"
