//! The MIL dialect a chip accepts on the in-memory path (private-api.md §9), from the
//! knowledge base's chip table (`anekit_kb::chips`), and the check of a program against it.
//!
//! M1/M2 want `program(1.0)` + `func main<ios16>` with fp16 I/O and no `cast`; M4/M5 want
//! `program(1.3)` + `func main<ios18>` and accept fp32 I/O with in-graph casts. Mixing a 1.0
//! header with an ios18 function fails with `InvalidMILProgram` on every chip. [source]

use crate::error::RuntimeError;
use anekit_ir::Program;
use anekit_kb::chips::{self, Generation, MilDialect};

/// The dialect for a chip named by marketing name (`M1`, `m4 pro`), SoC id (`t8103`) or
/// generation (`h13`, `H16G`).
pub fn dialect_for_chip(chip: &str) -> Result<(&'static MilDialect, String), RuntimeError> {
    if let Some(c) = chips::by_name(chip)
        && let Some(fact) = c.mil
    {
        return Ok((fact.dialect, c.name.to_string()));
    }
    let lower = chip.trim().to_ascii_lowercase();
    let generation = Generation::ALL.into_iter().find(|g| {
        let name = g.name().to_ascii_lowercase();
        // `h16`, or a variant such as `h16g` / `h13j`.
        lower == name || (lower.len() == name.len() + 1 && lower.starts_with(&name))
    });
    match generation {
        Some(g) => Ok((g.mil_dialect(), g.name().to_string())),
        None => Err(RuntimeError::Plan {
            name: chip.to_string(),
            reason: "unknown chip (try m1, m4, h13, h16; `ane kb chips` lists them)".into(),
        }),
    }
}

/// What in `program` the dialect's compiler would reject. `function` is the function to run.
pub fn dialect_problems(program: &Program, function: &str, dialect: &MilDialect) -> Vec<String> {
    let mut problems = Vec::new();
    if program.version != dialect.program_version {
        problems.push(format!(
            "program({}) but this chip wants program({})",
            program.version, dialect.program_version
        ));
    }
    for f in &program.functions {
        // The header and the opset must agree on every chip (dev-erik commit 54aa4d2).
        let newer_than_ios16 = !matches!(f.opset_text.as_str(), "ios15" | "ios16");
        if program.version == "1.0" && newer_than_ios16 {
            problems.push(format!(
                "function `{}` is <{}> under a program(1.0) header (InvalidMILProgram)",
                f.name, f.opset_text
            ));
        }
        if f.name == function && f.opset_text != dialect.opset {
            problems.push(format!(
                "function `{}` is <{}> but this chip wants <{}>",
                f.name, f.opset_text, dialect.opset
            ));
        }
        if f.name != function || dialect.fp32_io {
            continue;
        }
        let io_ids = f.inputs.iter().chain(&f.outputs);
        for v in io_ids.filter_map(|&id| f.value(id)) {
            if let anekit_ir::types::Type::Tensor(t) = &v.ty
                && t.dtype != anekit_core::DType::Fp16
            {
                problems.push(format!(
                    "`{}` is {} but this chip takes fp16 I/O only",
                    v.name, t.dtype
                ));
            }
        }
        if f.ops.iter().any(|op| op.kind == "cast") {
            problems.push(format!(
                "function `{}` uses cast, unsupported on this chip",
                f.name
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{ProgramSource, WeightSource};

    fn program(text: &str) -> Program {
        ProgramSource::from_text(text, WeightSource::None)
            .program()
            .unwrap()
    }

    const V13_FP32_CAST: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp32, [1, 4, 1, 8]> x) {\n            string dt = const()[name = string(\"dt\"), val = string(\"fp16\")];\n            tensor<fp16, [1, 4, 1, 8]> h = cast(dtype = dt, x = x)[name = string(\"h\")];\n            tensor<fp16, [1, 4, 1, 8]> y = relu(x = h)[name = string(\"y\")];\n        } -> (y);\n}\n";

    #[test]
    fn chips_map_to_their_dialects() {
        let (m1, name) = dialect_for_chip("m1").unwrap();
        assert_eq!(name, "M1");
        assert_eq!(
            (m1.program_version, m1.opset, m1.fp32_io),
            ("1.0", "ios16", false)
        );
        let (m4, _) = dialect_for_chip("M4 Pro").unwrap();
        assert_eq!(
            (m4.program_version, m4.opset, m4.fp32_io),
            ("1.3", "ios18", true)
        );
        let (h13, name) = dialect_for_chip("H13G").unwrap();
        assert_eq!(name, "H13");
        assert_eq!(h13.program_version, "1.0");
        let (h16, _) = dialect_for_chip("h16").unwrap();
        assert_eq!(h16.opset, "ios18");
        assert!(dialect_for_chip("z80").is_err());
    }

    #[test]
    fn fp32_io_with_cast_fits_m4_but_not_m1() {
        let p = program(V13_FP32_CAST);
        let (m4, _) = dialect_for_chip("m4").unwrap();
        assert!(dialect_problems(&p, "main", m4).is_empty());
        let (m1, _) = dialect_for_chip("m1").unwrap();
        assert_eq!(
            dialect_problems(&p, "main", m1),
            vec![
                "program(1.3) but this chip wants program(1.0)".to_string(),
                "function `main` is <ios18> but this chip wants <ios16>".to_string(),
                "`x` is fp32 but this chip takes fp16 I/O only".to_string(),
                "function `main` uses cast, unsupported on this chip".to_string(),
            ]
        );
    }

    #[test]
    fn old_header_with_new_opset_is_flagged_everywhere() {
        let p = program(
            "program(1.0)\n{\n    func main<ios18>(tensor<fp16, [1, 4, 1, 8]> x) {\n            tensor<fp16, [1, 4, 1, 8]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n",
        );
        let (m4, _) = dialect_for_chip("m4").unwrap();
        assert_eq!(
            dialect_problems(&p, "main", m4),
            vec![
                "program(1.0) but this chip wants program(1.3)".to_string(),
                "function `main` is <ios18> under a program(1.0) header (InvalidMILProgram)"
                    .to_string(),
            ]
        );
    }
}
