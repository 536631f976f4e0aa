# Helpers of the guest scripts, sourced by them.

# wait_until TRIES CMD...: runs CMD every 0.1 s until it succeeds, at most
# 4 x TRIES times; its last status. TRIES is what a quiet machine needs; a
# loaded TCG host can be several times slower, and a wait that succeeds
# ends as soon as it does.
wait_until() {
    tries=$(($1 * 4))
    shift
    i=0
    until "$@"; do
        i=$((i + 1))
        [ $i -ge "$tries" ] && return 1
        sleep 0.1
    done
}

# wait_node PATH: the character device appears within 40 s, or says so.
wait_node() {
    wait_until 100 test -c "$1" || { echo "guest: $1 did not appear"; return 1; }
}

# limited_user CMD...: CMD under a 1.5 MiB RLIMIT_MEMLOCK as uid 1000, which
# has no CAP_IPC_LOCK; limited_root CMD...: as root, which locks past it.
limited_user() {
    sh -c 'ulimit -l 1536; exec setpriv --reuid=1000 --regid=1000 --clear-groups "$@"' sh "$@"
}
limited_root() {
    sh -c 'ulimit -l 1536; exec "$@"' sh "$@"
}

# wait_line FILE PATTERN [TRIES]: a line of FILE matches PATTERN (20 s).
wait_line() {
    wait_until "${3:-50}" grep -q "$2" "$1"
}
