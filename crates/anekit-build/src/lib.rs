//! Write ANE programs: graph builder with shape checks, canned models, lowering to MIL text + weights per chip, optimisation passes
