//! Synthetic encodings and encoder identities for the unit tests.

use crate::encoding::{ENCODING_DIM, EncoderId, EncoderKind, Encoding};

/// An encoder identity that is no real weight file.
pub fn encoder(file_name: &str) -> EncoderId {
    EncoderId {
        file_name: file_name.into(),
        ..EncoderKind::DlibResnet.id("ab".repeat(32))
    }
}

/// A person-like encoding: 0.5 along `axis`, plus a small pattern that `seed` varies (photos of
/// one person: one axis, several seeds).
pub fn person_photo(seed: f32, axis: usize) -> Encoding {
    let mut e = [0.0f32; ENCODING_DIM];
    for (i, v) in e.iter_mut().enumerate() {
        *v = ((i as f32 * 0.37 + seed).sin()) * 0.02;
    }
    e[axis] += 0.5;
    e
}
