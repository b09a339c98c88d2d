//! One uniform view over every table, for `ane kb` and tools: list the tables, look an entry
//! up by exact name, search text, export the whole knowledge base as one JSON tree.
//!
//! Every exported entry carries `evidence` and `source`: tables whose rows share one level and
//! one source (the reference tags the whole table) get them filled in here.

use crate::evidence::Evidence;
use crate::{access, bundles, chips, compiler, descriptors, espresso, objc, runtime, xpc, zin};
use serde::Serialize;
use serde_json::{Map, Value};

/// Format name and version of the export document.
pub const EXPORT_FORMAT: &str = "anekit-kb";
pub const EXPORT_VERSION: u32 = 1;

/// One table of the knowledge base.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// Name used on the command line (`descriptors`, `espresso_passes`, ...).
    pub name: &'static str,
    pub title: &'static str,
    /// Where in `../shared/reference/` the table comes from.
    pub reference: &'static str,
    /// The number of rows the reference states, where it states one.
    pub stated_count: Option<usize>,
    pub entries: Vec<Entry>,
}

/// One row of a table, serialised.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub table: &'static str,
    /// Unique within its table; what `ane kb show` matches.
    pub key: String,
    /// Other exact names `ane kb show` accepts (chip aliases, bare selectors).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// One line for tables.
    pub summary: String,
    pub evidence: Evidence,
    /// The typed record as JSON, with `evidence` and `source` always present.
    pub record: Value,
}

/// Where a search text was found.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub table: &'static str,
    pub key: String,
    /// JSON path of the matching field inside the record (`members[1].name`), or `key`.
    pub field: String,
    pub text: String,
    pub evidence: Evidence,
}

fn entries<T: Serialize>(
    table: &'static str,
    items: &[T],
    default_evidence: Evidence,
    default_source: &str,
    key: impl Fn(&T) -> String,
    aliases: impl Fn(&T) -> Vec<String>,
    summary: impl Fn(&T) -> String,
) -> Vec<Entry> {
    items
        .iter()
        .map(|item| {
            let mut record = serde_json::to_value(item).unwrap_or(Value::Null);
            if let Value::Object(obj) = &mut record {
                obj.entry("evidence")
                    .or_insert_with(|| serde_json::to_value(default_evidence).unwrap_or_default());
                obj.entry("source")
                    .or_insert_with(|| Value::String(default_source.to_string()));
            }
            let evidence = record
                .get("evidence")
                .and_then(|e| serde_json::from_value::<EvidenceName>(e.clone()).ok())
                .map_or(default_evidence, |e| e.0);
            Entry {
                table,
                key: key(item),
                aliases: aliases(item),
                summary: summary(item),
                evidence,
                record,
            }
        })
        .collect()
}

/// Parses an evidence tag back from its JSON name.
struct EvidenceName(Evidence);

impl<'de> serde::Deserialize<'de> for EvidenceName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Evidence::ALL
            .into_iter()
            .find(|e| e.tag().trim_matches(['[', ']']) == s)
            .map(EvidenceName)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown evidence level {s}")))
    }
}

fn none<T>(_: &T) -> Vec<String> {
    Vec::new()
}

fn opt(v: Option<&str>) -> &str {
    v.unwrap_or("—")
}

fn chip_summary(c: &chips::Chip) -> String {
    let generation = match (c.generation, c.variant) {
        (Some(g), Some(v)) => format!("{g} ({v})"),
        (Some(g), None) => g.to_string(),
        (None, _) => "no ANE generation".to_string(),
    };
    let tops = c
        .rated_tops
        .map_or("— TOPS".to_string(), |t| format!("{} TOPS", t.value));
    let peak = c.best_fp16_peak().map_or(String::new(), |p| {
        format!(", peak {:.2} TFLOPS fp16", p.fp16_tflops)
    });
    let mil = c.mil.map_or(String::new(), |m| {
        format!(", MIL {}/{}", m.dialect.program_version, m.dialect.opset)
    });
    format!("{generation}, {} cores, {tops}{peak}{mil}", c.cores.value)
}

