//! From video frames to names: the analyzer and what it uses.

pub mod analyzer;
pub mod appearance;
pub mod backend;
pub mod discovery;
pub mod identity;
pub mod motion;
pub mod scene_cut;
pub mod schedule;
pub mod search;
pub mod tracker;
pub mod worker;
