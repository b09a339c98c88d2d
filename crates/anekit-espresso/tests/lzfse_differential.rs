//! Differential tests against the reference LZFSE implementation (the C code of lzfse/lzfse,
//! through the `lzfse` crate): streams the reference encoder makes decode identically here,
//! and streams made here decode identically with the reference decoder.

use anekit_espresso::lzfse::{self, BlockKind, DEFAULT_LIMIT, LzfseError};

/// xorshift64*: deterministic test data without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn ref_encode(data: &[u8]) -> Vec<u8> {
    // The C library directly (not our wrapper), so the test is independent of it.
    let mut out = vec![0u8; data.len() + 4096];
    let n = ::lzfse::encode_buffer(data, &mut out).unwrap();
    out.truncate(n);
    out
}

fn ref_decode(stream: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; expected_len + 1];
    let n = ::lzfse::decode_buffer(stream, &mut out).ok()?;
    out.truncate(n);
    Some(out)
}

/// Varied JSON text that looks like an Espresso net, `layers` layers long.
fn json_net(layers: usize, rng: &mut Rng) -> Vec<u8> {
    let mut s = String::from("{\n  \"layers\" : [\n");
    for i in 0..layers {
        s.push_str(&format!(
            "    {{\n      \"name\" : \"sequential\\/conv{i}\\/BiasAdd\",\n      \"type\" : \"convolution\",\n      \"C\" : {},\n      \"K\" : {},\n      \"blob_weights\" : {},\n      \"alpha\" : {}\n    }},\n",
            rng.next() % 512,
            rng.next() % 512,
            2 * i + 1,
            (rng.next() % 100_000) as f64 / 7.0
        ));
    }
    s.push_str("  ]\n}\n");
    s.into_bytes()
}

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    vec![
        ("empty", Vec::new()),
        ("one byte", vec![b'{']),
        ("tiny", b"{\"a\":1}".to_vec()),
        ("100 B json", json_net(1, &mut rng)[..100].to_vec()),
        ("4000 B json", json_net(30, &mut rng)[..4000].to_vec()),
        ("4095 B random", rng.bytes(4095)),
        ("4096 B zeros", vec![0; 4096]),
        ("64 KiB json", json_net(400, &mut rng)),
        ("1 MiB random", rng.bytes(1 << 20)),
        ("2 MiB json", json_net(12_000, &mut rng)),
        (
            "8 MiB pattern",
            (0..8usize << 20).map(|i| (i % 251) as u8).collect(),
        ),
    ]
}

