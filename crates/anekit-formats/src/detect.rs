//! Say what an ANE artifact is, from its first bytes, its name, and (for folders) its entries.
//!
//! Magic numbers win over names; names decide only where a format has no magic (.anec,
//! .espresso.weights, .mlmodel protobufs). Detection never parses a whole file: the format
//! crates do that, with their own errors.

use serde::Serialize;
use std::path::Path;

/// How many leading bytes detection looks at.
pub const SNIFF_LEN: usize = 4096;

/// What a file or folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// MIL text program (`model.mil`).
    MilText,
    /// MIL blob storage v2 (`weight.bin`).
    BlobStorage,
    /// Compiled ANE program (Mach-O-like, magic 0xBEEFFACE).
    Hwx,
    /// Asahi `.anec` with its 0x1000-byte header.
    Anec,
    /// Asahi `.anec` payload without header (TD microcode + weights).
    AnecPayload,
    /// PBZE container (LZFSE-compressed Espresso file).
    Pbze,
    /// Raw LZFSE stream (starts with a `bvx` block magic).
    Lzfse,
    /// Espresso network, JSON.
    EspressoNet,
    /// Espresso shapes, JSON.
    EspressoShape,
    /// Espresso weights (`.espresso.weights`).
    EspressoWeights,
    /// Property list (XML or binary), e.g. ANECompiler `net.plist`.
    Plist,
    /// NumPy `.npy` array.
    Npy,
    /// Core ML protobuf model (`.mlmodel`, or `model.mlmodel` inside a package).
    MlModel,
    /// Core ML compiled-model metadata (`coremldata.bin`).
    CoreMlData,
    /// Some other JSON document (`Manifest.json`, `metadata.json`, benchmark results).
    Json,
    /// `.mlpackage` folder.
    MlPackage,
    /// `.mlmodelc` folder (compiled model).
    MlModelc,
    /// Something anekit does not know.
    Unknown,
}

impl Kind {
    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::MilText => "MIL text program",
            Kind::BlobStorage => "MIL blob storage (weight.bin)",
            Kind::Hwx => "compiled ANE program (.hwx)",
            Kind::Anec => "Asahi .anec program",
            Kind::AnecPayload => "Asahi .anec payload without header",
            Kind::Pbze => "PBZE container (LZFSE-compressed)",
            Kind::Lzfse => "LZFSE stream",
            Kind::EspressoNet => "Espresso network (JSON)",
            Kind::EspressoShape => "Espresso shapes (JSON)",
            Kind::EspressoWeights => "Espresso weights",
            Kind::Plist => "property list",
            Kind::Npy => "NumPy array (.npy)",
            Kind::MlModel => "Core ML protobuf model (.mlmodel)",
            Kind::CoreMlData => "Core ML compiled metadata (coremldata.bin)",
            Kind::Json => "JSON document",
            Kind::MlPackage => "Core ML package (.mlpackage)",
            Kind::MlModelc => "compiled Core ML model (.mlmodelc)",
            Kind::Unknown => "unknown",
        }
    }
}

const HWX_MAGIC: [u8; 4] = 0xBEEF_FACEu32.to_le_bytes();
const BLOB_SENTINEL: [u8; 4] = 0xDEAD_BEEFu32.to_le_bytes();
const LZFSE_MAGICS: [&[u8; 4]; 5] = [b"bvx2", b"bvx1", b"bvxn", b"bvx-", b"bvx$"];

