//! The host's authoritative documents (being written).

#[derive(Default)]
pub struct Documents {}
