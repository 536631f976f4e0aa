/* SPDX-License-Identifier: MIT */
/*
 * The one piece of the KVM ABI the preload library acts on: the kvm-vfio
 * pseudo device's file attribute, through which a VMM tells KVM which VFIO
 * files belong to a VM (KVM_DEV_VFIO_FILE was KVM_DEV_VFIO_GROUP, same
 * numbers). Written from the documented ABI; pinned by
 * tests/unit/test_uapi.cpp. Upstream names; <linux/kvm.h> wins if first.
 */
#ifndef IOASID_UAPI_KVM_VFIO_H
#define IOASID_UAPI_KVM_VFIO_H

#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef __LINUX_KVM_H
#define KVMIO 0xAE

struct kvm_device_attr {
    __u32 flags; /* no flags currently defined */
    __u32 group; /* device-defined */
    __u64 attr;  /* group-defined */
    __u64 addr;  /* userspace address of attr data */
};

#define KVM_SET_DEVICE_ATTR _IOW(KVMIO, 0xe1, struct kvm_device_attr)

#define KVM_DEV_VFIO_FILE 1
#define KVM_DEV_VFIO_FILE_ADD 1
#define KVM_DEV_VFIO_FILE_DEL 2
#endif

#endif /* IOASID_UAPI_KVM_VFIO_H */
