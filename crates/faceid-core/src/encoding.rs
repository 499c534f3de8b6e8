//! Face encodings and their identity: plain data shared by the face pipeline, the model file
//! and the tools that read model files (no dlib here, so the fuzz targets build without it).

/// Numbers in one face encoding.
pub const ENCODING_DIM: usize = 128;
/// One face encoding from dlib's ResNet.
pub type Encoding = [f32; ENCODING_DIM];

/// Identity of the encoder weights that made some encodings: encodings from different weights
/// do not compare.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncoderId {
    /// File name of the weights (informative).
    pub file_name: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// Euclidean distance between two encodings (dlib's measure: below about 0.6, the same
/// person), accumulated in `f64`; NaN if either holds NaN.
pub fn distance(a: &Encoding, b: &Encoding) -> f32 {
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum();
    sum.sqrt() as f32
}

/// Euclidean distance between two array views of equal length.
pub fn distance_view(a: &ndarray::ArrayView1<'_, f32>, b: &ndarray::ArrayView1<'_, f32>) -> f32 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}
