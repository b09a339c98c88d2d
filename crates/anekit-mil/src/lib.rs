//! anekit-mil (in progress).
