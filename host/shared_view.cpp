#include "host/shared_view.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "host/process.h"
#include "host/unique_fd.h"

namespace ioasid::host {

namespace {

using Vma = FileMappings::Vma;

std::string to_hex(uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
    return buf;
}

// The VMAs of `pid` that intersect [addr, addr + length), in order.
int read_vmas(pid_t pid, uint64_t addr, uint64_t length, std::vector<Vma>& out) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    if (!maps) return -ESRCH;
    std::string line;
    const uint64_t end = addr + length;
    while (std::getline(maps, line)) {
        char perms[8] = {};
        unsigned long long s = 0, e = 0, off = 0, ino = 0;
        unsigned dmaj = 0, dmin = 0;
        int path_at = 0;
        if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &off,
                        &dmaj, &dmin, &ino, &path_at) < 7)
            continue;
        if (e <= addr || s >= end) continue;
        out.push_back({s, e, off, (uint64_t{dmaj} << 32) | dmin, ino, perms[3] == 's',
                       perms[0] == 'r', perms[1] == 'w',
                       path_at ? line.substr(static_cast<size_t>(path_at)) : ""});
    }
    return 0;
}

// Whether some page of [remote, remote + length) in `theirs` and of
// [local, ...) in `ours` is present on both sides, and whether every such
// pair is the same page frame; false also when pagemap hides frames from
// us (no CAP_SYS_ADMIN). A few pages are looked at: one that matches is
// the proof (see FileMappings).
bool same_frame(int theirs, int ours, uint64_t remote, uint64_t local, uint64_t length) {
    constexpr size_t kLooked = 16;
    uint64_t a[kLooked], b[kLooked];
    const size_t n = std::min<uint64_t>(kLooked, length / 4096);
    const auto bytes = static_cast<ssize_t>(n * sizeof(uint64_t));
    if (theirs < 0 || ours < 0 || n == 0 ||
        ::pread(theirs, a, static_cast<size_t>(bytes), static_cast<off_t>(remote / 4096 * 8)) !=
            bytes ||
        ::pread(ours, b, static_cast<size_t>(bytes), static_cast<off_t>(local / 4096 * 8)) != bytes)
        return false;
    constexpr uint64_t kPresent = 1ull << 63, kFrame = (1ull << 55) - 1;
    bool seen = false;
    for (size_t i = 0; i < n; i++) {
        if (!(a[i] & kPresent) || !(b[i] & kPresent) || !(a[i] & kFrame)) continue;
        if ((a[i] & kFrame) != (b[i] & kFrame)) return false;
        seen = true;
    }
    return seen;
}

std::string vma_name(const Vma& v) {
    return to_hex(v.start) + "-" + to_hex(v.end);
}

std::string map_files_path(pid_t pid, const Vma& v) {
    return "/proc/" + std::to_string(pid) + "/map_files/" + vma_name(v);
}

// Whether the client's VMA lets it share [at, ...) as a view asks: the
// kernel's pin of the client's memory would fail (EFAULT) on a VMA it may
// not read, or write for a writable view.
int usable(const Vma& v, uint64_t at, bool writable, std::string& why) {
    const std::string where =
        " at 0x" + to_hex(at) + (v.path.empty() ? " (anonymous)" : " (" + v.path + ")");
    if (!v.shared) {
        why = "private memory" + where;
        return -EOPNOTSUPP;
    }
    if (v.readable && (v.writable || !writable)) return 0;
    why = std::string(v.readable ? "read-only" : "unreadable") + " memory" + where;
    return -EFAULT;
}

// The whole file behind a VMA (`fd`, opened through its map_files entry),
// mapped shared into the daemon.
int map_file(pid_t pid, const Vma& v, const UniqueFd& fd, bool writable, uint64_t needed,
             std::shared_ptr<MappedFile>& out, std::string& why) {
    const std::string path = map_files_path(pid, v);
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st)) {
        why = "cannot open " + path + ": " + std::strerror(errno);
        return -EFAULT;
    }
    const uint64_t size = std::max<uint64_t>(static_cast<uint64_t>(st.st_size), needed);
    const int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void* base = ::mmap(nullptr, size, prot, MAP_SHARED, fd.get(), 0);
    if (base == MAP_FAILED) {
        why = "mmap of " + path + ": " + std::strerror(errno);
        return -EFAULT;
    }
    out = std::make_shared<MappedFile>();
    out->base = reinterpret_cast<uint64_t>(base);
    out->size = size;
    return 0;
}

}  // namespace

FileMappings::Proc& FileMappings::entry(pid_t pid) {
    // Each process costs two descriptors: keep a few, the others reopen.
    if (procs_.size() >= kProcs && !procs_.count(pid)) procs_.clear();
    return procs_[pid];
}