/// Every table, in a fixed order.
pub fn tables() -> Vec<Table> {
    let mut t = Vec::new();
    t.push(Table {
        name: "chips",
        title: "Chips: generation, cores, rated TOPS, measured fp16 peaks, SRAM, MIL dialect",
        reference: "benchmarks.md §1–§2, private-api.md §9",
        stated_count: None,
        entries: entries(
            "chips",
            chips::all(),
            Evidence::Unverified,
            "benchmarks.md §1 (chip table)",
            |c| c.name.to_string(),
            |c| {
                let mut a: Vec<String> = c.aliases.iter().map(|s| s.to_string()).collect();
                a.extend(c.soc.map(str::to_string));
                a
            },
            chip_summary,
        ),
    });
    t.push(Table {
        name: "descriptors",
        title: "ANECompiler descriptor structs (probed size is a lower bound)",
        reference: "knowledge-base.md §1",
        stated_count: Some(47),
        entries: entries(
            "descriptors",
            descriptors::all(),
            descriptors::Descriptor::EVIDENCE,
            descriptors::Descriptor::SOURCE,
            |d| d.name.to_string(),
            |d| vec![d.initializer.to_string()],
            |d| format!("{} bytes, {}", d.size, d.initializer),
        ),
    });
    t.push(Table {
        name: "layer_descriptors",
        title: "Layer kind → descriptor struct",
        reference: "knowledge-base.md §2, §22",
        stated_count: None,
        entries: entries(
            "layer_descriptors",
            descriptors::LAYER_DESCRIPTORS,
            Evidence::Unverified,
            "knowledge-base.md §2, §22",
            |m| m.layer.to_string(),
            none,
            |m| match m.descriptor.and_then(descriptors::by_name) {
                Some(d) => format!("{} ({} bytes)", d.name, d.size),
                None => format!("no descriptor: {}", m.basis),
            },
        ),
    });
    t.push(Table {
        name: "version_functions",
        title: "ANECompiler version functions",
        reference: "knowledge-base.md §1.2",
        stated_count: None,
        entries: entries(
            "version_functions",
            descriptors::VERSION_FUNCTIONS,
            Evidence::Source,
            "mdaiter/ane (knowledge-base.md §1.2)",
            |f| f.name.to_string(),
            none,
            |f| format!("returns {}", f.returns),
        ),
    });
    t.push(Table {
        name: "anec_categories",
        title: "ANECompiler layer categories",
        reference: "knowledge-base.md §2",
        stated_count: None,
        entries: entries(
            "anec_categories",
            compiler::CATEGORIES,
            compiler::LayerCategory::EVIDENCE,
            compiler::LayerCategory::SOURCE,
            |c| c.name.to_string(),
            none,
            |c| c.layer_types.join(", "),
        ),
    });
    t.push(Table {
        name: "plist_unit_types",
        title: "ANECompiler net.plist unit types seen in real files",
        reference: "knowledge-base.md §2, espresso.md §6.2",
        stated_count: None,
        entries: entries(
            "plist_unit_types",
            compiler::PLIST_UNIT_TYPES,
            compiler::PlistUnitType::EVIDENCE,
            compiler::PlistUnitType::SOURCE,
            |u| u.name.to_string(),
            none,
            |u| u.params.join(", "),
        ),
    });
    t.push(Table {
        name: "espresso_layers",
        title: "Espresso layer types and attributes",
        reference: "knowledge-base.md §3.1, espresso.md §2.4",
        stated_count: None,
        entries: entries(
            "espresso_layers",
            espresso::LAYERS,
            Evidence::Unverified,
            "knowledge-base.md §3.1",
            |l| l.name.to_string(),
            none,
            |l| {
                let attrs = if l.attributes_observed.is_empty() {
                    l.attributes_claimed
                } else {
                    l.attributes_observed
                };
                format!("{}: {}", opt(l.category), attrs.join(", "))
            },
        ),
    });
    t.push(Table {
        name: "espresso_passes",
        title: "Espresso optimization passes (Pass_* subclasses of EspressoCustomPass)",
        reference: "knowledge-base.md §4",
        stated_count: Some(40),
        entries: entries(
            "espresso_passes",
            espresso::PASSES,
            espresso::EspressoPass::EVIDENCE,
            espresso::EspressoPass::SOURCE,
            |p| p.name.to_string(),
            none,
            |p| format!("#{} {}", p.number, p.description.unwrap_or("")),
        ),
    });
    t.push(Table {
        name: "elementwise_codes",
        title: "Espresso elementwise operation codes (decode only the verified ones)",
        reference: "knowledge-base.md §5, espresso.md §3",
        stated_count: None,
        entries: entries(
            "elementwise_codes",
            espresso::ELEMENTWISE_CODES,
            Evidence::Unverified,
            espresso::ElementwiseCode::SOURCE,
            |c| c.code.to_string(),
            none,
            |c| match c.verified_meaning {
                Some(m) => format!("{m} (notes claimed {})", opt(c.mdaiter_claim)),
                None => format!(
                    "unknown; mdaiter: {}, espresso2onnx: {}",
                    opt(c.mdaiter_claim),
                    opt(c.espresso2onnx_claim)
                ),
            },
        ),
    });
    t.push(Table {
        name: "espresso_attribute_codes",
        title: "Espresso activation.mode, pool.avg_or_max and reduce.mode codes",
        reference: "knowledge-base.md §5",
        stated_count: None,
        entries: entries(
            "espresso_attribute_codes",
            espresso::ATTRIBUTE_CODES,
            Evidence::Unverified,
            "knowledge-base.md §5",
            |c| format!("{}={}", c.attribute, c.code),
            none,
            |c| c.meaning.to_string(),
        ),
    });
    t.push(Table {
        name: "objc_classes",
        title: "Private Objective-C classes with factories, methods and properties",
        reference: "knowledge-base.md §6, §12; private-api.md §20",
        stated_count: None,
        entries: entries(
            "objc_classes",
            objc::CLASSES,
            Evidence::Unverified,
            "knowledge-base.md §6",
            |c| c.name.to_string(),
            none,
            |c| format!("{}, {} members. {}", c.framework, c.members.len(), c.notes),
        ),
    });
    let members: Vec<(&'static str, &'static objc::ObjcMember)> = objc::CLASSES
        .iter()
        .flat_map(|c| c.members.iter().map(move |m| (c.name, m)))
        .collect();
    t.push(Table {
        name: "objc_members",
        title: "Objective-C members, one row each (class selector)",
        reference: "knowledge-base.md §6",
        stated_count: None,
        entries: members
            .iter()
            .map(|(class, m)| {
                let mut record = serde_json::to_value(m).unwrap_or(Value::Null);
                if let Value::Object(obj) = &mut record {
                    obj.insert("class".into(), Value::String((*class).to_string()));
                    obj.insert(
                        "source".into(),
                        Value::String("knowledge-base.md §6".to_string()),
                    );
                }
                let sigil = match m.kind {
                    objc::MemberKind::ClassMethod => "+",
                    objc::MemberKind::Init | objc::MemberKind::Method => "-",
                    objc::MemberKind::Property => ".",
                };
                Entry {
                    table: "objc_members",
                    key: format!("{class} {}", m.name),
                    aliases: vec![m.name.to_string()],
                    summary: format!("{sigil}{} {}", m.name, m.signature),
                    evidence: m.evidence,
                    record,
                }
            })
            .collect(),
    });
    t.push(Table {
        name: "xpc_services",
        title: "XPC / Mach services",
        reference: "knowledge-base.md §7",
        stated_count: None,
        entries: entries(
            "xpc_services",
            xpc::SERVICES,
            xpc::XpcService::EVIDENCE,
            xpc::XpcService::SOURCE,
            |s| s.name.to_string(),
            none,
            |s| s.purpose.to_string(),
        ),
    });
    t.push(Table {
        name: "xpc_operations",
        title: "_ANEDaemonConnection operations",
        reference: "knowledge-base.md §8",
        stated_count: None,
        entries: entries(
            "xpc_operations",
            xpc::OPERATIONS,
            xpc::XpcOperation::EVIDENCE,
            xpc::XpcOperation::SOURCE,
            |o| o.selector.to_string(),
            none,
            |o| o.category.to_string(),
        ),
    });
    t.push(Table {
        name: "entitlements",
        title: "Entitlements and their purposes",
        reference: "knowledge-base.md §9, private-api.md §16",
        stated_count: None,
        entries: entries(
            "entitlements",
            access::ENTITLEMENTS,
            Evidence::Unverified,
            "knowledge-base.md §9",
            |e| e.name.to_string(),
            none,
            |e| format!("{} (for {})", e.purpose, e.required_for),
        ),
    });
    t.push(Table {
        name: "boot_args",
        title: "Boot-args",
        reference: "knowledge-base.md §10",
        stated_count: None,
        entries: entries(
            "boot_args",
            access::BOOT_ARGS,
            Evidence::Unverified,
            "knowledge-base.md §10",
            |b| b.name.to_string(),
            none,
            |b| b.effect.to_string(),
        ),
    });
    t.push(Table {
        name: "internal_build_checks",
        title: "Checks behind _ANEDeviceInfo isInternalBuild",
        reference: "knowledge-base.md §11",
        stated_count: None,
        entries: entries(
            "internal_build_checks",
            access::INTERNAL_BUILD_CHECKS,
            access::InternalBuildCheck::EVIDENCE,
            access::InternalBuildCheck::SOURCE,
            |c| c.check.to_string(),
            none,
            |c| format!("consumer macOS: {}", c.consumer_macos),
        ),
    });
    t.push(Table {
        name: "cache",
        title: "aned model cache locations and operations",
        reference: "knowledge-base.md §13",
        stated_count: None,
        entries: entries(
            "cache",
            runtime::CACHE,
            Evidence::Unverified,
            runtime::CacheItem::SOURCE,
            |c| c.value.to_string(),
            none,
            |c| c.item.to_string(),
        ),
    });
    t.push(Table {
        name: "profiling",
        title: "Profiling classes and members",
        reference: "knowledge-base.md §14",
        stated_count: None,
        entries: entries(
            "profiling",
            runtime::PROFILING,
            Evidence::Unverified,
            runtime::ProfilingMember::SOURCE,
            |p| format!("{} {}", p.class, p.member),
            none,
            |p| p.r#type.to_string(),
        ),
    });
    t.push(Table {
        name: "bundle_files",
        title: "Bundle file kinds (Espresso, .hwx per generation, ML Program)",
        reference: "knowledge-base.md §15",
        stated_count: None,
        entries: entries(
            "bundle_files",
            bundles::FILES,
            Evidence::Unverified,
            bundles::BundleFile::SOURCE,
            |b| b.file.to_string(),
            none,
            |b| format!("{}: {}", b.bundle, b.description),
        ),
    });
    t.push(Table {
        name: "compute_unit_masks",
        title: "Core ML compute-unit masks",
        reference: "knowledge-base.md §16",
        stated_count: None,
        entries: entries(
            "compute_unit_masks",
            runtime::COMPUTE_UNIT_MASKS,
            runtime::ComputeUnitMask::EVIDENCE,
            runtime::ComputeUnitMask::SOURCE,
            |m| m.mask.to_string(),
            none,
            |m| m.devices.to_string(),
        ),
    });
    for e in zin::ENUMS {
        t.push(Table {
            name: e.name,
            title: e.title,
            reference: "knowledge-base.md §19, hwx-td.md §4",
            stated_count: match e.name {
                "zin_op" => Some(49),
                "zin_nonlinear_mode" => Some(32),
                _ => None,
            },
            entries: entries(
                e.name,
                e.values,
                e.evidence,
                zin::ZinEnum::SOURCE,
                |v| v.name.to_string(),
                |v| vec![v.code.to_string()],
                |v| v.code.to_string(),
            ),
        });
    }
    t
}

