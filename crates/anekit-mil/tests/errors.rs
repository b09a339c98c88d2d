//! Parse errors: exact `line:col`, what was expected and what was found.

use anekit_mil::{MAX_DEPTH, parse};

fn err(src: &str) -> (usize, usize, String) {
    let e = parse(src).expect_err("should not parse");
    (e.line, e.col, e.message())
}

const HEAD: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1]> x) {\n";

#[test]
fn missing_paren_after_arguments() {
    let src =
        format!("{HEAD}            tensor<fp16, [1]> y = relu(x = x;\n        }} -> (y);\n}}");
    let e = parse(&src).unwrap_err();
    assert_eq!((e.line, e.col), (4, 45));
    assert_eq!(e.expected, "`)` after argument list");
    assert_eq!(e.found, "`;`");
    assert_eq!(
        e.to_string(),
        "4:45: expected `)` after argument list, found `;`"
    );
    assert_eq!(&src[e.span.range()], ";");
}

#[test]
fn unknown_dtype_names_the_dtype() {
    let src =
        format!("{HEAD}            tensor<fp8, [1]> y = relu(x = x);\n        }} -> (y);\n}}");
    let (line, col, msg) = err(&src);
    assert_eq!((line, col), (4, 20));
    assert_eq!(
        msg,
        "expected a dtype (bool, string, fp16, fp32, fp64, bf16, int4..int64, uint1..uint64), found unknown dtype `fp8`"
    );
}

#[test]
fn missing_semicolon_after_statement() {
    let src =
        format!("{HEAD}            tensor<fp16, [1]> y = relu(x = x)\n        }} -> (y);\n}}");
    assert_eq!(
        err(&src),
        (
            5,
            9,
            "expected `;` at the end of the statement, found `}`".into()
        )
    );
}

#[test]
fn header_errors() {
    assert_eq!(
        err(""),
        (
            1,
            1,
            "expected `program` at the start of the file, found end of input".into()
        )
    );
    assert_eq!(
        err("programme(1.0)"),
        (
            1,
            1,
            "expected `program` at the start of the file, found `programme`".into()
        )
    );
    assert_eq!(
        err("program(x)"),
        (
            1,
            9,
            "expected a program version such as `1.0` or `1.3`, found `x`".into()
        )
    );
    assert_eq!(
        err("program(1.3)\n{\n  fun"),
        (
            3,
            3,
            "expected `func` or `}` closing the program, found `fun`".into()
        )
    );
    assert_eq!(
        err("program(1.3)\n{\n}\n}"),
        (
            4,
            1,
            "expected end of input after the program's closing `}`, found `}`".into()
        )
    );
    assert_eq!(
        err("program(1.3)\n{\n    func main(tensor<fp16, [1]> x) {\n"),
        (
            3,
            14,
            "expected `<` and an opset (e.g. `<ios18>`) after the function name, found `(`".into()
        )
    );
}

#[test]
fn block_and_result_errors() {
    let src = format!("{HEAD}        }} (y);\n}}");
    assert_eq!(
        err(&src),
        (
            4,
            11,
            "expected `->` and the output list after a block's `}`, found `(`".into()
        )
    );
    let src = format!("{HEAD}            tensor<fp16, [1]> y relu(x = x);\n");
    assert_eq!(
        err(&src),
        (
            4,
            33,
            "expected `=` or `,` after a statement result, found `relu`".into()
        )
    );
    let src = format!("{HEAD}            y = relu(x = x);\n");
    assert_eq!(
        err(&src),
        (4, 13, "expected a dtype (bool, string, fp16, fp32, fp64, bf16, int4..int64, uint1..uint64), found unknown dtype `y`".into())
    );
    let src = format!("{HEAD}            tensor<fp16, [1]> y = relu(x = 3);\n");
    assert_eq!(
        err(&src),
        (
            4,
            44,
            "expected a value name, a typed literal or `(` as argument value, found `3`".into()
        )
    );
    let src = format!("{HEAD}            tensor<fp16, [1]> y = relu(x = x)[name = \"y\"];\n");
    assert_eq!(
        err(&src),
        (
            4,
            54,
            "expected a type (a dtype such as `fp16`, or `tensor<...>`), found a string".into()
        )
    );
}

#[test]
fn literal_errors() {
    let stmt =
        |lit: &str| format!("{HEAD}            tensor<fp16, [1]> y = const()[val = {lit}];\n");
    assert_eq!(
        err(&stmt("string(\"abc)")),
        (
            4,
            56,
            "expected `\"` closing the string, found end of input".into()
        )
    );
    assert_eq!(
        err(&stmt(r#"string("a\qb")"#)),
        (
            4,
            58,
            r#"expected an escape `\"`, `\\`, `\n`, `\t` or `\r` in a string, found `\q`"#.into()
        )
    );
    assert_eq!(
        err(&stmt("fp16(0x1.8)")),
        (
            4,
            59,
            "expected `p` and a binary exponent in a hex float (`0x1p-1`), found `)`".into()
        )
    );
    assert_eq!(
        err(&stmt("fp16(1e)")),
        (
            4,
            56,
            "expected digits in the exponent of a decimal float, found `)`".into()
        )
    );
    assert_eq!(
        err(&stmt("int64(340282366920938463463374607431768211456)")),
        (4, 55, "expected an integer that fits in 128 bits, found `340282366920938463463374607431768211456`".into())
    );
    assert_eq!(err(&stmt("tensor<int32, [2]>([1, 2,])")), (4, 74, "expected a value (number, string, `true`, `false`, `[`, `{`, `(` or `BLOBFILE`), found `]`".into()));
    assert_eq!(
        err(&stmt("tensor<int32, [x]>([1])")),
        (
            4,
            64,
            "expected a dimension (integer or `?`), found `x`".into()
        )
    );
    assert_eq!(
        err(&stmt("tensor<fp16, [1]>(BLOBFILE(offset = uint64(64)))")),
        (
            4,
            76,
            "expected `path = ...` first in BLOBFILE(...), found `offset`".into()
        )
    );
    assert_eq!(
        err(&stmt("dict<string, string>({\"a\", \"b\"})")),
        (
            4,
            71,
            "expected `{` opening a dict entry `{key, value}`, found a string".into()
        )
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 100_000;
    let lit = format!("list<int32, 1>({}{})", "[".repeat(depth), "]".repeat(depth));
    let src = format!("{HEAD}            tensor<fp16, [1]> y = const()[val = {lit}];\n");
    let e = parse(&src).unwrap_err();
    assert_eq!(e.expected, format!("at most {MAX_DEPTH} levels of nesting"));
    let ty = format!("{}int32{}", "list<".repeat(depth), ", 1>".repeat(depth));
    let e = parse(&format!("{HEAD}            {ty} y = relu(x = x);\n")).unwrap_err();
    assert_eq!(e.expected, format!("at most {MAX_DEPTH} levels of nesting"));
    let tup = format!("{}x{}", "(".repeat(depth), ")".repeat(depth));
    let e = parse(&format!(
        "{HEAD}            tensor<fp16, [1]> y = concat(values = {tup});\n"
    ))
    .unwrap_err();
    assert_eq!(e.expected, format!("at most {MAX_DEPTH} levels of nesting"));
    // Just under the limit still parses.
    let ok = format!("list<int32, 1>({}{})", "[".repeat(200), "]".repeat(200));
    let src = format!(
        "{HEAD}            tensor<fp16, [1]> y = const()[val = {ok}];\n        }} -> (y);\n}}"
    );
    assert!(parse(&src).is_ok());
}

#[test]
fn columns_count_characters_not_bytes() {
    let src = format!(
        "{HEAD}            tensor<fp16, [1]> y = const()[val = string(\"\u{e9}\u{e9}\") ;\n"
    );
    let (line, col, msg) = err(&src);
    assert_eq!((line, col), (4, 62));
    assert_eq!(msg, "expected `,` or `]` in an attribute list, found `;`");
}

#[test]
fn invalid_utf8_is_a_positioned_error() {
    let e = anekit_mil::parse_bytes(b"program(1.3)\n{\xff\n}").unwrap_err();
    assert_eq!((e.line, e.col, e.span.start), (2, 2, 14));
    assert_eq!(e.message(), "expected UTF-8 text, found byte 0xFF");
    let ok = anekit_mil::parse_bytes(b"program(1.3)\n{\n}").unwrap();
    assert_eq!(ok.to_string(), "program(1.3)\n{\n}");
}
