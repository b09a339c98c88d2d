//! Entitlements, boot-args and the internal-build checks that gate them (knowledge-base.md
//! §9–§11, private-api.md §16–§17).

use crate::evidence::Evidence;
use serde::Serialize;

/// One entitlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Entitlement {
    pub name: &'static str,
    pub purpose: &'static str,
    pub required_for: &'static str,
    /// In mdaiter's `xpc.py` `REQUIRED_ENTITLEMENTS`.
    pub in_mdaiter_required: bool,
    /// In mdaiter's `device.py` `ENTITLEMENTS` (9 entries).
    pub in_mdaiter_device_list: bool,
    pub evidence: Evidence,
    pub source: &'static str,
}

const MDAITER: &str = "mdaiter/ane (knowledge-base.md §9, private-api.md §16)";

const fn allow(
    name: &'static str,
    purpose: &'static str,
    required_for: &'static str,
) -> Entitlement {
    Entitlement {
        name,
        purpose,
        required_for,
        in_mdaiter_required: false,
        in_mdaiter_device_list: true,
        evidence: Evidence::Unverified,
        source: "mdaiter/ane device.py ENTITLEMENTS (knowledge-base.md §9)",
    }
}

pub static ENTITLEMENTS: &[Entitlement] = &[
    Entitlement {
        name: "com.apple.ane.iokit-user-access",
        purpose: "basic IOKit access to AppleH11ANEInterface (the user client)",
        required_for: "any direct IOKit use",
        in_mdaiter_required: false,
        in_mdaiter_device_list: false,
        evidence: Evidence::Source,
        source: "tinygrad 3_run/entitlements.xml; mdaiter/ane README and helper",
    },
    Entitlement {
        name: "com.apple.private.ane-client",
        purpose: "ANE client operations",
        required_for: "compile, load, evaluate",
        in_mdaiter_required: true,
        in_mdaiter_device_list: false,
        evidence: Evidence::Unverified,
        source: "mdaiter/ane REQUIRED_ENTITLEMENTS and helper (listed [source], effect [unverified])",
    },
    Entitlement {
        name: "com.apple.aned.internal",
        purpose: "full daemon access",
        required_for: "internal diagnostics",
        in_mdaiter_required: true,
        in_mdaiter_device_list: false,
        evidence: Evidence::Unverified,
        source: MDAITER,
    },
    Entitlement {
        name: "com.apple.developer.kernel.extended-virtual-addressing",
        purpose: "large address space",
        required_for: "models > 4 GB",
        in_mdaiter_required: true,
        in_mdaiter_device_list: false,
        evidence: Evidence::Unverified,
        source: MDAITER,
    },
    allow(
        "com.apple.aned.private.allow",
        "primary ANE access; returned by _ANEDeviceInfo restrictedAccessEntitlement",
        "compile, load, evaluate",
    ),
    allow(
        "com.apple.aned.private.adapterWeight.allow",
        "adapter weights access; _ANEDeviceInfo adapterWeightsAccessEntitlement",
        "custom weight loading",
    ),
    allow(
        "com.apple.aned.private.aggressivePowerSaving.allow",
        "power-saving modes",
        "low-power inference",
    ),
    allow(
        "com.apple.ANECompilerService.allow",
        "compiler service access",
        "model compilation",
    ),
    allow(
        "com.apple.aned.private.processModelShare.allow",
        "cross-process model sharing",
        "shared inference",
    ),
    allow(
        "com.apple.ane.memoryUnwiringOptOutAccess.allow",
        "memory unwiring control",
        "large-model persistence",
    ),
    allow(
        "com.apple.private.modelPurgeInAllPartitions.allow",
        "model cache purging",
        "cache management",
    ),
    allow(
        "com.apple.aned.private.secondaryANECompilerServiceAccess.allow",
        "secondary compiler",
        "parallel compilation",
    ),
    allow(
        "com.apple.private.ANEStorageMaintainer.allow",
        "storage maintenance",
        "cache cleanup",
    ),
];

/// One boot-arg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BootArg {
    pub name: &'static str,
    pub purpose: &'static str,
    pub effect: &'static str,
    /// Takes effect only when `_ANEDeviceInfo isInternalBuild` is true.
    pub internal_build_only: bool,
    pub evidence: Evidence,
    pub source: &'static str,
}

const fn ane_arg(name: &'static str, purpose: &'static str, effect: &'static str) -> BootArg {
    BootArg {
        name,
        purpose,
        effect,
        internal_build_only: true,
        evidence: Evidence::Unverified,
        source: "mdaiter/ane (knowledge-base.md §10, private-api.md §17)",
    }
}

pub static BOOT_ARGS: &[BootArg] = &[
    ane_arg(
        "ane_skipAdapterWeightAccessCheck",
        "bypass adapter-weight entitlement",
        "skip the com.apple.aned.private.adapterWeight.allow check (_ANEDeviceInfo adapterWeightsAccessEntitlementBypassBootArg)",
    ),
    ane_arg(
        "ane_vm_allowPrecompiledBinary",
        "allow precompiled binaries",
        "skip binary validation in a VM",
    ),
    ane_arg(
        "ane_vm_debugDumpBootArg",
        "debug dumps",
        "dump ANE state on errors",
    ),
    ane_arg(
        "ane_vm_forceValidationOnGuest",
        "force validation in a VM",
        "extra validation for VM guests",
    ),
    BootArg {
        name: "amfi_get_out_of_my_way",
        purpose: "(AMFI) disable code-signing enforcement",
        effect: "the reboot alternative to patching amfid",
        internal_build_only: false,
        evidence: Evidence::Source,
        source: "tinygrad extra/accel/ane (knowledge-base.md §10)",
    },
];

/// One check behind `_ANEDeviceInfo isInternalBuild`. [unverified]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InternalBuildCheck {
    pub check: &'static str,
    /// What it returns on consumer macOS.
    pub consumer_macos: bool,
}

impl InternalBuildCheck {
    pub const EVIDENCE: Evidence = Evidence::Unverified;
    pub const SOURCE: &'static str = "mdaiter/ane (knowledge-base.md §11, private-api.md §17)";
}

pub static INTERNAL_BUILD_CHECKS: &[InternalBuildCheck] = &[
    InternalBuildCheck {
        check: "/AppleInternal directory exists",
        consumer_macos: false,
    },
    InternalBuildCheck {
        check: "os_variant_has_internal_content(\"com.apple.aned\")",
        consumer_macos: false,
    },
    InternalBuildCheck {
        check: "os_variant_allows_internal_security_policies(\"com.apple.aned\")",
        consumer_macos: false,
    },
];
