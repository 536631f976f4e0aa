// The kernel's uevent multicast (NETLINK_KOBJECT_UEVENT, group 1) through
// libnl: only messages the kernel itself sent are taken.
#pragma once

#include "host/uevent.h"

struct nl_sock;

namespace ioasid::host {

class UeventMonitor {
  public:
    UeventMonitor() = default;
    ~UeventMonitor();
    UeventMonitor(const UeventMonitor&) = delete;
    UeventMonitor& operator=(const UeventMonitor&) = delete;

    // 0, or -errno (a container without netlink uevents, for one).
    int open();
    int fd() const;
    // One message, without waiting: 1 with `ev` filled, 0 when there is
    // none (or it was not a kernel uevent), -ENOBUFS when the kernel dropped
    // events (the caller resynchronises from sysfs), other -errno on error.
    int receive(Uevent& ev);

  private:
    nl_sock* sock_ = nullptr;
};

}  // namespace ioasid::host
