//! CNN building blocks (burn modules), presets and task types for audio tagging.
#![warn(missing_docs)]
