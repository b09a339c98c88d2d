//! Planning a submission to the Asahi Linux `ane` DRM accel driver (eiln/ane "ABI v1",
//! reference/hwx-td.md §8).
//!
//! **Nothing here talks to a device.** This module turns a parsed `.anec` header into the list
//! of buffer objects, BAR slots and SUBMIT fields that libane would use (§8.3), and checks the
//! conditions under which the kernel returns EINVAL (§8.2), so a plan can be reviewed and tested
//! on any OS. The ioctl structures themselves are in [`uapi`], compiled on Linux only. The
//! driver interface is [source]-level knowledge (read in eiln/ane, not run): unverified on
//! hardware.

use crate::anec::{
    AnecHeader, SLOT_COMMAND, SLOT_COUNT, SLOT_INTERMEDIATE, SLOT_WEIGHTS, SlotKind, TILE_BYTES,
};
use anekit_core::align_up;
use serde::Serialize;

#[cfg(target_os = "linux")]
pub mod uapi;

/// `ANE_FIFO_NID`: the network ID libane writes into the bootstrap TD (word 0 bits [23:16]).
pub const ANE_FIFO_NID: u8 = 0x40;
/// `ANE_CMD_GRAN`: the weights start at BAR0 + round_up(tsk_size, 16).
pub const ANE_CMD_GRAN: u64 = 0x10;

/// Why a header cannot be submitted (mirrors the driver's EINVAL checks, §8.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{field} is 0; the driver rejects the submission (EINVAL)")]
    Zero { field: &'static str },
    #[error("tiles[1] = {0}: slot 1 must be empty, the driver fills it with the weights address")]
    WeightsSlotSet(u32),
    #[error(
        "tsk_size {tsk_size:#x} must be smaller than the command buffer ({bytes:#x} bytes in slot 0)"
    )]
    CommandBufferTooSmall { tsk_size: u64, bytes: u64 },
    #[error("payload of {size:#x} bytes does not fit the command buffer of {bytes:#x} bytes")]
    PayloadTooLarge { size: u64, bytes: u64 },
    #[error("td_size {td_size:#x} exceeds tsk_size {tsk_size:#x}")]
    TdLargerThanTask { td_size: u32, tsk_size: u64 },
    #[error("the bootstrap TD needs {needed:#x} payload bytes, only {available:#x} available")]
    PayloadTooShort { needed: u64, available: u64 },
    #[error("{what} {value:#x} overflows")]
    Overflow { what: &'static str, value: u64 },
}

/// What goes into a planned buffer before SUBMIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Contents {
    /// The whole `.anec` payload (microcode + weights).
    Payload,
    /// Caller-provided input tensor data (tiled: rows and planes padded).
    InputTensor,
    /// Filled by the ANE; read back after SUBMIT.
    OutputTensor,
    /// Scratch for intermediates.
    Scratch,
    /// A copy of the first TD with its network ID set to [`ANE_FIFO_NID`].
    BootstrapTd,
}

/// One buffer object to create with BO_INIT (size rounded up to 16 KiB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedBuffer {
    /// BAR slot whose handle it becomes; `None` for the bootstrap buffer (passed separately).
    pub slot: Option<u8>,
    pub kind: SlotKind,
    pub contents: Contents,
    /// Size passed to BO_INIT.
    pub bytes: u64,
    /// N, C, H, W, plane stride, row stride for tensors.
    pub nchw: Option<[u64; 6]>,
}

/// The scalar SUBMIT fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SubmitFields {
    pub tsk_size: u64,
    pub td_count: u32,
    pub td_size: u32,
}

/// A reviewed submission: the buffers to allocate and fill, and the SUBMIT fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmissionPlan {
    /// One buffer per used BAR slot, in slot order.
    pub buffers: Vec<PlannedBuffer>,
    /// The bootstrap buffer (`btsp_handle`).
    pub bootstrap: PlannedBuffer,
    pub submit: SubmitFields,
    /// Offset from BAR0 where the kernel points BAR1 (the weights).
    pub weights_offset: u64,
}

