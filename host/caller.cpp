#include "host/caller.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace ioasid::host {

namespace {

// /proc/<pid>/<name> as a string in `buf` (one read: these files are
// formatted whole on the first); false if unreadable.
template <size_t N>
bool read_proc(pid_t pid, const char* name, char (&buf)[N]) {
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = ::read(fd, buf, N - 1);
    ::close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    return true;
}

// One field of /proc/<tid>/status, as text, or "" if unreadable.
std::string status_field(pid_t tid, const char* key) {
    char buf[4096];
    if (!read_proc(tid, "status", buf)) return {};
    size_t klen = std::strlen(key);
    for (char* line = buf; line && *line;) {
        char* next = std::strchr(line, '\n');
        if (next) *next++ = '\0';
        if (std::strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char* v = line + klen + 1;
            while (*v == ' ' || *v == '\t') ++v;
            return v;
        }
        line = next;
    }
    return {};
}

bool same_user_namespace(pid_t tid) {
    // Ours never changes (the daemon does not unshare); a kernel without
    // CONFIG_USER_NS has only the initial namespace.
    static const struct Ours {
        struct stat st {};
        bool none = false;
        Ours() { none = ::stat("/proc/self/ns/user", &st) != 0 && errno == ENOENT; }
    } ours;
    if (ours.none) return true;
    struct stat theirs;
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/ns/user", tid);
    if (::stat(path, &theirs)) return false;
    return theirs.st_ino == ours.st.st_ino && theirs.st_dev == ours.st.st_dev;
}

// The thread's effective capabilities (capget: a system call, where
// /proc/PID/status is a file to open and format); 0 if it is gone.
uint64_t effective_capabilities(pid_t tid) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, tid};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, data)) return 0;
    return uint64_t{data[0].effective} | uint64_t{data[1].effective} << 32;
}

// A process held by a pidfd, which becomes readable when the process exits
// and never names another process, whatever happens to its pid.
class PidfdProcess final : public model::SourceProcess {
  public:
    explicit PidfdProcess(int fd) : fd_(fd) {}
    ~PidfdProcess() override {
        if (fd_ >= 0) ::close(fd_);
    }
    PidfdProcess(const PidfdProcess&) = delete;
    PidfdProcess& operator=(const PidfdProcess&) = delete;

    bool alive() const override {
        pollfd p{fd_, POLLIN, 0};
        return fd_ >= 0 && ::poll(&p, 1, 0) == 0;
    }

  private:
    int fd_;
};

}  // namespace

std::shared_ptr<const model::SourceProcess> watch_process(pid_t tgid) {
    // A process we cannot watch is taken as gone: its memory is never reached.
    const int fd = tgid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, tgid, 0)) : -1;
    return std::make_shared<PidfdProcess>(fd < 0 ? -1 : fd);
}

uint32_t tgid_of(pid_t tid) {
    std::string v = status_field(tid, "Tgid");
    return v.empty() ? 0 : static_cast<uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
}

int64_t real_uid(pid_t pid) {
    std::string v = status_field(pid, "Uid");
    return v.empty() ? -1 : static_cast<int64_t>(std::strtoul(v.c_str(), nullptr, 10));
}

uint64_t locked_memory(pid_t pid) {
    std::string v = status_field(pid, "VmLck");  // "1024 kB"
    return v.empty() ? 0 : std::strtoull(v.c_str(), nullptr, 10) * 1024;
}

uint64_t start_time(pid_t pid) {
    char buf[1024];
    if (!read_proc(pid, "stat", buf)) return 0;
    // The name (field 2) may hold spaces and parentheses: count from its end.
    const char* p = std::strrchr(buf, ')');
    for (int field = 2; p && field < 22; ++field) p = std::strchr(p + 1, ' ');
    return p ? std::strtoull(p + 1, nullptr, 10) : 0;
}

uint64_t memlock_limit(pid_t pid) {
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/limits", pid);
    FILE* f = std::fopen(path, "re");
    if (!f) return 0;
    const char key[] = "Max locked memory";
    char line[256];
    uint64_t limit = 0;
    while (std::fgets(line, sizeof(line), f)) {
        if (std::strncmp(line, key, sizeof(key) - 1) != 0) continue;
        const char* v = line + sizeof(key) - 1;
        while (*v == ' ') ++v;
        limit = std::strncmp(v, "unlimited", 9) == 0 ? UINT64_MAX : std::strtoull(v, nullptr, 10);
        break;
    }
    std::fclose(f);
    return limit;
}

