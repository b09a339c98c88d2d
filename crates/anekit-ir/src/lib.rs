//! anekit-ir (in progress).