impl SubmissionPlan {
    /// The buffer planned for BAR slot `slot`.
    pub fn slot(&self, slot: u8) -> Option<&PlannedBuffer> {
        self.buffers.iter().find(|b| b.slot == Some(slot))
    }
}

/// Plan the buffers and SUBMIT fields libane would use for `header` (§8.3 steps 2–7).
pub fn plan_submission(header: &AnecHeader) -> Result<SubmissionPlan, PlanError> {
    for (field, zero) in [
        ("tsk_size", header.tsk_size == 0),
        ("td_count", header.td_count == 0),
        ("td_size", header.td_size == 0),
        ("tiles[0] (command buffer)", header.tiles[SLOT_COMMAND] == 0),
    ] {
        if zero {
            return Err(PlanError::Zero { field });
        }
    }
    if header.tiles[SLOT_WEIGHTS] != 0 {
        return Err(PlanError::WeightsSlotSet(header.tiles[SLOT_WEIGHTS]));
    }
    let cmd_bytes = u64::from(header.tiles[SLOT_COMMAND]) * TILE_BYTES;
    if header.tsk_size >= cmd_bytes {
        return Err(PlanError::CommandBufferTooSmall {
            tsk_size: header.tsk_size,
            bytes: cmd_bytes,
        });
    }
    if header.size > cmd_bytes {
        return Err(PlanError::PayloadTooLarge {
            size: header.size,
            bytes: cmd_bytes,
        });
    }
    if u64::from(header.td_size) > header.tsk_size {
        return Err(PlanError::TdLargerThanTask {
            td_size: header.td_size,
            tsk_size: header.tsk_size,
        });
    }
    let mut buffers = Vec::new();
    for used in header.used_slots() {
        let contents = match used.kind {
            SlotKind::Command => Contents::Payload,
            SlotKind::Input => Contents::InputTensor,
            SlotKind::Output => Contents::OutputTensor,
            _ => Contents::Scratch,
        };
        let is_tensor = matches!(used.kind, SlotKind::Input | SlotKind::Output);
        buffers.push(PlannedBuffer {
            slot: Some(used.slot),
            kind: if usize::from(used.slot) == SLOT_INTERMEDIATE {
                SlotKind::Intermediate
            } else {
                used.kind
            },
            contents,
            bytes: used.bytes,
            nchw: is_tensor.then_some(used.nchw),
        });
    }
    let bootstrap_bytes =
        align_up(u64::from(header.td_size), TILE_BYTES).ok_or(PlanError::Overflow {
            what: "td_size",
            value: u64::from(header.td_size),
        })?;
    let weights_offset = align_up(header.tsk_size, ANE_CMD_GRAN).ok_or(PlanError::Overflow {
        what: "tsk_size",
        value: header.tsk_size,
    })?;
    Ok(SubmissionPlan {
        buffers,
        bootstrap: PlannedBuffer {
            slot: None,
            kind: SlotKind::Command,
            contents: Contents::BootstrapTd,
            bytes: bootstrap_bytes,
            nchw: None,
        },
        submit: SubmitFields {
            tsk_size: header.tsk_size,
            td_count: header.td_count,
            td_size: header.td_size,
        },
        weights_offset,
    })
}

/// The bootstrap buffer's first bytes: the first `td_size` bytes of the payload with the TD
/// network ID (word 0 bits [23:16]) set to [`ANE_FIFO_NID`], as libane does (§8.3 step 5).
pub fn bootstrap_td(payload: &[u8], td_size: u32) -> Result<Vec<u8>, PlanError> {
    let needed = u64::from(td_size).max(4);
    let mut td = payload
        .get(..usize::try_from(needed).unwrap_or(usize::MAX))
        .ok_or(PlanError::PayloadTooShort {
            needed,
            available: payload.len() as u64,
        })?
        .to_vec();
    let mut word0 = [0u8; 4];
    word0.copy_from_slice(td.get(..4).unwrap_or(&[0; 4]));
    let patched = (u32::from_le_bytes(word0) & !0x00FF_0000) | (u32::from(ANE_FIFO_NID) << 16);
    if let Some(dst) = td.get_mut(..4) {
        dst.copy_from_slice(&patched.to_le_bytes());
    }
    Ok(td)
}

