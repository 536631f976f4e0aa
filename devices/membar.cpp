#include "devices/membar.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "ioasid/vfio.h"

namespace ioasid::devices {

const PciIdentity kMemBarIdentity{0x1234, 0x10f0, 0x01, 0x050000, 0x1af4, 0x1100};

MemBar::MemBar(uint64_t size)
    : EmulatedPci(kMemBarIdentity, size, IrqCounts{0, 0, 0, false}, true) {
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    mapped_ = (size + page - 1) / page * page;
    allocate();
}

MemBar::~MemBar() {
    free_memory();
}

void MemBar::allocate() {
    fd_ = ::memfd_create("ioasidd-membar", MFD_CLOEXEC);
    void* p = MAP_FAILED;
    if (fd_ >= 0 && ::ftruncate(fd_, static_cast<off_t>(mapped_)) == 0)
        p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) {
        // Without a memfd the BAR still works, by read and write only.
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    mem_ = static_cast<uint8_t*>(p);
}

void MemBar::free_memory() {
    ::munmap(mem_, mapped_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void MemBar::take_back_memory() {
    free_memory();
    allocate();
}

int MemBar::bar_memory(uint32_t index) const {
    return index == VFIO_PCI_BAR0_REGION_INDEX ? fd_ : -1;
}

uint64_t MemBar::bar_read(uint64_t off, unsigned size) {
    uint64_t v = 0;
    std::memcpy(&v, mem_ + off, size);
    return v;
}

void MemBar::bar_write(uint64_t off, uint64_t val, unsigned size) {
    std::memcpy(mem_ + off, &val, size);
}

void MemBar::device_reset() {
    std::memset(mem_, 0, mapped_);
}

}  // namespace ioasid::devices
