//! Where Core ML plans to run each operation: the portable half of the `coreml` backend's
//! `MLComputePlan` report (macOS 14.4+, private-api.md §15). The macOS module walks the plan
//! and hands the class names of the devices here; naming and counting happen in this file,
//! so they are tested on any OS.

use serde::Serialize;
use std::collections::BTreeMap;

/// The device name used for an op whose usage Core ML could not determine.
pub const UNDETERMINED: &str = "undetermined";

/// One ML Program operation and the devices Core ML reports for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpPlacement {
    pub function: String,
    /// The MIL operator (`conv`, `relu`, ...).
    pub operator: String,
    /// The op's first output name, which identifies it in the MIL text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// `neural_engine`, `gpu`, `cpu` (or an unknown device's class name); `None` when Core ML
    /// returned no usage for the op.
    pub preferred: Option<String>,
    /// Every device that could run it, in Core ML's order.
    pub supported: Vec<String>,
}

/// The compute plan report of a loaded Core ML model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ComputePlan {
    /// The OS does not offer `MLComputePlan`, the model is not an ML Program, or building the
    /// plan failed: the reason.
    Unavailable { reason: String },
    /// The per-op placement and the number of ops per preferred device.
    Available {
        devices: BTreeMap<String, usize>,
        ops: Vec<OpPlacement>,
    },
}

impl ComputePlan {
    /// A report from the walked operations (the counts are derived here).
    pub fn from_ops(ops: Vec<OpPlacement>) -> ComputePlan {
        let mut devices = BTreeMap::new();
        for op in &ops {
            let device = op.preferred.as_deref().unwrap_or(UNDETERMINED);
            *devices.entry(device.to_string()).or_insert(0) += 1;
        }
        ComputePlan::Available { devices, ops }
    }

    /// One line for human output: `neural_engine 12, cpu 2` or `unavailable (reason)`.
    pub fn summary(&self) -> String {
        match self {
            ComputePlan::Unavailable { reason } => format!("unavailable ({reason})"),
            ComputePlan::Available { devices, ops } if ops.is_empty() || devices.is_empty() => {
                "no operations reported".into()
            }
            ComputePlan::Available { devices, .. } => {
                // Most ops first; ties by name (the map's order).
                let mut counts: Vec<(&String, &usize)> = devices.iter().collect();
                counts.sort_by(|a, b| b.1.cmp(a.1));
                counts
                    .iter()
                    .map(|(name, n)| format!("{name} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
    }
}

/// The device name for the class of an `MLComputeDeviceProtocol` object.
pub fn device_name(class_name: &str) -> String {
    match class_name {
        "MLNeuralEngineComputeDevice" => "neural_engine".into(),
        "MLGPUComputeDevice" => "gpu".into(),
        "MLCPUComputeDevice" => "cpu".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(operator: &str, preferred: Option<&str>) -> OpPlacement {
        OpPlacement {
            function: "main".into(),
            operator: operator.into(),
            output: Some(format!("{operator}_0")),
            preferred: preferred.map(device_name),
            supported: vec![device_name("MLCPUComputeDevice")],
        }
    }

    #[test]
    fn device_classes_get_short_names_and_unknown_ones_keep_theirs() {
        assert_eq!(device_name("MLNeuralEngineComputeDevice"), "neural_engine");
        assert_eq!(device_name("MLGPUComputeDevice"), "gpu");
        assert_eq!(device_name("MLCPUComputeDevice"), "cpu");
        assert_eq!(device_name("MLFutureDevice"), "MLFutureDevice");
    }

    #[test]
    fn ops_are_counted_per_preferred_device() {
        let plan = ComputePlan::from_ops(vec![
            op("conv", Some("MLNeuralEngineComputeDevice")),
            op("relu", Some("MLNeuralEngineComputeDevice")),
            op("softmax", Some("MLCPUComputeDevice")),
            op("gather", None),
        ]);
        let ComputePlan::Available { devices, .. } = &plan else {
            panic!("{plan:?}");
        };
        assert_eq!(
            devices.iter().collect::<Vec<_>>(),
            vec![
                (&"cpu".to_string(), &1),
                (&"neural_engine".to_string(), &2),
                (&"undetermined".to_string(), &1)
            ]
        );
        assert_eq!(plan.summary(), "neural_engine 2, cpu 1, undetermined 1");
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["status"], "available");
        assert_eq!(json["devices"]["neural_engine"], 2);
        assert_eq!(
            json["ops"][0],
            serde_json::json!({"function": "main", "operator": "conv", "output": "conv_0",
                "preferred": "neural_engine", "supported": ["cpu"]})
        );
        assert_eq!(json["ops"][3]["preferred"], serde_json::Value::Null);
    }

    #[test]
    fn unavailable_and_empty_plans_say_so() {
        let plan = ComputePlan::Unavailable {
            reason: "MLComputePlan needs macOS 14.4".into(),
        };
        assert_eq!(
            plan.summary(),
            "unavailable (MLComputePlan needs macOS 14.4)"
        );
        assert_eq!(
            serde_json::to_value(&plan).unwrap(),
            serde_json::json!({"status": "unavailable", "reason": "MLComputePlan needs macOS 14.4"})
        );
        assert_eq!(
            ComputePlan::from_ops(Vec::new()).summary(),
            "no operations reported"
        );
    }
}