/// Detect a file from its name (file name only is enough) and its first bytes (up to
/// [`SNIFF_LEN`]); `total_len` is the whole file's length.
pub fn detect_bytes(file_name: &str, head: &[u8], total_len: u64) -> Kind {
    let name = file_name.to_ascii_lowercase();
    if head.starts_with(&HWX_MAGIC) {
        return Kind::Hwx;
    }
    if head.starts_with(b"pbze") {
        return Kind::Pbze;
    }
    if LZFSE_MAGICS.iter().any(|m| head.starts_with(*m)) {
        return Kind::Lzfse;
    }
    if head.starts_with(b"bplist00") {
        return Kind::Plist;
    }
    if head.starts_with(b"\x93NUMPY") {
        return Kind::Npy;
    }
    if is_blob_storage(head) {
        return Kind::BlobStorage;
    }
    // Extensions that carry no magic.
    if name.ends_with(".anec") {
        return if anec_header_matches(head, total_len) {
            Kind::Anec
        } else {
            Kind::AnecPayload
        };
    }
    if name.ends_with(".espresso.weights") || name.ends_with(".weights") {
        return Kind::EspressoWeights;
    }
    if name.ends_with(".mlmodel") {
        return Kind::MlModel;
    }
    if name.ends_with("coremldata.bin") {
        return Kind::CoreMlData;
    }
    let text = trim_text_start(head);
    if text.starts_with(b"program") {
        return Kind::MilText;
    }
    let xml_start = text.starts_with(b"<?xml")
        || text.starts_with(b"<plist")
        || text.starts_with(b"<!DOCTYPE plist");
    if xml_start && contains(head, b"<plist") {
        return Kind::Plist;
    }
    if text.starts_with(b"{") || text.starts_with(b"[") {
        if name.ends_with(".espresso.net")
            || (name.ends_with(".net") && contains(head, b"\"layers\""))
        {
            return Kind::EspressoNet;
        }
        if name.ends_with(".espresso.shape")
            || name.ends_with(".shape")
            || contains(head, b"\"layer_shapes\"")
        {
            return Kind::EspressoShape;
        }
        if contains(head, b"\"layers\"") && contains(head, b"\"storage\"") {
            return Kind::EspressoNet;
        }
        return Kind::Json;
    }
    if name.ends_with(".mil") {
        return Kind::MilText;
    }
    Kind::Unknown
}

/// Blob storage v2: version 2 at offset 4, zero reserved words, and either no blobs or the
/// 0xDEADBEEF sentinel of the first record at offset 64.
fn is_blob_storage(head: &[u8]) -> bool {
    let (Some(version), Some(reserved)) = (head.get(4..8), head.get(8..64)) else {
        return false;
    };
    if version != 2u32.to_le_bytes() || reserved.iter().any(|&b| b != 0) {
        return false;
    }
    let count_is_zero = head.get(0..4) == Some(&[0, 0, 0, 0][..]);
    count_is_zero || head.get(64..68) == Some(&BLOB_SENTINEL[..])
}

/// A headered .anec starts with the u64 payload size; the file is header (0x1000) + payload.
fn anec_header_matches(head: &[u8], total_len: u64) -> bool {
    let Some(bytes) = head.get(0..8) else {
        return false;
    };
    let mut size = [0u8; 8];
    size.copy_from_slice(bytes);
    let size = u64::from_le_bytes(size);
    size.checked_add(0x1000) == Some(total_len)
}