/// A table by name.
pub fn table(name: &str) -> Option<Table> {
    tables().into_iter().find(|t| t.name == name)
}

/// Every entry whose key (or alias) is exactly `name`; when none is, every entry whose key or
/// alias equals it ignoring ASCII case.
pub fn show(name: &str) -> Vec<Entry> {
    let all: Vec<Entry> = tables().into_iter().flat_map(|t| t.entries).collect();
    let exact: Vec<Entry> = all
        .iter()
        .filter(|e| e.key == name || e.aliases.iter().any(|a| a == name))
        .cloned()
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    all.into_iter()
        .filter(|e| {
            e.key.eq_ignore_ascii_case(name)
                || e.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
        .collect()
}

/// Up to `limit` entry names close to `name` (edit-distance and substring), best first.
pub fn suggest(name: &str, limit: usize) -> Vec<String> {
    let want = name.to_lowercase();
    let mut scored: Vec<(f64, String)> = tables()
        .into_iter()
        .flat_map(|t| t.entries)
        .filter(|e| e.table != "objc_members")
        .map(|e| {
            let low = e.key.to_lowercase();
            let mut score = strsim::jaro_winkler(&want, &low);
            if !want.is_empty() && low.contains(&want) {
                score = score.max(0.9);
            }
            (score, e.key)
        })
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(limit).map(|(_, k)| k).collect()
}

fn walk(value: &Value, path: &str, needle: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if s.to_lowercase().contains(needle) => {
            out.push((path.to_string(), s.clone()));
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, &format!("{path}[{i}]"), needle, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, &p, needle, out);
            }
        }
        _ => {}
    }
}