bool has_capability(pid_t tid, int cap) {
    if (cap < 0 || cap > 63 || tid <= 0) return false;
    return (effective_capabilities(tid) >> cap & 1) && same_user_namespace(tid);
}

int pinnable(pid_t tid, uint64_t start, uint64_t len, bool write) {
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/maps", tid);
    FILE* f = std::fopen(path, "re");
    if (!f) return 0;  // gone, or not ours to read: unknown
    uint64_t want = start;
    const uint64_t end = start + len;
    char line[512];
    while (want < end && std::fgets(line, sizeof(line), f)) {
        unsigned long long lo, hi;
        char perms[5] = {};
        if (std::sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3) continue;
        if (hi <= want) continue;
        // A hole before the next mapping, or a mapping the pin may not use.
        if (lo > want || perms[0] != 'r' || (write && perms[1] != 'w')) break;
        want = hi;
    }
    std::fclose(f);
    return want >= end ? 0 : -EFAULT;
}

bool contiguous(pid_t pid, uint64_t va, uint64_t len) {
    const uint64_t page = 4096;
    if (!len || va % page || len % page) return false;
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    std::vector<uint64_t> entries(len / page);
    const auto bytes = static_cast<ssize_t>(entries.size() * sizeof(uint64_t));
    const ssize_t n = ::pread(fd, entries.data(), static_cast<size_t>(bytes),
                              static_cast<off_t>(va / page * sizeof(uint64_t)));
    ::close(fd);
    if (n != bytes) return false;
    // Bit 63: present; bits 0-54: the page frame, 0 without CAP_SYS_ADMIN.
    const uint64_t pfn_mask = (1ull << 55) - 1;
    const uint64_t first = entries[0] & pfn_mask;
    if (!(entries[0] >> 63) || !first || (first * page) % len) return false;
    for (size_t i = 1; i < entries.size(); ++i)
        if (!(entries[i] >> 63) || (entries[i] & pfn_mask) != first + i) return false;
    return true;
}

dispatch::Caller make_caller(pid_t tid, uid_t uid, gid_t gid) {
    dispatch::Caller c;
    c.tid = static_cast<uint32_t>(tid);
    c.uid = uid;
    c.gid = gid;
    c.capable = [tid](int cap) { return has_capability(tid, cap); };
    c.tgid = [tid] { return tgid_of(tid); };
    c.watch = [](uint32_t tgid) { return watch_process(static_cast<pid_t>(tgid)); };
    c.pinnable = [tid](uint64_t start, uint64_t len, bool write) {
        return pinnable(tid, start, len, write);
    };
    c.contiguous = [](uint32_t pid, uint64_t va, uint64_t len) {
        return contiguous(static_cast<pid_t>(pid), va, len);
    };
    return c;
}

namespace {

// The 4th of "Uid:" or "Gid:"'s fields: the filesystem id.
uint32_t fs_id(const std::string& field) {
    unsigned long ids[4] = {};
    if (std::sscanf(field.c_str(), "%lu %lu %lu %lu", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
        return UINT32_MAX;
    return static_cast<uint32_t>(ids[3]);
}

bool in_groups(const std::string& groups, gid_t gid) {
    const char* p = groups.c_str();
    for (char* end; *p; p = end) {
        const unsigned long g = std::strtoul(p, &end, 10);
        if (end == p) break;
        if (g == gid) return true;
    }
    return false;
}

}  // namespace

bool may_open_rw(pid_t tid, const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st)) return false;
    if (has_capability(tid, CAP_DAC_OVERRIDE)) return true;
    const uint32_t fsuid = fs_id(status_field(tid, "Uid"));
    const uint32_t fsgid = fs_id(status_field(tid, "Gid"));
    if (fsuid == UINT32_MAX) return false;
    mode_t bits;  // the class's rw bits, owner then group then others
    if (fsuid == st.st_uid)
        bits = (st.st_mode >> 6) & 6;
    else if (fsgid == st.st_gid || in_groups(status_field(tid, "Groups"), st.st_gid))
        bits = (st.st_mode >> 3) & 6;
    else
        bits = st.st_mode & 6;
    return bits == 6;
}

}  // namespace ioasid::host
