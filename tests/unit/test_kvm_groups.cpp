// The preload library's KVM bookkeeping for QEMU 7.2's groups: a group is
// added before its devices exist, each forwarded device's real file then
// goes to KVM once, and GROUP_DEL takes those files away (kvm_groups.h).
// The real files are pipes here; KVM is the Port's log (no /dev/kvm in the
// VM lanes, which run under TCG).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <vector>

#include "ioasid/kvm_vfio.h"
#include "kvm_groups.h"

using ioasid::host::UniqueFd;
using ioasid::preload::KvmGroups;

namespace {

struct FakePort final : KvmGroups::Port {
    // device fd -> the real file the daemon hands for it (-1: none, an
    // emulated device); every answer is a fresh duplicate, as the daemon's.
    std::map<int, int> real;
    int refuse = 0;  // KVM's answer to FILE_ADD
    struct Call {
        int kvm;
        uint64_t attr;
        int file;
    };
    std::vector<Call> calls;
    std::vector<int> added_files;  // what KVM holds, as the files' fds passed

    int real_file(int device_fd, UniqueFd& out) override {
        auto it = real.find(device_fd);
        if (it == real.end()) return -EBADF;
        if (it->second >= 0) out.reset(fcntl(it->second, F_DUPFD_CLOEXEC, 0));
        return 0;
    }
    int kvm_file(int kvm_fd, uint64_t attr, int file) override {
        calls.push_back({kvm_fd, attr, file});
        return attr == KVM_DEV_VFIO_FILE_ADD ? refuse : 0;
    }
};

struct Pipe {
    int fds[2];
    Pipe() { REQUIRE(pipe(fds) == 0); }
    ~Pipe() {
        close(fds[0]);
        close(fds[1]);
    }
};

}  // namespace

TEST_CASE("KVM gets a forwarded device's real file once its group gave the device", "[preload]") {
    FakePort port;
    KvmGroups kvm(port);
    Pipe group_file, other_group;
    REQUIRE(kvm.group_added(50, 7) == 0);
    CHECK(kvm.group_added(50, 7) == -EEXIST);  // kvm_vfio_file_add()'s answer
    CHECK(port.calls.empty());                 // nothing real exists yet
    // Two devices of one legacy group share its real file: added once.
    port.real = {{20, group_file.fds[0]}, {21, group_file.fds[0]}, {22, -1}};
    kvm.device_opened(7, 20);
    kvm.device_opened(7, 21);
    kvm.device_opened(7, 22);  // emulated: nothing for KVM
    REQUIRE(port.calls.size() == 1);
    CHECK(port.calls[0].kvm == 50);
    CHECK(port.calls[0].attr == KVM_DEV_VFIO_FILE_ADD);
    CHECK(kvm.files_held() == 1);
    // A device of a group not added to KVM adds nothing.
    port.real[30] = other_group.fds[0];
    kvm.device_opened(8, 30);
    CHECK(port.calls.size() == 1);
    // GROUP_DEL names the held file to KVM again, then lets it go.
    const int held = port.calls[0].file;
    REQUIRE(kvm.group_deleted(50, 7) == 0);
    REQUIRE(port.calls.size() == 2);
    CHECK(port.calls[1].attr == KVM_DEV_VFIO_FILE_DEL);
    CHECK(port.calls[1].file == held);
    CHECK(kvm.files_held() == 0);
    CHECK(kvm.group_deleted(50, 7) == -ENOENT);  // kvm_vfio_file_del()'s
}

TEST_CASE("KVM's refusal or no daemon leaves nothing held; a closed group forgets", "[preload]") {
    FakePort port;
    KvmGroups kvm(port);
    Pipe a, b;
    port.real = {{20, a.fds[0]}, {21, b.fds[0]}};
    REQUIRE(kvm.group_added(50, 7) == 0);
    REQUIRE(kvm.group_added(51, 7) == 0);  // two VMs' KVMs, one group
    port.refuse = -EINVAL;
    kvm.device_opened(7, 20);
    CHECK(kvm.files_held() == 0);
    port.refuse = 0;
    kvm.device_opened(7, 21);  // cdev files: one per device, in both KVMs
    CHECK(kvm.files_held() == 2);
    kvm.device_opened(7, 99);  // the channel refused (EBADF): nothing
    CHECK(kvm.files_held() == 2);
    kvm.group_closed(7);
    CHECK(kvm.files_held() == 0);
    CHECK(kvm.group_deleted(50, 7) == -ENOENT);
    CHECK(kvm.group_added(50, 7) == 0);  // the number may be a group again
}
