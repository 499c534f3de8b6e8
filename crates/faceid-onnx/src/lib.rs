//! faceid-onnx: gst-faceid's ONNX face models, run by ONNX Runtime opened at run time.
//!
//! - [`runtime`]: finding the files (`libonnxruntime.so`, the weights) the way dlib's are found,
//!   and opening ONNX Runtime once per process.
//! - [`align`]: the similarity transform onto the ArcFace template and the warp (plain Rust).
//! - [`sface`]: SFace (OpenCV zoo, 2021dec, Apache-2.0): 128 numbers a face, from the aligned
//!   112x112 face.
//! - [`yunet`]: YuNet (OpenCV zoo, 2023mar, MIT): faces with five landmarks from a 640x640
//!   input, decoded in plain Rust; weights compiled in.

pub mod align;
pub mod runtime;
pub mod sface;
pub mod yunet;

pub use runtime::{OnnxConfig, OnnxError, resolve_onnx_dir};
pub use sface::Sface;
pub use yunet::Yunet;
