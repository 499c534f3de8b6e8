//! Face encodings and their identity: plain data shared by the face pipeline, the model file
//! and the tools that read model files (no dlib here, so the fuzz targets build without it).

/// Numbers in one face encoding.
pub const ENCODING_DIM: usize = 128;
/// One face encoding from dlib's ResNet.
pub type Encoding = [f32; ENCODING_DIM];

/// SFace's default margin (see [`EncoderKind::default_margin`]).
pub const SFACE_MARGIN: f32 = 0.02;

/// The face encoders gst-faceid knows. A model file names the one that made its encodings
/// ([`EncoderId::kind`]); the element, `annotate`, `eval` and `discover` take it from there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncoderKind {
    /// dlib's ResNet (`dlib_face_recognition_resnet_model_v1.dat`, 2017): Euclidean distances,
    /// below about 0.6 the same person. The encoder of every model file before format 4.
    DlibResnet,
    /// SFace (OpenCV zoo, 2021dec, Apache-2.0) through ONNX Runtime: unit vectors compared by
    /// cosine, scaled by [`EncoderKind::scale`].
    Sface,
}

impl EncoderKind {
    /// Every kind, the default first.
    pub const ALL: [EncoderKind; 2] = [EncoderKind::Sface, EncoderKind::DlibResnet];

    /// The name model files, properties and the command use.
    pub fn name(self) -> &'static str {
        match self {
            EncoderKind::DlibResnet => "dlib",
            EncoderKind::Sface => "sface",
        }
    }

    /// The kind a name (as [`EncoderKind::name`] gives it) stands for.
    pub fn from_name(name: &str) -> Option<EncoderKind> {
        EncoderKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// How the raw network output becomes an encoding. SFace's are L2-normalised (compared by
    /// cosine) and then multiplied by this, so that its published same-person cut (cosine
    /// 0.363, a Euclidean distance of 1.129 between unit vectors) lands on dlib's 0.6: every
    /// distance of the project (unknown-distance bounds, duplicates, discovery's links) is
    /// written on dlib's scale, and the calibrations (unknown distance from strangers, blur
    /// penalty, whitening, own spread) are measured on the model's own encodings anyway.
    /// dlib's encodings are used as they come.
    pub fn scale(self) -> Option<f32> {
        match self {
            EncoderKind::DlibResnet => None,
            EncoderKind::Sface => Some(0.6 / 1.128_6),
        }
    }

    /// The margin a model trained with this encoder gets ([`crate::model::Model::margin`]):
    /// how much farther (whitened distance) the runner-up person must be for a name. dlib's
    /// 0.03 was measured on the BTS dev clips; SFace's, on the same scale, separates members
    /// with smaller gaps (see `MARGINS` in docs/design-choices.md).
    pub fn default_margin(self) -> f32 {
        match self {
            EncoderKind::DlibResnet => 0.03,
            EncoderKind::Sface => SFACE_MARGIN,
        }
    }

    /// A face farther from its best match than the model's own photos lie needs a lead over
    /// every other person of `margin * d / this` (`d` its distance): dlib's 0.3 asks a tenth
    /// of the distance at its margin. SFace's strangers of a group's own kind come with leads
    /// of a fortieth of their distance or less while its members' far faces lead by more
    /// (whitened track means on bts15 against a real TV family), so at SFace's margin this
    /// asks a fortieth.
    pub fn far_reference_distance(self) -> f32 {
        match self {
            EncoderKind::DlibResnet => 0.3,
            EncoderKind::Sface => SFACE_MARGIN * 40.0,
        }
    }

    /// Whether a face farther from its best match than the model's own photos lie (whitened)
    /// must also lie as near one of that person's photos as their own photos lie to each other
    /// (plain distance, the 95th percentile), or be unknown. On SFace this keeps a real East
    /// Asian TV family unnamed by a BTS model (5.7% of its faces named without it, 1.1% with),
    /// members' own faces named as before; on dlib, whose own photos lie as far apart as
    /// strangers do, it is not used.
    pub fn far_faces_within_own_photos(self) -> bool {
        self == EncoderKind::Sface
    }

    /// A network's raw output as an encoding: normalised and scaled where [`Self::scale`] says.
    pub fn finish(self, raw: &[f32]) -> Encoding {
        let mut out = [0f32; ENCODING_DIM];
        for (o, v) in out.iter_mut().zip(raw) {
            *o = *v;
        }
        if let Some(scale) = self.scale() {
            let norm = out
                .iter()
                .map(|v| f64::from(*v).powi(2))
                .sum::<f64>()
                .sqrt();
            if norm > 0.0 && norm.is_finite() {
                let factor = f64::from(scale) / norm;
                for v in &mut out {
                    *v = (f64::from(*v) * factor) as f32;
                }
            }
        }
        out
    }

    /// The identity model files record for encodings of this kind from weights with `sha256`.
    pub fn id(self, sha256: String) -> EncoderId {
        EncoderId {
            name: self.name().to_string(),
            file_name: match self {
                EncoderKind::DlibResnet => "dlib_face_recognition_resnet_model_v1.dat",
                EncoderKind::Sface => "face_recognition_sface_2021dec.onnx",
            }
            .to_string(),
            sha256,
            dimension: ENCODING_DIM,
            distance: match self {
                EncoderKind::DlibResnet => "euclidean",
                EncoderKind::Sface => "euclidean between unit vectors x 0.5316 (cosine)",
            }
            .to_string(),
        }
    }
}

