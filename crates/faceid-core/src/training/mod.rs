//! From labelled photos to a model's training set: which photos to leave out and why, which
//! face of a group photo is the person, and where "unknown" begins.

pub mod calibration;
pub mod cleaning;
pub mod cohort;
pub mod group_photo;
pub mod likeness;
