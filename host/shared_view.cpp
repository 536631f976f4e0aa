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
                       path_at ? line.substr(static_cast<size_t>(path_at)) : ""});
    }
    return 0;
}

// The page frames behind [addr, addr + length) from a pagemap fd; false
// when a page is not present (or pagemap hides frames from us).
bool frames(int pagemap, uint64_t addr, uint64_t length, std::vector<uint64_t>& out) {
    out.resize(length / 4096);
    const auto bytes = static_cast<ssize_t>(out.size() * sizeof(uint64_t));
    if (pagemap < 0 || ::pread(pagemap, out.data(), static_cast<size_t>(bytes),
                               static_cast<off_t>(addr / 4096 * 8)) != bytes)
        return false;
    for (uint64_t& e : out) {
        if (!(e >> 63)) return false;
        e &= (1ull << 55) - 1;
        if (!e) return false;
    }
    return true;
}

std::string map_files_path(pid_t pid, const Vma& v) {
    return "/proc/" + std::to_string(pid) + "/map_files/" + to_hex(v.start) + "-" + to_hex(v.end);
}

// The whole file behind a VMA, mapped shared into the daemon.
int map_file(pid_t pid, const Vma& v, bool writable, uint64_t needed,
             std::shared_ptr<MappedFile>& out, std::string& why) {
    const std::string path = map_files_path(pid, v);
    UniqueFd fd(::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC));
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

FileMappings::~FileMappings() {
    for (auto& [pid, fd] : pagemaps_) ::close(fd);
    if (self_pagemap_ >= 0) ::close(self_pagemap_);
}

void FileMappings::forget_pagemap(pid_t pid) {
    auto it = pagemaps_.find(pid);
    if (it == pagemaps_.end()) return;
    if (it->second >= 0) ::close(it->second);
    pagemaps_.erase(it);
}

bool FileMappings::same_pages(pid_t pid, uint64_t remote, uint64_t local, uint64_t length) {
    // Beyond this, reading maps again costs less than comparing every page.
    constexpr uint64_t kMaxCompared = 64ull << 20;
    if (length > kMaxCompared || (remote | local | length) % 4096) return false;
    if (self_pagemap_ < 0) self_pagemap_ = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    int& fd = pagemaps_.try_emplace(pid, -1).first->second;
    if (fd < 0) {
        const std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    }
    std::vector<uint64_t> theirs, ours;
    return frames(fd, remote, length, theirs) && frames(self_pagemap_, local, length, ours) &&
           theirs == ours;
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
// -errno (private memory, a file we cannot map).
int SharedView::from_vmas(FileMappings& files, const std::vector<Vma>& vmas, pid_t pid,
                          uint64_t addr, uint64_t length, bool writable, bool check,
                          std::string& why) {
    uint64_t at = addr;
    const uint64_t end = addr + length;
    for (const Vma& v : vmas) {
        if (v.end <= at || v.start >= end) continue;
        if (v.start > at) break;  // a hole
        if (!v.shared) {
            why = "private memory at 0x" + to_hex(at) +
                  (v.path.empty() ? " (anonymous)" : " (" + v.path + ")");
            return -EOPNOTSUPP;
        }
        const uint64_t piece_end = std::min(v.end, end);
        const uint64_t file_off = v.offset + (at - v.start);
        const FileMappings::Key key{v.dev, v.inode, writable};
        std::shared_ptr<MappedFile> file = files.find(key, file_off + (piece_end - at));
        if (!file) {
            if (check) return 0;
            int rc = map_file(pid, v, writable, file_off + (piece_end - at), file, why);
            if (rc) return rc;
            files.add(key, file);
        }
        if (check && !files.same_pages(pid, at, file->base + file_off, piece_end - at)) return 0;
        pieces_.push_back({file->base + file_off, at, piece_end - at});
        files_.push_back(std::move(file));
        at = piece_end;
        if (at == end) return 1;
    }
    return 0;
}

int SharedView::map(FileMappings& files, pid_t pid, uint64_t addr, uint64_t length, bool writable,
                    std::string& why) {
    std::vector<Vma>& known = files.vmas(pid);
    int rc = from_vmas(files, known, pid, addr, length, writable, true, why);
    if (rc == 1) return 0;
    pieces_.clear();
    files_.clear();
    known.clear();
    files.maps_reads++;
    files.forget_pagemap(pid);
    if ((rc = read_vmas(pid, 0, ~0ull >> 1, known))) return rc;
    rc = from_vmas(files, known, pid, addr, length, writable, false, why);
    if (rc == 1) return 0;
    if (rc == 0) why = "no memory at 0x" + to_hex(addr) + " for 0x" + to_hex(length) + " bytes";
    return rc ? rc : -EFAULT;
}

}  // namespace ioasid::host
