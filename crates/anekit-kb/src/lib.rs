//! The ANE knowledge base as typed data: descriptor structs, layer kinds, codes, private classes, XPC services, entitlements, chips