/// Number of BAR slots (`ANE_TILE_COUNT`), re-exported for the plan's users.
pub const BAR_SLOTS: usize = SLOT_COUNT;

#[cfg(test)]
mod tests {
    use super::*;

    fn concat_header() -> AnecHeader {
        // The concat row of reference/hwx-td.md §7.3.
        let mut tiles = [0u32; SLOT_COUNT];
        tiles[0] = 2;
        tiles[4] = 65;
        tiles[5] = 1;
        tiles[6] = 64;
        let mut nchw = [[0u64; 6]; SLOT_COUNT];
        nchw[4] = [1, 16400, 1, 1, 0x40, 0x40];
        nchw[5] = [1, 16, 1, 1, 0x40, 0x40];
        nchw[6] = [1, 16384, 1, 1, 0x40, 0x40];
        AnecHeader {
            size: 0x4580,
            td_size: 0x274,
            td_count: 2,
            tsk_size: 0x574,
            krn_size: 0x4000,
            src_count: 2,
            dst_count: 1,
            tiles,
            nchw,
        }
    }

    #[test]
    fn concat_plan() {
        let plan = plan_submission(&concat_header()).unwrap();
        let slots: Vec<_> = plan
            .buffers
            .iter()
            .map(|b| (b.slot, b.contents, b.bytes))
            .collect();
        assert_eq!(
            slots,
            vec![
                (Some(0), Contents::Payload, 0x8000),
                (Some(4), Contents::OutputTensor, 65 * 0x4000),
                (Some(5), Contents::InputTensor, 0x4000),
                (Some(6), Contents::InputTensor, 64 * 0x4000),
            ]
        );
        assert_eq!(plan.bootstrap.bytes, 0x4000);
        assert_eq!(plan.weights_offset, 0x580);
        assert_eq!(
            plan.submit,
            SubmitFields {
                tsk_size: 0x574,
                td_count: 2,
                td_size: 0x274
            }
        );
        assert_eq!(
            plan.slot(5).and_then(|b| b.nchw),
            Some([1, 16, 1, 1, 0x40, 0x40])
        );
    }

    #[test]
    fn driver_einval_conditions() {
        let mut h = concat_header();
        h.tiles[1] = 1;
        assert_eq!(plan_submission(&h), Err(PlanError::WeightsSlotSet(1)));
        let mut h = concat_header();
        h.td_count = 0;
        assert_eq!(
            plan_submission(&h),
            Err(PlanError::Zero { field: "td_count" })
        );
        let mut h = concat_header();
        h.tiles[0] = 0;
        assert!(matches!(plan_submission(&h), Err(PlanError::Zero { .. })));
        let mut h = concat_header();
        h.tsk_size = 0x8000;
        assert!(matches!(
            plan_submission(&h),
            Err(PlanError::CommandBufferTooSmall { .. })
        ));
    }

    #[test]
    fn bootstrap_sets_nid_only() {
        // concat TD1 header word 0 = 0x03000001 (TID 1, LNID 1, EON 1), §2.1.
        let mut payload = vec![0u8; 0x300];
        payload[..4].copy_from_slice(&0x0300_0001u32.to_le_bytes());
        payload[4] = 0xAB;
        let td = bootstrap_td(&payload, 0x274).unwrap();
        assert_eq!(td.len(), 0x274);
        assert_eq!(&td[..4], &0x0340_0001u32.to_le_bytes());
        assert_eq!(td[4], 0xAB);
        assert!(bootstrap_td(&payload[..0x100], 0x274).is_err());
    }
}
