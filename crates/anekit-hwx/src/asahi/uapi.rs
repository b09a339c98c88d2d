//! The `ane` DRM accel uapi (eiln/ane HEAD 0dcea99, `include/uapi/drm/ane_accel.h`), as typed
//! `#[repr(C)]` structs with compile-time size checks (reference/hwx-td.md §8.2) [source].
//!
//! Definitions only: anekit issues no ioctls. The request numbers are computed with the generic
//! Linux `_IOWR` encoding from the struct sizes (the same on arm64 and x86-64).

use super::SubmissionPlan;
use crate::anec::SLOT_COUNT;

/// `DRM_COMMAND_BASE`: driver-private ioctls start here.
pub const DRM_COMMAND_BASE: u8 = 0x40;
/// The DRM ioctl type character.
pub const DRM_IOCTL_BASE: u8 = b'd';
pub const DRM_ANE_BO_INIT: u8 = 0x01;
pub const DRM_ANE_BO_FREE: u8 = 0x02;
pub const DRM_ANE_SUBMIT: u8 = 0x03;
/// `ANE_TILE_COUNT`: BAR slots per submission.
pub const ANE_TILE_COUNT: usize = 0x20;

/// `struct drm_ane_bo_init` (24 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrmAneBoInit {
    /// Out: GEM handle.
    pub handle: u32,
    /// Must be 0 (EINVAL otherwise).
    pub pad: u32,
    /// In: size in bytes (the kernel rounds up to PAGE_SIZE).
    pub size: u64,
    /// Out: fake offset for `mmap`.
    pub offset: u64,
}

/// `struct drm_ane_bo_free` (8 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrmAneBoFree {
    pub handle: u32,
    pub pad: u32,
}

/// `struct drm_ane_submit` (152 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrmAneSubmit {
    pub tsk_size: u64,
    pub td_count: u32,
    pub td_size: u32,
    /// BO handle per BAR slot; 0 = unused. `handles[1]` must be 0 (the kernel sets slot 1).
    pub handles: [u32; ANE_TILE_COUNT],
    pub btsp_handle: u32,
    pub pad: u32,
}

const _: () = assert!(size_of::<DrmAneBoInit>() == 24);
const _: () = assert!(size_of::<DrmAneBoFree>() == 8);
const _: () = assert!(size_of::<DrmAneSubmit>() == 152);
const _: () = assert!(std::mem::offset_of!(DrmAneSubmit, handles) == 0x10);
const _: () = assert!(std::mem::offset_of!(DrmAneSubmit, btsp_handle) == 0x90);
const _: () = assert!(ANE_TILE_COUNT == SLOT_COUNT);

/// Linux `_IOWR(ty, nr, size)`: direction read|write (3) in bits 31:30, size in 29:16, type in
/// 15:8, number in 7:0.
pub const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    (3 << 30) | (((size as u32) & 0x3FFF) << 16) | ((ty as u32) << 8) | nr as u32
}

pub const DRM_IOCTL_ANE_BO_INIT: u32 = iowr(
    DRM_IOCTL_BASE,
    DRM_COMMAND_BASE + DRM_ANE_BO_INIT,
    size_of::<DrmAneBoInit>(),
);
pub const DRM_IOCTL_ANE_BO_FREE: u32 = iowr(
    DRM_IOCTL_BASE,
    DRM_COMMAND_BASE + DRM_ANE_BO_FREE,
    size_of::<DrmAneBoFree>(),
);
pub const DRM_IOCTL_ANE_SUBMIT: u32 = iowr(
    DRM_IOCTL_BASE,
    DRM_COMMAND_BASE + DRM_ANE_SUBMIT,
    size_of::<DrmAneSubmit>(),
);

/// Why handles do not fit a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    #[error("BAR slot {slot} is planned but has no handle")]
    Missing { slot: u8 },
    #[error("the bootstrap handle is 0")]
    NoBootstrap,
}

impl DrmAneSubmit {
    /// The SUBMIT argument for `plan`, given the GEM handle created for each planned slot
    /// (`handle_of(slot)`) and the bootstrap handle.
    pub fn from_plan(
        plan: &SubmissionPlan,
        handle_of: impl Fn(u8) -> Option<u32>,
        btsp_handle: u32,
    ) -> Result<DrmAneSubmit, HandleError> {
        if btsp_handle == 0 {
            return Err(HandleError::NoBootstrap);
        }
        let mut handles = [0u32; ANE_TILE_COUNT];
        for b in &plan.buffers {
            let Some(slot) = b.slot else { continue };
            let h = handle_of(slot).filter(|&h| h != 0);
            let dst = handles.get_mut(usize::from(slot));
            match (h, dst) {
                (Some(h), Some(dst)) => *dst = h,
                _ => return Err(HandleError::Missing { slot }),
            }
        }
        Ok(DrmAneSubmit {
            tsk_size: plan.submit.tsk_size,
            td_count: plan.submit.td_count,
            td_size: plan.submit.td_size,
            handles,
            btsp_handle,
            pad: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_the_reference() {
        // reference/hwx-td.md §8.2.
        assert_eq!(DRM_IOCTL_ANE_BO_INIT, 0xC018_6441);
        assert_eq!(DRM_IOCTL_ANE_BO_FREE, 0xC008_6442);
        assert_eq!(DRM_IOCTL_ANE_SUBMIT, 0xC098_6443);
    }

    #[test]
    fn submit_from_plan() {
        use crate::anec::AnecHeader;
        let mut tiles = [0u32; SLOT_COUNT];
        tiles[0] = 1;
        tiles[4] = 1;
        tiles[5] = 1;
        let header = AnecHeader {
            size: 0x340,
            td_size: 0x274,
            td_count: 1,
            tsk_size: 0x274,
            krn_size: 0xC0,
            src_count: 1,
            dst_count: 1,
            tiles,
            nchw: [[0; 6]; SLOT_COUNT],
        };
        let plan = super::super::plan_submission(&header).unwrap();
        let s = DrmAneSubmit::from_plan(&plan, |slot| Some(100 + u32::from(slot)), 7).unwrap();
        assert_eq!(s.handles[0], 100);
        assert_eq!(s.handles[1], 0);
        assert_eq!(s.handles[4], 104);
        assert_eq!(s.handles[5], 105);
        assert_eq!(s.btsp_handle, 7);
        assert_eq!((s.tsk_size, s.td_count, s.td_size), (0x274, 1, 0x274));
        assert_eq!(
            DrmAneSubmit::from_plan(&plan, |s| (s != 5).then_some(1), 7),
            Err(HandleError::Missing { slot: 5 })
        );
    }
}
