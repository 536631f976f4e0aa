/*
 * QEMU's edu device as the VM clients drive it: its BAR registers, and its
 * DMA engine, through libioasid's region access.
 */
#ifndef IOASID_TESTS_EDU_H
#define IOASID_TESTS_EDU_H

#include <unistd.h>

#include "ioasid/libioasid.h"
#include "vfio_common.h"

#define BAR0 IOASID_VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR0_REGION_INDEX)
#define CONFIG IOASID_VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX)
#define EDU_BUF 0x40000ull
#define DMA_LEN 256u

static inline uint64_t bar_read(int dev, uint64_t reg, size_t size) {
    uint64_t v = 0;
    if (ioasid_pread(dev, &v, size, BAR0 + reg) != (ssize_t)size) die("BAR0 read", reg);
    return v;
}

static inline void bar_write(int dev, uint64_t reg, uint64_t v, size_t size) {
    if (ioasid_pwrite(dev, &v, size, BAR0 + reg) != (ssize_t)size) die("BAR0 write", reg);
}

/* One edu DMA: RAM to the device buffer (to_ram 0) or back (1). Waits for
 * the run bit to clear (the real edu finishes 100 ms later, on a timer). */
static inline void edu_dma(int dev, uint64_t iova, int to_ram) {
    bar_write(dev, 0x80, to_ram ? EDU_BUF : iova, 8);
    bar_write(dev, 0x88, to_ram ? iova : EDU_BUF, 8);
    bar_write(dev, 0x90, DMA_LEN, 8);
    bar_write(dev, 0x98, 0x1 | (to_ram ? 0x2 : 0) | 0x4, 8);
    for (int i = 0; i < 500 && (bar_read(dev, 0x98, 8) & 1); i++) usleep(10000);
}

#endif