#[test]
fn reference_streams_decode_identically() {
    let mut kinds_seen = std::collections::BTreeSet::new();
    for (name, input) in inputs() {
        let stream = ref_encode(&input);
        let info = lzfse::walk(&stream, DEFAULT_LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.raw_size, input.len() as u64, "{name}");
        assert_eq!(info.encoded_size, stream.len() as u64, "{name}");
        assert_eq!(info.blocks.last().unwrap().kind, BlockKind::End, "{name}");
        for b in &info.blocks {
            kinds_seen.insert(b.kind.magic());
        }
        let out = lzfse::decode(&stream, DEFAULT_LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(out == input, "{name}: decoded bytes differ");
        // The limit is exact: one byte less is refused before decoding.
        if !input.is_empty() {
            assert!(
                matches!(
                    lzfse::decode(&stream, input.len() as u64 - 1),
                    Err(LzfseError::TooLarge { .. })
                ),
                "{name}"
            );
        }
        // Reference encoder choices (reference/espresso.md §8.1): < 8 B stored, < 4 KiB LZVN.
        let first = info.blocks[0].kind;
        match input.len() {
            0..=7 => assert_eq!(first, BlockKind::Raw, "{name}"),
            8..=4095 if name.contains("json") => assert_eq!(first, BlockKind::Lzvn, "{name}"),
            _ => {}
        }
    }
    // The set exercises stored, LZVN and multi-block bvx2 streams.
    for k in ["bvx-", "bvxn", "bvx2", "bvx$"] {
        assert!(kinds_seen.contains(k), "{k} never produced: {kinds_seen:?}");
    }
}

#[test]
fn big_inputs_make_many_bvx2_blocks() {
    let mut rng = Rng(7);
    let input = json_net(12_000, &mut rng);
    let stream = ref_encode(&input);
    let info = lzfse::walk(&stream, DEFAULT_LIMIT).unwrap();
    let v2 = info
        .blocks
        .iter()
        .filter(|b| b.kind == BlockKind::V2)
        .count();
    assert!(v2 > 1, "{} bytes in {v2} bvx2 block(s)", input.len());
}

#[test]
fn concatenated_blocks_decode_like_the_reference() {
    let mut rng = Rng(11);
    let a = json_net(200, &mut rng);
    let b = rng.bytes(3000);
    let c = b"tail".to_vec();
    let mut stream = Vec::new();
    for part in [&a, &b, &c] {
        let s = ref_encode(part);
        stream.extend_from_slice(&s[..s.len() - 4]); // drop each bvx$
    }
    stream.extend_from_slice(b"bvx$");
    let expected: Vec<u8> = [a, b, c].concat();
    assert_eq!(ref_decode(&stream, expected.len()).unwrap(), expected);
    assert_eq!(lzfse::decode(&stream, DEFAULT_LIMIT).unwrap(), expected);
    // Bytes after bvx$ are not part of the stream (as for the reference decoder).
    let mut trailing = stream.clone();
    trailing.extend_from_slice(b"garbage");
    assert_eq!(lzfse::decode(&trailing, DEFAULT_LIMIT).unwrap(), expected);
}

#[test]
fn our_encoders_output_decodes_with_the_reference_decoder() {
    for (name, input) in inputs() {
        for (which, stream) in [
            ("encode", lzfse::encode(&input).unwrap()),
            ("encode_rust", lzfse::encode_rust(&input).unwrap()),
        ] {
            if input.is_empty() {
                // The reference decoder cannot tell an empty result from an error; check the
                // structure instead.
                assert_eq!(
                    lzfse::walk(&stream, 0).unwrap().raw_size,
                    0,
                    "{name} {which}"
                );
                continue;
            }
            let back = ref_decode(&stream, input.len())
                .unwrap_or_else(|| panic!("{name}: reference decoder rejected {which} output"));
            assert!(back == input, "{name}: {which} round trip differs");
        }
    }
}

#[cfg(feature = "reference-encoder")]
#[test]
fn the_default_encoder_is_the_reference_encoder() {
    let mut rng = Rng(3);
    let input = json_net(300, &mut rng);
    assert_eq!(lzfse::encode(&input).unwrap(), ref_encode(&input));
}

#[test]
fn corrupted_streams_error_or_agree_with_the_reference() {
    let mut rng = Rng(99);
    let sources = [
        json_net(50, &mut rng),
        json_net(12, &mut rng)[..1500].to_vec(),
    ];
    for input in &sources {
        let stream = ref_encode(input);
        // Every truncation is an error (no bvx$ left, or a block cut short).
        for cut in (0..stream.len()).step_by(7) {
            assert!(
                lzfse::decode(&stream[..cut], DEFAULT_LIMIT).is_err(),
                "cut at {cut}"
            );
        }
        // Random byte flips: never a panic; when both decoders accept, they agree.
        for _ in 0..400 {
            let mut bad = stream.clone();
            let at = (rng.next() as usize) % bad.len();
            bad[at] ^= 1 << (rng.next() % 8);
            let ours = lzfse::decode(&bad, 1 << 24);
            if let (Ok(ours), Some(theirs)) = (ours, ref_decode(&bad, 1 << 24)) {
                assert_eq!(ours, theirs, "flip at {at}");
            }
        }
    }
}