fn dlib_name() -> String {
    EncoderKind::DlibResnet.name().to_string()
}

fn default_dimension() -> usize {
    ENCODING_DIM
}

fn euclidean() -> String {
    "euclidean".to_string()
}

/// Identity of the encoder weights that made some encodings: encodings from different weights
/// do not compare. Files before format 4 hold only the file name and hash: they are dlib's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncoderId {
    /// Which encoder ([`EncoderKind::name`]).
    #[serde(default = "dlib_name")]
    pub name: String,
    /// File name of the weights (informative).
    pub file_name: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Numbers in one encoding.
    #[serde(default = "default_dimension")]
    pub dimension: usize,
    /// How encodings are compared (informative).
    #[serde(default = "euclidean")]
    pub distance: String,
}

impl EncoderId {
    /// The encoder kind, if this build knows it.
    pub fn kind(&self) -> Option<EncoderKind> {
        EncoderKind::from_name(&self.name)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sface_outputs_become_unit_vectors_on_dlibs_scale_and_dlibs_stay_as_they_are() {
        let mut raw = [0f32; ENCODING_DIM];
        raw[0] = 3.0;
        raw[1] = 4.0;
        let e = EncoderKind::Sface.finish(&raw);
        let scale = EncoderKind::Sface.scale().unwrap();
        assert!((e[0] - 0.6 * scale).abs() < 1e-6 && (e[1] - 0.8 * scale).abs() < 1e-6);
        // SFace's same-person cut (cosine 0.363) lands on dlib's 0.6.
        let a = EncoderKind::Sface.finish(&{
            let mut v = [0f32; ENCODING_DIM];
            v[0] = 1.0;
            v
        });
        let angle = 0.363f32.acos();
        let b = EncoderKind::Sface.finish(&{
            let mut v = [0f32; ENCODING_DIM];
            v[0] = angle.cos();
            v[1] = angle.sin();
            v
        });
        assert!(
            (distance(&a, &b) - 0.6).abs() < 1e-3,
            "{}",
            distance(&a, &b)
        );
        assert_eq!(EncoderKind::DlibResnet.finish(&raw), raw);
    }

    #[test]
    fn encoder_names_round_trip_and_unknown_names_are_none() {
        for kind in EncoderKind::ALL {
            assert_eq!(EncoderKind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.id("ab".into()).kind(), Some(kind));
        }
        assert_eq!(EncoderKind::from_name("arcface"), None);
        // dlib's far-face rule is the one models before format 4 had.
        assert_eq!(EncoderKind::DlibResnet.far_reference_distance(), 0.3);
        assert_eq!(EncoderKind::DlibResnet.default_margin(), 0.03);
    }
}
