//! Core ML backend (see below).
