//! End-to-end tests of `ane hwx` over the staged corpus. Expected values are [verified] facts of
//! /work/shared/reference/hwx-td.md (§2.3, §5.1, §5.3, §5.4).

use anekit_core::corpus::corpus_dir;
use assert_cmd::Command;
use std::path::PathBuf;

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn tg(file: &str) -> Option<PathBuf> {
    corpus_dir("tinygrad-ane").map(|d| d.join(file))
}

fn run_ok(args: &[&str]) -> String {
    let out = ane().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ane {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_err(args: &[&str]) -> String {
    let out = ane().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "ane {args:?} should fail");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one-line error: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn disasm_conv_summary_and_fields() {
    let Some(conv) = tg("ops/conv.hwx") else {
        return;
    };
    let out = run_ok(&["hwx", "disasm", conv.to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].ends_with(": hwx h13, 1 TD(s), stream at 0x4000"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "TD 0 @ 0x4000 (0x274 bytes, h13): conv k1x1 s1x1 p0,0 | in 1x1x3 fp16 -> out 1x1x3 fp16 \
         | act none | read slot 5 (image) | kernel slot 1 (__const) (3 ch) \
         | write slot 4 (probs@output) | cache DROP/DEPRI"
    );
    for expected in [
        "  aneTD.Header[8].ENE = 3",
        "  aneTD.Header[9].KBase0 = 1  # slot",
        "  aneRegs.Common.Cin.Cin = 3  # channels",
        "  aneRegs.KernelDMASrc.CoeffBaseAddr[1].Addr = 1  # 64B, 0x40 bytes",
        "  aneRegs.NE.PostScale.PostScale = 15360  # fp16, 1",
        "  aneRegs.NE.MACCfg.BinaryPoint = 28",
        "  aneRegs.L2.ResultBase.Addr = 3  # 16B, 0x30 bytes",
        "  aneRegs.Common.ChCfg.InFmt = 2  # format, fp16",
    ] {
        assert!(lines.contains(&expected), "missing `{expected}` in\n{out}");
    }
}

#[test]
fn disasm_json_and_raw() {
    let Some(sum) = tg("ops/sum.hwx") else { return };
    let out = run_ok(&["--json", "hwx", "disasm", "--raw", sum.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["generation"], "H13");
    assert_eq!(v["stream_offset"], 0x4000);
    assert_eq!(v["td_count"], 1);
    let td = &v["tds"][0];
    assert_eq!(td["summary"]["kind"], "pe-elementwise add");
    assert_eq!(td["summary"]["reads"], serde_json::json!([6, 5]));
    assert_eq!(
        td["summary"]["slot_names"],
        serde_json::json!([
            {"slot": 4, "name": "probs@output"},
            {"slot": 5, "name": "image2"},
            {"slot": 6, "name": "image"}
        ])
    );
    let field = |name: &str| {
        td["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    assert_eq!(field("Header[8].RBase0")["value"], 6);
    assert_eq!(field("L2.ResultBase.Addr")["value"], 0x86);
    assert_eq!(field("L2.ResultBase.Addr")["meaning"], "0x860 bytes");
    assert_eq!(field("L2.ResultBase.Addr")["word_offset"], 0x4214);
    assert_eq!(field("PE.BiasScale.Scale")["provisional"], true);
    let cmds = td["raw"]["commands"].as_array().unwrap();
    let pe = cmds.iter().find(|c| c["block"] == "PE").unwrap();
    assert_eq!(pe["word"], 0x0C00_8800u32);
    assert_eq!(
        pe["values"],
        serde_json::json!([
            0x0008_0000u32,
            0x3C00_0000u32,
            0x3C00_0000u32,
            0x3F80_0000u32
        ])
    );
    let human = run_ok(&["hwx", "disasm", "--raw", sum.to_str().unwrap()]);
    assert!(
        human.contains(
            "  0x4228: 0c008800 write 4 @ 0x08800 (PE): 00080000 3c000000 3c000000 3f800000\n"
        ),
        "{human}"
    );
    assert!(human.contains("  TileDMASrc+0x04 @ 0x4170 = 0x00033880  # unnamed bits 0x00033880\n"));
}

#[test]
fn disasm_selects_one_td_and_rejects_missing_ones() {
    let Some(concat) = tg("ops/concat.hwx") else {
        return;
    };
    let out = run_ok(&["hwx", "disasm", "--td", "1", concat.to_str().unwrap()]);
    // Slots named from the container: TD1 reads input_1 (slot 5), reference §1.5.
    assert!(
        out.contains(
            "\nTD 1 @ 0x4300 (0x274 bytes, h13): copy k1x1 s1x1 p0,0 | in 1x1x16 fp16 -> out \
             1x1x16 fp16 | act none | read slot 5 (input_1) | kernel slot - (0 ch) | write slot 4 \
             (output@output) | cache DROP/DEPRI\n"
        ),
        "{out}"
    );
    assert!(!out.contains("TD 0 @"));
    assert!(out.contains("  aneRegs.TileDMADst.BaseAddr.Addr = 16384  # 64B, 0x100000 bytes\n"));
    let err = run_err(&["hwx", "disasm", "--td", "2", concat.to_str().unwrap()]);
    assert!(
        err.contains("TD 2 does not exist: the program has 2 TD(s)"),
        "{err}"
    );
}

#[test]
fn patch_kbase0_then_diff() {
    let Some(conv) = tg("ops/conv.hwx") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let patched = tmp.path().join("conv-kbase6.hwx");
    let out = run_ok(&[
        "hwx",
        "patch",
        conv.to_str().unwrap(),
        "--td",
        "0",
        "--set",
        "Header.KBase0=6",
        "-o",
        patched.to_str().unwrap(),
    ]);
    assert!(
        out.starts_with(
            "TD 0 Header[9].KBase0: 1 -> 6 (word @ 0x4024: 0x00000021 -> 0x00000026)\n"
        ),
        "{out}"
    );
    assert!(out.contains("(1 byte(s) differ from"), "{out}");
    let a = std::fs::read(&conv).unwrap();
    let b = std::fs::read(&patched).unwrap();
    let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    assert_eq!(diffs, [0x4024]);
    assert_eq!(b[0x4024], 0x26);

    let out = run_ok(&[
        "hwx",
        "diff",
        conv.to_str().unwrap(),
        patched.to_str().unwrap(),
    ]);
    let lines: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(lines, ["TD 0 Header[9].KBase0: 1 (0x1) -> 6 (0x6)"]);

    let json = run_ok(&[
        "--json",
        "hwx",
        "diff",
        conv.to_str().unwrap(),
        patched.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["identical"], false);
    assert_eq!(
        v["differences"],
        serde_json::json!([{"td": 0, "name": "Header[9].KBase0", "a": 1, "b": 6}])
    );
}

#[test]
fn patch_several_fields_hex_values() {
    let Some(relu) = tg("ops/relu.hwx") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let patched = tmp.path().join("relu64.hwx");
    let out = run_ok(&[
        "--json",
        "hwx",
        "patch",
        relu.to_str().unwrap(),
        "--td",
        "0",
        "--set",
        "Common.InDim.Win=0x40",
        "--set",
        "aneRegs.Common.OutDim.Wout=64",
        "-o",
        patched.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["changes"][0]["field"], "Common.InDim.Win");
    assert_eq!(v["changes"][0]["old"], 77);
    assert_eq!(v["changes"][0]["new"], 64);
    assert_eq!(v["changes"][0]["word_offset"], 0x4128);
    assert_eq!(v["changes"][1]["word_offset"], 0x413C);
    assert_eq!(v["bytes_changed"], 2);
    let b = std::fs::read(&patched).unwrap();
    assert_eq!(&b[0x4128..0x412C], &[0x40, 0, 1, 0]);
    assert_eq!(&b[0x413C..0x4140], &[0x40, 0, 1, 0]);
}

#[test]
fn patch_errors_are_one_line() {
    let Some(conv) = tg("ops/conv.hwx") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let o = tmp.path().join("x.hwx");
    let (c, o) = (conv.to_str().unwrap(), o.to_str().unwrap());
    let err = run_err(&[
        "hwx",
        "patch",
        c,
        "--td",
        "0",
        "--set",
        "Header.KBase0=32",
        "-o",
        o,
    ]);
    assert!(
        err.contains("value 0x20 does not fit field Header[9].KBase0: 5 bit(s), at most 0x1f"),
        "{err}"
    );
    let err = run_err(&[
        "hwx",
        "patch",
        c,
        "--td",
        "0",
        "--set",
        "Common.Nope=1",
        "-o",
        o,
    ]);
    assert!(err.contains("unknown field `Common.Nope`"), "{err}");
    let err = run_err(&[
        "hwx",
        "patch",
        c,
        "--td",
        "0",
        "--set",
        "Header.KBase0",
        "-o",
        o,
    ]);
    assert!(err.contains("expected FIELD=VALUE"), "{err}");
    let err = run_err(&[
        "hwx",
        "patch",
        c,
        "--td",
        "0",
        "--set",
        "Header.KBase0=six",
        "-o",
        o,
    ]);
    assert!(err.contains("is not a number"), "{err}");
    assert!(!std::path::Path::new(o).exists(), "no output on error");
}

#[test]
fn diff_of_identical_tds_and_of_relu_vs_sigmoid() {
    let (Some(conv), Some(golden)) = (tg("ops/conv.hwx"), tg("2_compile/model.hwx.golden")) else {
        return;
    };
    let out = run_ok(&[
        "hwx",
        "diff",
        conv.to_str().unwrap(),
        golden.to_str().unwrap(),
    ]);
    assert!(out.ends_with("no field differs\n"), "{out}");
    let (relu, sigmoid) = (tg("ops/relu.hwx").unwrap(), tg("ops/sigmoid.hwx").unwrap());
    let out = run_ok(&[
        "hwx",
        "diff",
        relu.to_str().unwrap(),
        sigmoid.to_str().unwrap(),
    ]);
    for expected in [
        "TD 0 NE.MACCfg.NonlinearMode: 1 (0x1) -> 2 (0x2)",
        "TD 0 Header[9].KBE0: 0 (0x0) -> 1 (0x1)",
        "TD 0 KernelDMASrc.CoeffDMAConfig[0].En: 0 (0x0) -> 1 (0x1)",
        "TD 0 KernelDMASrc.CoeffBfrSize[0].MemBfrSize: 1 (0x1) -> 2 (0x2)",
    ] {
        assert!(
            out.lines().any(|l| l == expected),
            "missing `{expected}` in\n{out}"
        );
    }
}

#[test]
fn regs_lists_the_h13_map() {
    let out = run_ok(&["hwx", "regs"]);
    assert!(out.starts_with("h13 register map, 268 fields\n"), "{out}");
    assert!(
        out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == [
                "KernelDMASrc.CoeffBaseAddr[0].Addr",
                "0x1f848",
                "[31:6]",
                "64B"
            ]),
        "{out}"
    );
    let json = run_ok(&["--json", "hwx", "regs"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let fields = v["fields"].as_array().unwrap();
    assert_eq!(
        fields.iter().filter(|f| f["provisional"] == false).count(),
        258
    );
    let err = run_err(&["hwx", "regs", "--generation", "h11"]);
    assert!(err.contains("no register map for h11"), "{err}");
    let out = run_ok(&["hwx", "regs", "--generation", "h16"]);
    assert!(
        out.lines()
            .next()
            .unwrap()
            .contains("(provisional: transcribed from freedomtan's notes"),
        "{out}"
    );
    // freedomtan's H16 KernelDMA: CoeffDMAConfig0 at 0x5520, CacheHint in bits 4-7.
    assert!(
        out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == [
                "KernelDMASrc.CoeffDMAConfig0.CacheHint",
                "0x05520",
                "[7:4]",
                "provisional"
            ]),
        "{out}"
    );
}

#[test]
fn other_containers_decode() {
    let Some(asahi) = corpus_dir("asahi-ane") else {
        return;
    };
    let exp = asahi.join("eiln-ane-h13-kernels/unary/exp.bin");
    let out = run_ok(&["hwx", "disasm", exp.to_str().unwrap()]);
    assert!(
        out.lines()
            .next()
            .unwrap()
            .ends_with(": anec-payload h13, 1 TD(s), stream at 0x0"),
        "{out}"
    );
    assert!(out.contains(": activation lut k1x1"), "{out}");
    let npy = asahi.join("m1n1-eiln-ane-td-templates/matmul2d_base.npy");
    let out = run_ok(&["hwx", "disasm", npy.to_str().unwrap()]);
    assert!(
        out.lines()
            .next()
            .unwrap()
            .ends_with(": npy-template h13, 5 TD(s), stream at 0x0"),
        "{out}"
    );
    assert!(out.contains("\nTD 2 @ 0x600 (0x278 bytes, h13)"), "{out}");
    let tmp = tempfile::tempdir().unwrap();
    let o = tmp.path().join("x.npy");
    let err = run_err(&[
        "hwx",
        "patch",
        npy.to_str().unwrap(),
        "--td",
        "0",
        "--set",
        "Header.TID=1",
        "-o",
        o.to_str().unwrap(),
    ]);
    assert!(
        err.contains("patching needs the TD bytes in the file"),
        "{err}"
    );
}

#[test]
fn garbage_is_an_error_with_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("junk.bin");
    // A 10-word header, then a command announcing 64 registers with 1 present.
    let mut bytes = vec![0u8; 40];
    bytes.extend_from_slice(&0xFC01_F800u32.to_le_bytes());
    bytes.extend_from_slice(&[1, 0, 0, 0]);
    std::fs::write(&f, &bytes).unwrap();
    let err = run_err(&["hwx", "disasm", f.to_str().unwrap()]);
    assert!(err.contains("at byte offset 0x28"), "{err}");
    let missing = tmp.path().join("missing.hwx");
    let err = run_err(&["hwx", "disasm", missing.to_str().unwrap()]);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn non_h13_programs_are_refused_not_guessed() {
    let Some(conv) = tg("ops/conv.hwx") else {
        return;
    };
    let mut bytes = std::fs::read(&conv).unwrap();
    bytes[8] = 6; // cpusubtype 6 = H15 (reference §1.1)
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("h15.hwx");
    std::fs::write(&f, &bytes).unwrap();
    let err = run_err(&["hwx", "disasm", f.to_str().unwrap()]);
    assert!(
        err.contains("cannot decode H15 task descriptors: anekit decodes H13 only"),
        "{err}"
    );
}
