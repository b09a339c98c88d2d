//! Arbitrary bytes through the blob storage reader (header, lazy enumeration with and without
//! the count, random access, decoding every blob, shape checks) and the npy reader. Nothing may
//! panic, and whatever decodes must re-encode to the same payload.
#![no_main]

use anekit_blob::{BlobFile, BlobWriter};
use anekit_core::npy::{read_npy, write_npy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = BlobFile::parse(data) {
        for blob in file.blobs().take(4096).chain(file.scan().take(4096)) {
            let Ok(blob) = blob else { continue };
            let _ = blob.check_shape(&[blob.element_count()]);
            if let Ok(values) = blob.decode() {
                assert_eq!(values.len() as u64, blob.element_count());
                let mut w = BlobWriter::new();
                // Sub-byte padding bits may hold garbage in the input; compare whole bytes only.
                if w.add(&values).is_ok() && blob.padding_bits == 0 {
                    let out = w.finish();
                    assert_eq!(out.get(128..), Some(blob.data));
                }
                let _ = values.to_f32();
            }
        }
        // Random access at a few offsets taken from the input itself.
        for chunk in data.chunks_exact(8).take(16) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            let _ = file.blob_at(u64::from_le_bytes(b), None);
        }
    }
    if let Ok(array) = read_npy(data) {
        let out = write_npy(&array.shape, &array.data).expect("shape matches data");
        let back = read_npy(&out).expect("own output reads");
        assert_eq!(back.shape, array.shape);
    }
});
