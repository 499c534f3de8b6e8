//! The model file: JSON with a format name and version first, validated on load (never a
//! panic), written atomically (a temporary file beside the target, renamed over it).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    DEFAULT_MARGIN, FORMAT_NAME, FORMAT_VERSION, LeftOut, LeftOutKind, MAX_MODEL_FILE_BYTES, Model,
    ModelError, Sample, corrupt,
};
use crate::encoding::{ENCODING_DIM, EncoderId, EncoderKind, Encoding};
use crate::metric::shrinkage_for;

// ---- file format -------------------------------------------------------------------------------

#[derive(Deserialize)]
struct FileHeader {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSample {
    label: usize,
    source: String,
    encoding: Vec<f32>,
    /// Set for photos the cleaning left out: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    left_out: Option<String>,
    /// Version 2: the encoding of the photo blurred sideways, when training made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    motion_blurred: Option<Vec<f32>>,
}

/// The classifier: version 3 `{"kind": "whitened-centroids", "shrinkage", "margin"}`;
/// versions 1 and 2 `{"kind": "softmax", "weights", "bias"}` (read, checked, not used).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileClassifier {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shrinkage: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    margin: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weights: Option<Vec<Vec<f32>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bias: Option<Vec<f32>>,
}

const CLASSIFIER_KIND: &str = "whitened-centroids";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: String,
    version: u32,
    encoder: EncoderId,
    labels: Vec<String>,
    counts: Vec<usize>,
    unknown_distance: f32,
    /// Version 2 (0 when absent: version 1 files have no blurred copies).
    #[serde(default)]
    blur_penalty: f32,
    classifier: FileClassifier,
    samples: Vec<FileSample>,
    /// Version 4: the user's strangers' encodings (`--strangers`), when given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    strangers: Vec<Vec<f32>>,
}