FileMappings::Proc& FileMappings::proc(pid_t pid) {
    Proc& p = entry(pid);
    if (p.pagemap && p.map_files) return p;
    const std::string dir = "/proc/" + std::to_string(pid);
    if (!p.pagemap) p.pagemap.reset(::open((dir + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC));
    if (!p.map_files)
        p.map_files.reset(::open((dir + "/map_files").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    return p;
}

void FileMappings::forget(pid_t pid) {
    procs_.erase(pid);
}

UniqueFd FileMappings::open_file(pid_t pid, const Vma& v, bool writable) {
    return UniqueFd(::openat(proc(pid).map_files.get(), vma_name(v).c_str(),
                             (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC));
}

void FileMappings::identify(pid_t pid, Vma& v) {
    struct stat st;
    v.stat_dev = v.stat_ino = 0;
    if (::fstatat(proc(pid).map_files.get(), vma_name(v).c_str(), &st, 0)) return;
    v.stat_dev = st.st_dev;
    v.stat_ino = st.st_ino;
}

bool FileMappings::still_maps(pid_t pid, const Vma& v, uint64_t remote, uint64_t local,
                              uint64_t length) {
    if (!v.stat_ino || (remote | local) % 4096) return false;
    Proc& p = proc(pid);
    struct stat st;
    if (::fstatat(p.map_files.get(), vma_name(v).c_str(), &st, 0) || st.st_dev != v.stat_dev ||
        st.st_ino != v.stat_ino)
        return false;
    if (!self_pagemap_) self_pagemap_.reset(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    return same_frame(p.pagemap.get(), self_pagemap_.get(), remote, local, length);
}

MappedFile::~MappedFile() {
    if (base) ::munmap(reinterpret_cast<void*>(base), size);
}

std::shared_ptr<MappedFile> FileMappings::find(const Key& key, uint64_t needed) {
    auto it = files_.find(key);
    if (it == files_.end()) return nullptr;
    auto file = it->second.lock();
    return file && file->size >= needed ? file : nullptr;
}

void FileMappings::add(const Key& key, const std::shared_ptr<MappedFile>& file) {
    files_[key] = file;
    recent_.push_back(file);
    if (recent_.size() > kRecent) recent_.pop_front();
    std::erase_if(files_, [](const auto& kv) { return kv.second.expired(); });
}

// The pieces of [addr, addr + length) from `vmas`: 1 when they cover it
// (and, with `check`, every piece still holds), 0 when they do not, or
// -errno (private memory, memory the client may not access so, a file we
// cannot map).
int SharedView::from_vmas(FileMappings& files, std::vector<Vma>& vmas, pid_t pid, uint64_t addr,
                          uint64_t length, bool writable, bool check, std::string& why) {
    uint64_t at = addr;
    const uint64_t end = addr + length;
    for (Vma& v : vmas) {
        if (v.end <= at || v.start >= end) continue;
        if (v.start > at) break;  // a hole
        int rc = usable(v, at, writable, why);
        if (rc) return rc;
        const uint64_t piece_end = std::min(v.end, end);
        const uint64_t file_off = v.offset + (at - v.start);
        const FileMappings::Key key{v.dev, v.inode, writable};
        std::shared_ptr<MappedFile> file = files.find(key, file_off + (piece_end - at));
        if (check) {
            if (!file || !files.still_maps(pid, v, at, file->base + file_off, piece_end - at))
                return 0;
        } else if (!file) {
            // Opened through the client's own VMA, checked above, so that
            // the daemon's privilege grants no access the client lacks.
            const UniqueFd fd = files.open_file(pid, v, writable);
            if ((rc = map_file(pid, v, fd, writable, file_off + (piece_end - at), file, why)))
                return rc;
            files.add(key, file);
        }
        if (!check) files.identify(pid, v);
        pieces_.push_back({file->base + file_off, at, piece_end - at});
        files_.push_back(std::move(file));
        at = piece_end;
        if (at == end) return 1;
    }
    return 0;
}

int SharedView::map(FileMappings& files, pid_t pid, uint64_t addr, uint64_t length, bool writable,
                    std::string& why) {
    int rc = from_vmas(files, files.vmas(pid), pid, addr, length, writable, true, why);
    if (rc == 1) return 0;
    pieces_.clear();
    files_.clear();
    files.maps_reads++;
    files.forget(pid);
    std::vector<Vma>& known = files.vmas(pid);
    if ((rc = read_vmas(pid, 0, ~0ull >> 1, known))) return rc;
    rc = from_vmas(files, known, pid, addr, length, writable, false, why);
    if (rc == 1) return 0;
    if (rc == 0) why = "no memory at 0x" + to_hex(addr) + " for 0x" + to_hex(length) + " bytes";
    return rc ? rc : -EFAULT;
}

int SharedView::copy(pid_t pid, uint64_t addr, uint64_t length, std::string& why) {
    pieces_.clear();
    files_.clear();
    // A memfd, not anonymous memory: the container pins it as it pins the
    // shared files of other views, and nothing forks with it.
    UniqueFd fd(::memfd_create("ioasidd-readonly-copy", MFD_CLOEXEC));
    if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(length))) return -errno;
    void* at = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (at == MAP_FAILED) return -errno;
    auto file = std::make_shared<MappedFile>();
    file->base = reinterpret_cast<uint64_t>(at);
    file->size = length;
    if (int rc = process_read(pid, addr, at, length)) {
        why = "cannot read 0x" + to_hex(length) + " bytes at 0x" + to_hex(addr);
        return rc;
    }
    pieces_.push_back({file->base, addr, length});
    files_.push_back(std::move(file));
    return 0;
}

}  // namespace ioasid::host
