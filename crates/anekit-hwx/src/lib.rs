//! anekit-hwx (in progress).
