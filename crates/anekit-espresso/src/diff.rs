//! Comparing two Espresso nets, typically the CPU- and ANE-compiled variants of one model
//! (reference/espresso.md §2.6 lists what is said to differ; those claims are unverified, so
//! this reports what differs without assuming which side is which).

use crate::bundle::resolve;
use crate::net::{EspressoNet, Layer};
use crate::weights::WeightsTable;
use serde::Serialize;

/// Per-type layer counts of both nets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeCount {
    #[serde(rename = "type")]
    pub type_name: String,
    pub a: usize,
    pub b: usize,
}

/// A layer present in both nets (same name) whose content differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedLayer {
    pub name: String,
    pub type_a: String,
    pub type_b: String,
    /// Keys whose values differ or that only one side has, in A's key order then B's.
    pub keys: Vec<String>,
}

/// A layer of A absent from B, replaced by B layers named after it (`<name>_…`, `<name>/…`,
/// `<name>.…`, `<name>__…`): the usual shape of an op the ANE compiler decomposed. This is a
/// naming heuristic, reported as such.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decomposed {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    /// (name, type) of the B layers.
    pub into: Vec<(String, String)>,
}

/// A difference in one of the fields said to mark ANE nets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub layer: String,
    pub field: &'static str,
    pub a: Option<i64>,
    pub b: Option<i64>,
}

/// Weight bytes referenced by one layer on each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeightChange {
    pub layer: String,
    pub a_bytes: u64,
    pub b_bytes: u64,
}

/// Everything `ane espresso diff` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetDiff {
    pub layers_a: usize,
    pub layers_b: usize,
    pub types: Vec<TypeCount>,
    /// Layer names only in B (besides those listed under `decomposed`).
    pub added: Vec<(String, String)>,
    /// Layer names only in A (besides those listed under `decomposed`).
    pub removed: Vec<(String, String)>,
    pub changed: Vec<ChangedLayer>,
    pub decomposed: Vec<Decomposed>,
    /// `is_lookup` / `quantization_mode` differences on layers of the same name.
    pub field_changes: Vec<FieldChange>,
    /// Total blob bytes of each weights file (when loaded).
    pub weights_total_a: Option<u64>,
    pub weights_total_b: Option<u64>,
    /// Layers of the same name whose referenced weight bytes differ.
    pub weight_changes: Vec<WeightChange>,
}

impl NetDiff {
    /// True when nothing differs.
    pub fn is_empty(&self) -> bool {
        self.layers_a == self.layers_b
            && self.types.iter().all(|t| t.a == t.b)
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.decomposed.is_empty()
            && self.field_changes.is_empty()
            && self.weights_total_a == self.weights_total_b
            && self.weight_changes.is_empty()
    }
}

/// Layers pair up by name and occurrence: the k-th layer named X in one net with the k-th
/// layer named X in the other (names are not guaranteed unique).
fn occurrences(net: &EspressoNet) -> Vec<usize> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    net.layers
        .iter()
        .map(|l| {
            let n = seen.entry(l.name.as_str()).or_insert(0);
            *n += 1;
            *n - 1
        })
        .collect()
}

fn counterpart<'a>(net: &'a EspressoNet, name: &str, occurrence: usize) -> Option<&'a Layer> {
    net.layers.iter().filter(|l| l.name == name).nth(occurrence)
}

fn is_part_of(candidate: &str, base: &str) -> bool {
    candidate.strip_prefix(base).is_some_and(|rest| {
        ["_", "/", ".", "__", "-", ":"]
            .iter()
            .any(|sep| rest.starts_with(sep))
    })
}

fn layer_weight_bytes(net: &EspressoNet, table: Option<&WeightsTable>) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for r in resolve(net, table) {
        let size = r.size.unwrap_or(0);
        match out.iter_mut().find(|(n, _)| *n == r.layer) {
            Some((_, total)) => *total += size,
            None => out.push((r.layer, size)),
        }
    }
    out
}

