//! Photos gathered for training, on top of an existing model's: photos with one face, and
//! group photos whose face is decided at training time.

use super::{LeftOut, LeftOutKind, Model, ModelError, Sample, TrainOptions};
use crate::encoding::{EncoderId, Encoding};

/// One face of a training photo with several faces, with its motion-blurred copy.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupFace {
    /// The face's encoding.
    pub encoding: Encoding,
    /// Its motion-blurred copy's encoding, when made.
    pub motion_blurred: Option<Encoding>,
    /// Its box area in pixels.
    pub area: i64,
}

/// A training photo with several faces, decided at training time.
#[derive(Clone, Debug)]
struct GroupPhoto {
    label: usize,
    faces: Vec<GroupFace>,
    source: String,
}

/// Encodings gathered for training, on top of an existing model's (faceidtrain's `append`).
/// A label trained again replaces its earlier photos, so running the same person's training
/// twice does not count their photos twice.
#[derive(Clone, Debug, Default)]
pub struct TrainingSet {
    labels: Vec<String>,
    samples: Vec<Sample>,
    group_photos: Vec<GroupPhoto>,
    /// Group photos an earlier training could not decide: reported again, never trained on.
    undecided: Vec<LeftOut>,
    renewed: Vec<bool>,
    /// The user's strangers ([`Model::strangers`]): kept from the model appended to, and added.
    strangers: Vec<Encoding>,
}

impl TrainingSet {
    /// Starts from nothing, or from the photos of an existing model.
    pub fn new(existing: Option<&Model>) -> TrainingSet {
        match existing {
            Some(m) => TrainingSet {
                labels: m.labels.clone(),
                samples: m
                    .samples
                    .iter()
                    .cloned()
                    .chain(
                        m.left_out
                            .iter()
                            .filter(|l| l.kind != LeftOutKind::GroupPhoto)
                            .map(|l| l.sample.clone()),
                    )
                    .collect(),
                group_photos: Vec::new(),
                undecided: m
                    .left_out
                    .iter()
                    .filter(|l| l.kind == LeftOutKind::GroupPhoto)
                    .cloned()
                    .collect(),
                renewed: vec![false; m.labels.len()],
                strangers: m.strangers.clone(),
            },
            None => TrainingSet::default(),
        }
    }

    /// Adds one photo's encoding (and that of its motion-blurred copy, when made) for `label`.
    pub fn add(
        &mut self,
        label: &str,
        encoding: Encoding,
        motion_blurred: Option<Encoding>,
        source: String,
    ) {
        let index = self.renew(label);
        self.samples.push(Sample {
            label: index,
            encoding,
            source,
            motion_blurred,
        });
    }

    /// Adds a photo with several faces for `label`; which face is the person is decided when
    /// training, against the person's photos with one face ([`crate::training::group_photo`]).
    pub fn add_group_photo(&mut self, label: &str, faces: Vec<GroupFace>, source: String) {
        if faces.is_empty() {
            return;
        }
        let index = self.renew(label);
        self.group_photos.push(GroupPhoto {
            label: index,
            faces,
            source,
        });
    }

    /// The index of `label`, whose earlier photos (from an appended model) make way for this
    /// session's.
    fn renew(&mut self, label: &str) -> usize {
        let index = match self.labels.iter().position(|l| l == label) {
            Some(i) => i,
            None => {
                self.labels.push(label.to_string());
                self.renewed.push(true);
                self.labels.len() - 1
            }
        };
        if !self.renewed[index] {
            self.samples.retain(|s| s.label != index);
            self.undecided.retain(|l| l.sample.label != index);
            self.renewed[index] = true;
        }
        index
    }

    /// Decides each group photo: the chosen face joins the samples; the others come back as
    /// left-out photos with the reason.
    fn resolve_group_photos(&mut self) -> Vec<LeftOut> {
        let photos = std::mem::take(&mut self.group_photos);
        let means = super::person_means(&self.samples, self.labels.len());
        let mut unresolved = Vec::new();
        for photo in photos {
            let own: Vec<&Encoding> = self
                .samples
                .iter()
                .filter(|s| s.label == photo.label)
                .map(|s| &s.encoding)
                .collect();
            let others: Vec<Encoding> = means
                .iter()
                .enumerate()
                .filter(|(l, _)| *l != photo.label)
                .filter_map(|(_, m)| *m)
                .collect();
            let candidates: Vec<crate::training::group_photo::Candidate> = photo
                .faces
                .iter()
                .map(|f| crate::training::group_photo::Candidate {
                    encoding: f.encoding,
                    area: f.area,
                })
                .collect();
            match crate::training::group_photo::choose_face(&candidates, &own, &others) {
                Ok(i) => {
                    let face = &photo.faces[i];
                    self.samples.push(Sample {
                        label: photo.label,
                        encoding: face.encoding,
                        source: photo.source,
                        motion_blurred: face.motion_blurred,
                    });
                }
                Err(why) => {
                    let face = photo
                        .faces
                        .iter()
                        .max_by_key(|f| f.area)
                        .unwrap_or(&photo.faces[0]);
                    let label = self.labels.get(photo.label).map_or("", String::as_str);
                    unresolved.push(LeftOut {
                        kind: LeftOutKind::GroupPhoto,
                        reason: why.describe(photo.faces.len(), label),
                        sample: Sample {
                            label: photo.label,
                            encoding: face.encoding,
                            source: photo.source,
                            motion_blurred: face.motion_blurred,
                        },
                    });
                }
            }
        }
        unresolved
    }

    /// Encodings added in this session, per label (labels in model order, zero when none).
    pub fn added_counts(&self) -> Vec<(String, usize)> {
        self.labels
            .iter()
            .enumerate()
            .filter(|(i, _)| self.renewed[*i])
            .map(|(i, l)| {
                (
                    l.clone(),
                    self.samples.iter().filter(|s| s.label == i).count(),
                )
            })
            .collect()
    }

    /// Whether this session added anything.
    pub fn has_new_samples(&self) -> bool {
        self.renewed.iter().any(|r| *r)
    }

    /// Whether the set holds anyone's photos (an appended model's or this run's).
    pub fn has_samples(&self) -> bool {
        !self.samples.is_empty()
    }

    /// Adds faces of people who must stay unknown (every face of a strangers' photo).
    pub fn add_strangers(&mut self, faces: &[Encoding]) {
        self.strangers.extend_from_slice(faces);
    }

    /// How many strangers' faces the set holds (the model's and this run's).
    pub fn stranger_count(&self) -> usize {
        self.strangers.len()
    }

    /// Trains a model over every photo. A label whose photos were all group photos none of
    /// which could be decided is left out of the model.
    pub fn train(
        mut self,
        encoder: EncoderId,
        options: &TrainOptions,
    ) -> Result<Model, ModelError> {
        let mut unresolved = self.resolve_group_photos();
        unresolved.append(&mut self.undecided);
        let options = TrainOptions {
            strangers: std::mem::take(&mut self.strangers),
            ..options.clone()
        };
        let mut model = Model::train(self.labels.clone(), self.samples, encoder, &options)?;
        // Model::train drops labels without a sample: keep the reasons of those that remain.
        for mut left in unresolved {
            let name = &self.labels[left.sample.label];
            if let Some(index) = model.label_index(name) {
                left.sample.label = index;
                model.left_out.push(left);
            }
        }
        Ok(model)
    }
}
