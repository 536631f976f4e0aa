// A client's memory mapped into the daemon, sharing its pages: what a VFIO
// container (which pins the daemon's own memory) needs to map the client's
// memory for a device. Only shared memory can be: memfd, shared files,
// shared anonymous mappings; their files are opened through
// /proc/PID/map_files and mapped whole, once, and reused by later views.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "host/unique_fd.h"

namespace ioasid::host {

// One MAP_SHARED mapping of a whole file in the daemon.
struct MappedFile {
    uint64_t base = 0;
    uint64_t size = 0;
    ~MappedFile();
};

// The files one client's views map, kept a little after their last view
// goes, so that a MAP/UNMAP cycle of the same memory costs no new mapping
// (and no new page faults when the container pins it again).
//
// It also remembers the client's VMAs it last read from /proc/PID/maps (a
// costly read, and longer the more the client maps), and trusts one again
// when /proc/PID/map_files still has a VMA of exactly its range and file,
// and one page of it is the same physical page in the client as in our
// mapping: a VMA maps its file linearly and a page cache page has one file
// and one offset, so that page proves the VMA's file offset too. Otherwise
// maps is read again. Its permissions stay those maps showed: an mprotect()
// since goes unseen, which gives the device no access the client's file
// does not (a writable shared VMA needs a file opened for writing).
class FileMappings {
  public:
    // (device, inode, writable) of a VMA's file.
    using Key = std::tuple<uint64_t, uint64_t, bool>;
    std::shared_ptr<MappedFile> find(const Key& key, uint64_t needed);
    void add(const Key& key, const std::shared_ptr<MappedFile>& file);

    struct Vma {
        uint64_t start, end, offset, dev, inode;
        bool shared, readable, writable;
        std::string path;
        // What stat says of its map_files entry (devices may differ from
        // maps' on stacked filesystems); 0 until a view used it.
        uint64_t stat_dev = 0, stat_ino = 0;
    };
    std::vector<Vma>& vmas(pid_t pid) { return entry(pid).vmas; }
    // The file behind v, opened through its map_files entry.
    UniqueFd open_file(pid_t pid, const Vma& v, bool writable);
    // Fills in v's stat_dev and stat_ino (0 when it is gone).
    void identify(pid_t pid, Vma& v);
    // See above: `v` still maps what we map at `local` for its part at `remote`.
    bool still_maps(pid_t pid, const Vma& v, uint64_t remote, uint64_t local, uint64_t length);
    // Before maps is read again: the pid may belong to a new process now.
    void forget(pid_t pid);
    // How many times /proc/PID/maps was read (the slow path).
    uint64_t maps_reads = 0;
    // The processes whose /proc entries are held open (at most kProcs).
    size_t processes() const { return procs_.size(); }
    static constexpr size_t kProcs = 8;

  private:
    static constexpr size_t kRecent = 16;
    // What is kept of one client process.
    struct Proc {
        std::vector<Vma> vmas;
        UniqueFd pagemap;    // its /proc/PID/pagemap
        UniqueFd map_files;  // its /proc/PID/map_files
    };
    Proc& entry(pid_t pid);  // kept, or made (forgetting others past kProcs)
    Proc& proc(pid_t pid);   // with its /proc entries open
    std::map<Key, std::weak_ptr<MappedFile>> files_;
    std::deque<std::shared_ptr<MappedFile>> recent_;
    std::map<pid_t, Proc> procs_;
    UniqueFd self_pagemap_;

  public:
    FileMappings() = default;
    FileMappings(const FileMappings&) = delete;
    FileMappings& operator=(const FileMappings&) = delete;
};

class SharedView {
  public:
    struct Piece {
        uint64_t local;   // the daemon's address
        uint64_t remote;  // the client's
        uint64_t length;
    };

    // 0; -EFAULT when part of the range is not mapped, or not readable (or
    // writable, for a writable view) by the client, where the kernel's pin
    // would fail; -EOPNOTSUPP when a part is private memory (its pages
    // cannot be shared). `why` says which.
    int map(FileMappings& files, pid_t pid, uint64_t addr, uint64_t length, bool writable,
            std::string& why);
    // A read-only view of private memory, which cannot be shared: a copy of
    // the client's bytes, taken now, in memory of the daemon's own. 0, or
    // -EFAULT when part of the range cannot be read. Unlike the kernel's
    // pin, later writes of the client to that memory do not reach the copy.
    int copy(pid_t pid, uint64_t addr, uint64_t length, std::string& why);
    const std::vector<Piece>& pieces() const { return pieces_; }

  private:
    std::vector<Piece> pieces_;
    std::vector<std::shared_ptr<MappedFile>> files_;  // keep the pieces mapped

    int from_vmas(FileMappings& files, std::vector<FileMappings::Vma>& vmas, pid_t pid,
                  uint64_t addr, uint64_t length, bool writable, bool check, std::string& why);
};

}  // namespace ioasid::host