/// Compare net `a` with net `b` (weights tables optional).
pub fn diff(
    a: &EspressoNet,
    wa: Option<&WeightsTable>,
    b: &EspressoNet,
    wb: Option<&WeightsTable>,
) -> NetDiff {
    let mut types: Vec<TypeCount> = Vec::new();
    for (t, n) in a.type_counts() {
        types.push(TypeCount {
            type_name: t,
            a: n,
            b: 0,
        });
    }
    for (t, n) in b.type_counts() {
        match types.iter_mut().find(|c| c.type_name == t) {
            Some(c) => c.b = n,
            None => types.push(TypeCount {
                type_name: t,
                a: 0,
                b: n,
            }),
        }
    }

    let (occ_a, occ_b) = (occurrences(a), occurrences(b));
    let paired_a: Vec<Option<&Layer>> = a
        .layers
        .iter()
        .zip(&occ_a)
        .map(|(l, &k)| counterpart(b, &l.name, k))
        .collect();
    let unpaired_b: Vec<usize> = b
        .layers
        .iter()
        .zip(&occ_b)
        .enumerate()
        .filter(|(_, (l, k))| counterpart(a, &l.name, **k).is_none())
        .map(|(i, _)| i)
        .collect();

    let mut decomposed = Vec::new();
    let mut removed = Vec::new();
    let mut claimed: Vec<usize> = Vec::new();
    for (la, pair) in a.layers.iter().zip(&paired_a) {
        if pair.is_some() {
            continue;
        }
        let parts: Vec<usize> = unpaired_b
            .iter()
            .copied()
            .filter(|&i| {
                b.layers
                    .get(i)
                    .is_some_and(|lb| is_part_of(&lb.name, &la.name))
            })
            .collect();
        if parts.is_empty() {
            removed.push((la.name.clone(), la.type_name.clone()));
        } else {
            claimed.extend(&parts);
            decomposed.push(Decomposed {
                name: la.name.clone(),
                type_name: la.type_name.clone(),
                into: parts
                    .iter()
                    .filter_map(|&i| b.layers.get(i))
                    .map(|lb| (lb.name.clone(), lb.type_name.clone()))
                    .collect(),
            });
        }
    }
    let added = unpaired_b
        .iter()
        .filter(|i| !claimed.contains(i))
        .filter_map(|&i| b.layers.get(i))
        .map(|lb| (lb.name.clone(), lb.type_name.clone()))
        .collect();

    let mut changed = Vec::new();
    let mut field_changes = Vec::new();
    for (la, pair) in a.layers.iter().zip(&paired_a) {
        let Some(lb) = pair else {
            continue;
        };
        let mut keys: Vec<String> = Vec::new();
        for (k, v) in &la.raw {
            if lb.raw.get(k) != Some(v) {
                keys.push(k.clone());
            }
        }
        for k in lb.raw.keys() {
            if !la.raw.contains_key(k) {
                keys.push(k.clone());
            }
        }
        if !keys.is_empty() {
            changed.push(ChangedLayer {
                name: la.name.clone(),
                type_a: la.type_name.clone(),
                type_b: lb.type_name.clone(),
                keys,
            });
        }
        let (ia, ib) = (la.is_lookup().map(i64::from), lb.is_lookup().map(i64::from));
        if ia != ib {
            field_changes.push(FieldChange {
                layer: la.name.clone(),
                field: "is_lookup",
                a: ia,
                b: ib,
            });
        }
        let (qa, qb) = (la.quantization_mode(), lb.quantization_mode());
        if qa != qb {
            field_changes.push(FieldChange {
                layer: la.name.clone(),
                field: "quantization_mode",
                a: qa,
                b: qb,
            });
        }
    }

    let bytes_a = layer_weight_bytes(a, wa);
    let bytes_b = layer_weight_bytes(b, wb);
    let weight_changes = bytes_a
        .iter()
        .filter_map(|(name, a_bytes)| {
            let (_, b_bytes) = bytes_b.iter().find(|(n, _)| n == name)?;
            (a_bytes != b_bytes).then(|| WeightChange {
                layer: name.clone(),
                a_bytes: *a_bytes,
                b_bytes: *b_bytes,
            })
        })
        .collect();

    NetDiff {
        layers_a: a.layers.len(),
        layers_b: b.layers.len(),
        types,
        added,
        removed,
        changed,
        decomposed,
        field_changes,
        weights_total_a: wa.map(WeightsTable::total_blob_bytes),
        weights_total_b: wb.map(WeightsTable::total_blob_bytes),
        weight_changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_decomposition_and_ane_fields() {
        let a = EspressoNet::parse_json(
            r#"{"layers":[
              {"name":"emb","type":"inner_product","nB":4,"nC":2},
              {"name":"r","type":"reshape","dst_w":-1},
              {"name":"gone","type":"softmax"}]}"#,
        )
        .unwrap();
        let b = EspressoNet::parse_json(
            r#"{"layers":[
              {"name":"emb","type":"inner_product","nB":4,"nC":2,"is_lookup":1,"quantization_mode":2},
              {"name":"r_conv","type":"convolution"},
              {"name":"r_split","type":"split_nd"},
              {"name":"new","type":"concat"}]}"#,
        )
        .unwrap();
        let d = diff(&a, None, &b, None);
        assert_eq!((d.layers_a, d.layers_b), (3, 4));
        assert_eq!(d.removed, vec![("gone".into(), "softmax".into())]);
        assert_eq!(d.added, vec![("new".into(), "concat".into())]);
        assert_eq!(d.decomposed.len(), 1);
        assert_eq!(d.decomposed[0].name, "r");
        assert_eq!(
            d.decomposed[0].into,
            vec![
                ("r_conv".into(), "convolution".into()),
                ("r_split".into(), "split_nd".into())
            ]
        );
        assert_eq!(d.changed[0].keys, vec!["is_lookup", "quantization_mode"]);
        assert_eq!(
            d.field_changes,
            vec![
                FieldChange {
                    layer: "emb".into(),
                    field: "is_lookup",
                    a: None,
                    b: Some(1)
                },
                FieldChange {
                    layer: "emb".into(),
                    field: "quantization_mode",
                    a: None,
                    b: Some(2)
                },
            ]
        );
        assert!(!d.is_empty());
        assert!(diff(&a, None, &a, None).is_empty());
    }

    #[test]
    fn duplicate_layer_names_pair_by_occurrence() {
        // Found by the espresso_json fuzz target: a net with two layers named "act" differed
        // from itself.
        let a = EspressoNet::parse_json(
            r#"{"layers":[{"name":"act","type":"activation","mode":0},
                          {"name":"act","type":"activation","mode":3}]}"#,
        )
        .unwrap();
        assert!(diff(&a, None, &a, None).is_empty());
        let b =
            EspressoNet::parse_json(r#"{"layers":[{"name":"act","type":"activation","mode":0}]}"#)
                .unwrap();
        let d = diff(&a, None, &b, None);
        assert_eq!(
            d.removed,
            vec![("act".to_string(), "activation".to_string())]
        );
        assert!(d.changed.is_empty());
    }
}