fn trim_text_start(head: &[u8]) -> &[u8] {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    head.get(start..).unwrap_or_default()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Detect a folder from its name and the names of its entries.
pub fn detect_dir_entries(dir_name: &str, entries: &[String]) -> Kind {
    let has = |n: &str| entries.iter().any(|e| e == n);
    let name = dir_name.to_ascii_lowercase();
    if has("Manifest.json") || name.ends_with(".mlpackage") {
        return Kind::MlPackage;
    }
    if name.ends_with(".mlmodelc")
        || has("model.mil")
        || has("model.espresso.net")
        || has("coremldata.bin")
    {
        return Kind::MlModelc;
    }
    Kind::Unknown
}

/// Detect a path on disk: folders by their entries, files by their first bytes and name.
pub fn detect_path(path: &Path) -> std::io::Result<Kind> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(path)? {
            entries.push(entry?.file_name().to_string_lossy().into_owned());
        }
        return Ok(detect_dir_entries(&name, &entries));
    }
    use std::io::Read;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    std::fs::File::open(path)?
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)?;
    Ok(detect_bytes(&name, &head, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob_file(count: u32, sentinel: bool) -> Vec<u8> {
        let mut v = vec![0u8; 128];
        v[0..4].copy_from_slice(&count.to_le_bytes());
        v[4..8].copy_from_slice(&2u32.to_le_bytes());
        if sentinel {
            v[64..68].copy_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
        }
        v
    }

    #[test]
    fn magics() {
        assert_eq!(
            detect_bytes("x", &[0xCE, 0xFA, 0xEF, 0xBE, 0, 0], 6),
            Kind::Hwx
        );
        assert_eq!(detect_bytes("x", b"pbze\0\0\0\0", 8), Kind::Pbze);
        assert_eq!(detect_bytes("x", b"bvxn\x10\0\0\0", 8), Kind::Lzfse);
        assert_eq!(detect_bytes("x", b"bvx$", 4), Kind::Lzfse);
        assert_eq!(detect_bytes("net.plist", b"bplist00\xd1", 9), Kind::Plist);
        assert_eq!(detect_bytes("a.npy", b"\x93NUMPY\x01\x00", 8), Kind::Npy);
    }

    #[test]
    fn blob_storage_needs_version_reserved_and_sentinel() {
        assert_eq!(
            detect_bytes("w", &blob_file(1, true), 128),
            Kind::BlobStorage
        );
        assert_eq!(
            detect_bytes("w", &blob_file(0, false), 128),
            Kind::BlobStorage
        );
        assert_eq!(detect_bytes("w", &blob_file(1, false), 128), Kind::Unknown);
        let mut v = blob_file(1, true);
        v[4] = 1; // version 1 is Espresso blob_v1, not this format
        assert_eq!(detect_bytes("w", &v, 128), Kind::Unknown);
        let mut v = blob_file(1, true);
        v[20] = 7; // reserved must be zero
        assert_eq!(detect_bytes("w", &v, 128), Kind::Unknown);
    }

    #[test]
    fn text_formats() {
        assert_eq!(
            detect_bytes("model.mil", b"\n program(1.3)\n", 15),
            Kind::MilText
        );
        assert_eq!(detect_bytes("x.txt", b"program(1.0)", 12), Kind::MilText);
        assert_eq!(
            detect_bytes(
                "net.plist",
                b"<?xml version=\"1.0\"?>\n<!DOCTYPE plist><plist>",
                40
            ),
            Kind::Plist
        );
        assert_eq!(
            detect_bytes("model.espresso.net", b"{ \"storage\": \"x\" }", 18),
            Kind::EspressoNet
        );
        assert_eq!(
            detect_bytes("foo.json", b"{\"layers\": [], \"storage\": \"w\"}", 30),
            Kind::EspressoNet
        );
        assert_eq!(
            detect_bytes("model.espresso.shape", b"{\"layer_shapes\": {}}", 20),
            Kind::EspressoShape
        );
        assert_eq!(
            detect_bytes("Manifest.json", b"{\"fileFormatVersion\": \"1.0.0\"}", 30),
            Kind::Json
        );
    }

    #[test]
    fn anec_header_is_checked_against_the_file_length() {
        let mut v = vec![0u8; 16];
        v[0..8].copy_from_slice(&0x4000u64.to_le_bytes());
        assert_eq!(detect_bytes("m.anec", &v, 0x5000), Kind::Anec);
        assert_eq!(detect_bytes("m.anec", &v, 0x4000), Kind::AnecPayload);
    }

    #[test]
    fn folders() {
        let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            detect_dir_entries("m.mlpackage", &e(&["Data", "Manifest.json"])),
            Kind::MlPackage
        );
        assert_eq!(
            detect_dir_entries("x", &e(&["model.mil", "weights"])),
            Kind::MlModelc
        );
        assert_eq!(detect_dir_entries("m.mlmodelc", &e(&[])), Kind::MlModelc);
        assert_eq!(detect_dir_entries("src", &e(&["main.rs"])), Kind::Unknown);
    }

    #[test]
    fn short_and_empty_input_is_unknown_not_a_panic() {
        assert_eq!(detect_bytes("", &[], 0), Kind::Unknown);
        assert_eq!(detect_bytes("x.anec", &[1, 2], 2), Kind::AnecPayload);
        assert_eq!(
            detect_bytes("", &[0, 0, 0, 0, 2, 0, 0, 0], 8),
            Kind::Unknown
        );
    }
}
