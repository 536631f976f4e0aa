#include "fd_table.h"

#include <algorithm>
#include <new>

namespace ioasid::preload {

FdTable::~FdTable() {
    for (auto& c : chunks_) delete[] c.load();
}

FdTable::Chunk* FdTable::chunk(int fd, bool create) {
    if (fd < 0 || fd >= kCapacity) return nullptr;
    std::atomic<Chunk*>& slot = chunks_[fd >> kChunkBits];
    Chunk* c = slot.load(std::memory_order_acquire);
    if (c || !create) return c;
    // Two threads may race to create it; the loser frees its copy.
    auto* fresh = new (std::nothrow) Chunk[1]();
    if (!fresh) return nullptr;
    if (slot.compare_exchange_strong(c, fresh, std::memory_order_acq_rel)) return fresh;
    delete[] fresh;
    return c;
}

FileKind FdTable::get(int fd) const {
    auto* self = const_cast<FdTable*>(this);
    Chunk* c = self->chunk(fd, false);
    if (!c) return FileKind::Unknown;
    return static_cast<FileKind>(
        (*c)[fd & ((1 << kChunkBits) - 1)].load(std::memory_order_acquire));
}

void FdTable::set(int fd, FileKind kind) {
    // Forgetting a number in a chunk never made needs no chunk.
    Chunk* c = chunk(fd, kind != FileKind::Unknown);
    if (c)
        (*c)[fd & ((1 << kChunkBits) - 1)].store(static_cast<uint8_t>(kind),
                                                 std::memory_order_release);
}

void FdTable::forget_range(unsigned first, unsigned last) {
    const unsigned end = std::min<unsigned>(last, kCapacity - 1);
    for (unsigned fd = first; fd <= end && fd >= first; ++fd) {
        // Whole absent chunks are skipped.
        if (!chunk(static_cast<int>(fd), false)) {
            fd |= (1u << kChunkBits) - 1;
            continue;
        }
        forget(static_cast<int>(fd));
    }
}

}  // namespace ioasid::preload