/// Case-insensitive substring search over entry names and every text field of every record,
/// optionally in one table. `objc_members` rows are left out: their class's row already holds
/// them, with the field path naming the member.
pub fn search(text: &str, table: Option<&str>) -> Vec<Hit> {
    let needle = text.to_lowercase();
    let mut hits = Vec::new();
    if needle.is_empty() {
        return hits;
    }
    for t in tables() {
        if table.is_some_and(|name| name != t.name) || (table.is_none() && t.name == "objc_members")
        {
            continue;
        }
        for e in t.entries {
            let mut found = Vec::new();
            if e.key.to_lowercase().contains(&needle) {
                found.push(("key".to_string(), e.key.clone()));
            }
            let mut fields = Vec::new();
            walk(&e.record, "", &needle, &mut fields);
            // The record repeats the key in its name field; report it once.
            fields.retain(|(_, text)| found.first().is_none_or(|(_, k)| k != text));
            found.extend(fields);
            for (field, text) in found {
                hits.push(Hit {
                    table: t.name,
                    key: e.key.clone(),
                    field,
                    text,
                    evidence: e.evidence,
                });
            }
        }
    }
    hits
}

/// The whole knowledge base as one JSON tree (validated by `schemas/kb.schema.json`).
pub fn export() -> Value {
    let mut tables_obj = Map::new();
    for t in tables() {
        let mut obj = Map::new();
        obj.insert("title".into(), Value::String(t.title.to_string()));
        obj.insert("reference".into(), Value::String(t.reference.to_string()));
        obj.insert("count".into(), Value::from(t.entries.len()));
        obj.insert(
            "stated_count".into(),
            t.stated_count.map_or(Value::Null, Value::from),
        );
        obj.insert(
            "entries".into(),
            Value::Array(t.entries.into_iter().map(|e| e.record).collect()),
        );
        tables_obj.insert(t.name.to_string(), Value::Object(obj));
    }
    let levels: Vec<Value> = Evidence::ALL
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "level": e,
                "tag": e.tag(),
                "meaning": e.meaning(),
            })
        })
        .collect();
    serde_json::json!({
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "reference": "../shared/reference/ (knowledge-base.md, benchmarks.md, private-api.md, espresso.md, hwx-td.md)",
        "evidence_levels": levels,
        "tables": tables_obj,
    })
}
