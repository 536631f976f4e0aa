// What the preload library knows of each fd number: not looked at yet, not
// ioasidd's, or one of ioasidd's two nodes. Lock-free, because QEMU's vCPU
// threads read it on every MMIO access; no I/O, so it is tested alone.
#pragma once

#include <atomic>
#include <cstdint>

namespace ioasid::preload {

enum class FileKind : uint8_t {
    Unknown = 0,  // not classified since the number last changed hands
    Other,        // any file that is not ioasidd's: libc serves it
    Iommufd,      // /dev/ioasid
    Device,       // an ioasidd device node
    Container,    // /dev/ioasid made /dev/vfio/vfio
    Group,        // /dev/ioasid made /dev/vfio/N
};

// Entries live in lazily allocated chunks, so that a process with a million
// allowed fds pays only for the numbers it uses. A number past the table is
// never cached: it is classified on every call.
class FdTable {
  public:
    static constexpr int kChunkBits = 12;
    static constexpr int kChunks = 256;
    static constexpr int kCapacity = kChunks << kChunkBits;

    FdTable() = default;
    ~FdTable();
    FdTable(const FdTable&) = delete;
    FdTable& operator=(const FdTable&) = delete;

    FileKind get(int fd) const;
    void set(int fd, FileKind kind);
    // The number may now name another file (close, dup2, a new open).
    void forget(int fd) { set(fd, FileKind::Unknown); }
    void forget_range(unsigned first, unsigned last);

  private:
    using Chunk = std::atomic<uint8_t>[1 << kChunkBits];
    Chunk* chunk(int fd, bool create);
    std::atomic<Chunk*> chunks_[kChunks] = {};
};

}  // namespace ioasid::preload