impl Model {
    /// Parses and validates a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        if bytes.is_empty() {
            return Err(corrupt("the file is empty"));
        }
        check_header(bytes)?;
        let file: ModelFile = serde_json::from_slice(bytes).map_err(|e| corrupt(format!("{e}")))?;
        if file.version < 4 && file.encoder.name != EncoderKind::DlibResnet.name() {
            return Err(corrupt(format!(
                "a version {} file names the encoder {:?}: only dlib's came before version 4",
                file.version, file.encoder.name
            )));
        }
        if file.encoder.dimension != ENCODING_DIM {
            return Err(corrupt(format!(
                "the encoder's encodings have {} numbers; this build reads {ENCODING_DIM}",
                file.encoder.dimension
            )));
        }
        let n = file.labels.len();
        if file.counts.len() != n {
            return Err(corrupt("counts do not match labels"));
        }
        let mut samples = Vec::with_capacity(file.samples.len());
        let mut left_out = Vec::new();
        for s in file.samples {
            let (sample, left_out_reason) = read_sample(s, file.version)?;
            match left_out_reason {
                Some(reason) => left_out.push(LeftOut {
                    sample,
                    kind: LeftOutKind::of_words(&reason),
                    reason,
                }),
                None => samples.push(sample),
            }
        }
        let photos = samples.len();
        let (shrinkage, margin) = classifier_settings(&file.classifier, file.version, photos, n)?;
        let strangers = file
            .strangers
            .iter()
            .map(|e| {
                Encoding::try_from(e.as_slice()).map_err(|_| {
                    corrupt(format!(
                        "a stranger's encoding has {} numbers, not {ENCODING_DIM}",
                        e.len()
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let model = Model {
            strangers,
            labels: file.labels,
            samples,
            left_out,
            encoder: file.encoder,
            shrinkage,
            margin,
            unknown_distance: file.unknown_distance,
            blur_penalty: file.blur_penalty,
        };
        model.validate()?;
        if model.counts() != file.counts {
            return Err(corrupt("counts do not match the samples"));
        }
        Ok(model)
    }

    /// Serialises the model.
    pub fn to_bytes(&self) -> Vec<u8> {
        let file = ModelFile {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            encoder: self.encoder.clone(),
            labels: self.labels.clone(),
            counts: self.counts(),
            unknown_distance: self.unknown_distance,
            blur_penalty: self.blur_penalty,
            strangers: self.strangers.iter().map(|e| e.to_vec()).collect(),
            classifier: FileClassifier {
                kind: CLASSIFIER_KIND.into(),
                shrinkage: Some(self.shrinkage),
                margin: Some(self.margin),
                weights: None,
                bias: None,
            },
            samples: self
                .samples
                .iter()
                .map(|s| (s, None))
                .chain(
                    self.left_out
                        .iter()
                        .map(|l| (&l.sample, Some(l.reason.clone()))),
                )
                .map(|(s, left_out)| FileSample {
                    label: s.label,
                    source: s.source.clone(),
                    encoding: s.encoding.to_vec(),
                    left_out,
                    motion_blurred: s.motion_blurred.map(|e| e.to_vec()),
                })
                .collect(),
        };
        // Serialising plain structs of strings and numbers cannot fail.
        serde_json::to_vec(&file).unwrap_or_default()
    }

    /// Loads and validates a model file.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let meta = std::fs::metadata(path).map_err(|e| ModelError::Io(path.to_path_buf(), e))?;
        if meta.len() > MAX_MODEL_FILE_BYTES {
            return Err(corrupt(format!(
                "{} is {} bytes, more than the {MAX_MODEL_FILE_BYTES} a model file may have",
                path.display(),
                meta.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| ModelError::Io(path.to_path_buf(), e))?;
        Model::from_bytes(&bytes)
    }

    /// Writes the model to `path` atomically: a temporary file in the same folder, flushed to
    /// disk, then renamed over `path`. On failure `path` is untouched.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        write_atomically(path, &self.to_bytes())
    }
}

/// The format name and version, checked before the rest is read.
fn check_header(bytes: &[u8]) -> Result<(), ModelError> {
    let header: FileHeader = serde_json::from_slice(bytes).map_err(|e| corrupt(format!("{e}")))?;
    if header.format != FORMAT_NAME {
        return Err(corrupt(format!(
            "format is {:?}, not {FORMAT_NAME:?}",
            header.format
        )));
    }
    if header.version > FORMAT_VERSION {
        return Err(ModelError::NewerVersion(header.version));
    }
    if header.version == 0 {
        return Err(corrupt(format!(
            "unknown format version {}",
            header.version
        )));
    }
    Ok(())
}

/// One sample of the file, checked, and the reason it was left out, if it was.
fn read_sample(s: FileSample, version: u32) -> Result<(Sample, Option<String>), ModelError> {
    let encoding: Encoding = s.encoding.as_slice().try_into().map_err(|_| {
        corrupt(format!(
            "an encoding has {} numbers, not {ENCODING_DIM}",
            s.encoding.len()
        ))
    })?;
    let motion_blurred = match s.motion_blurred {
        None => None,
        Some(_) if version < 2 => {
            return Err(corrupt("a version 1 file with motion-blurred encodings"));
        }
        Some(e) => Some(e.as_slice().try_into().map_err(|_| {
            corrupt(format!(
                "a motion-blurred encoding has {} numbers, not {ENCODING_DIM}",
                e.len()
            ))
        })?),
    };
    let sample = Sample {
        label: s.label,
        encoding,
        source: s.source,
        motion_blurred,
    };
    Ok((sample, s.left_out))
}

/// The classifier's shrinkage and margin: stored since version 3; a version 1 or 2 file's
/// softmax is checked and the classifier rebuilt from the encodings of its `photos` kept photos
/// and `n` people.
fn classifier_settings(
    classifier: &FileClassifier,
    version: u32,
    photos: usize,
    n: usize,
) -> Result<(f32, f32), ModelError> {
    match (version, classifier.kind.as_str()) {
        (3.., CLASSIFIER_KIND) => Ok((
            classifier
                .shrinkage
                .ok_or_else(|| corrupt("the classifier has no shrinkage"))?,
            classifier
                .margin
                .ok_or_else(|| corrupt("the classifier has no margin"))?,
        )),
        (1 | 2, "softmax") => {
            // The softmax of older files is checked but not used: the classifier is rebuilt
            // from their encodings.
            let (Some(weights), Some(bias)) = (&classifier.weights, &classifier.bias) else {
                return Err(corrupt("the softmax has no weights"));
            };
            if weights.len() != ENCODING_DIM
                || weights.iter().any(|row| row.len() != n)
                || bias.len() != n
            {
                return Err(corrupt("classifier dimensions do not match the labels"));
            }
            Ok((shrinkage_for(photos, n), DEFAULT_MARGIN))
        }
        (_, kind) => Err(corrupt(format!(
            "unknown classifier {kind:?} in a version {} file",
            version
        ))),
    }
}

/// The photos the cleaning left out, as CSV (`label,source,reason`) or, when `json`, a JSON
/// array of `{"label", "source", "reason"}`.
pub fn left_out_report(model: &Model, json: bool) -> String {
    let label = |l: &LeftOut| {
        model
            .labels
            .get(l.sample.label)
            .cloned()
            .unwrap_or_default()
    };
    if json {
        let rows: Vec<serde_json::Value> = model
            .left_out
            .iter()
            .map(|l| serde_json::json!({"label": label(l), "source": l.sample.source, "reason": l.reason}))
            .collect();
        serde_json::Value::Array(rows).to_string()
    } else {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut out = String::from("label,source,reason\n");
        for l in &model.left_out {
            out.push_str(&format!(
                "{},{},{}\n",
                quote(&label(l)),
                quote(&l.sample.source),
                quote(&l.reason)
            ));
        }
        out
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it to `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let io = |e| ModelError::Io(path.to_path_buf(), e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io(std::io::Error::other("not a file name")))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}
