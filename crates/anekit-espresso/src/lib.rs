//! anekit-espresso (in progress).
