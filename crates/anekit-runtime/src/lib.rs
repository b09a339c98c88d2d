//! Backends for anekit programs: compile -> load -> evaluate -> unload with a compile budget (cpu, ane, coreml) and the ane serve helper
