//! anekit-blob (in progress).
