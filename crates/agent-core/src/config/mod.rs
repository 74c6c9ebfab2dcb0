//! `.aidx.yml` configuration.
