//! Detection with dlib: HOG (scored, adjustable threshold, two strips on two cores, a working
//! width) or the CNN, on a frame view; boxes in frame pixels.

use std::sync::{Arc, Mutex, OnceLock};

use dlib_face_recognition::FaceDetectorTrait;
use faceid_core::detection::{DetectionConfig, DetectorKind};
use faceid_core::encoding::{EncoderId, Encoding};
use faceid_core::frame::FrameRef;
use faceid_core::geometry::FaceBox;
use faceid_core::video::backend::{BackendError, FaceFinder, LandmarkEncoder};

use crate::convert::{from_dlib, image_matrix};
use crate::hog::HogDetector;
use crate::weights::{Weights, lock};

/// Largest image the detector is given, in pixels (after upsampling). Bigger frames are
/// detected on a downscaled copy: an 8K frame upsampled twice would need gigabytes.
pub const MAX_DETECTION_PIXELS: usize = 4096 * 2304;

/// Finds and encodes faces. One per element (or per worker thread): the HOG detector inside is
/// not thread-safe; the weights are shared.
pub struct FacePipeline {
    weights: Arc<Weights>,
    /// The encoder when it is not dlib's ResNet (SFace): it encodes from dlib's landmarks.
    encoder: Option<Arc<dyn LandmarkEncoder>>,
    /// The detector when it is not dlib's (YuNet): used for [`DetectorKind::Yunet`] and for
    /// every local search.
    finder: Option<Arc<dyn FaceFinder>>,
    /// HOG detectors, one per detection thread (dlib's scanner is not thread-safe), made on
    /// first use ([`FacePipeline::hog`]).
    hogs: [OnceLock<Mutex<HogDetector>>; 2],
}

/// Score given to CNN detections, which carry no HOG score (see [`FacePipeline::detect_scored`]).
pub const CNN_SCORE: f32 = 1.0;

/// One HOG pass over columns `x0..x1` of the detection image, enlarged `factor` times.
struct StripJob {
    x0: usize,
    x1: usize,
    factor: usize,
}

impl StripJob {
    fn run(
        &self,
        hog: &HogDetector,
        rgb: &[u8],
        det_w: usize,
        det_h: usize,
        to_frame: f64,
        adjust_threshold: f64,
    ) -> Vec<(FaceBox, f32)> {
        let width = self.x1.saturating_sub(self.x0);
        if width == 0 || det_h == 0 {
            return Vec::new();
        }
        let strip: Vec<u8> = if width == det_w {
            rgb.to_vec()
        } else {
            (0..det_h)
                .flat_map(|y| &rgb[(y * det_w + self.x0) * 3..(y * det_w + self.x1) * 3])
                .copied()
                .collect()
        };
        let mut matrix = image_matrix(&strip, width, det_h);
        if self.factor > 1 {
            matrix = matrix.resize(width * self.factor, det_h * self.factor);
        }
        let scale = to_frame / self.factor.max(1) as f64;
        let offset = (self.x0 as f64 * to_frame).round() as i32;
        hog.detect(&matrix, adjust_threshold)
            .iter()
            .map(|d| {
                let b = from_dlib(&d.rect, scale);
                let b = FaceBox {
                    x: b.x + offset,
                    ..b
                };
                (b, d.score)
            })
            .collect()
    }
}

/// Merges `other` into `kept`, two detections of one face from different HOG passes of
/// [`FacePipeline::detect_hog_split`]: the face keeps the higher score. A box that dlib finds
/// at its usual threshold (score >= 0) keeps its place, as it did before detections had scores,
/// so threshold-0 results do not change; a weaker box (possible only with a negative
/// `adjust_threshold`, e.g. half a face cut by a strip border) gives way to a better-scoring
/// duplicate's box.
fn merge_duplicate(kept: &mut (FaceBox, f32), other: (FaceBox, f32)) {
    if kept.1 < 0.0 && other.1 > kept.1 {
        *kept = other;
    } else {
        kept.1 = kept.1.max(other.1);
    }
}

/// A HOG detector, or a panic: dlib builds it from weights compiled into the library, so only
/// running out of memory fails here.
fn new_hog() -> Mutex<HogDetector> {
    Mutex::new(HogDetector::new().expect("dlib builds its frontal face detector"))
}

impl FacePipeline {
    /// A pipeline over loaded weights.
    pub fn new(weights: Arc<Weights>) -> Self {
        FacePipeline {
            weights,
            encoder: None,
            finder: None,
            hogs: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// This pipeline with `finder` (`None`: dlib's detectors) finding the faces.
    pub fn with_finder(self, finder: Option<Arc<dyn FaceFinder>>) -> Self {
        FacePipeline { finder, ..self }
    }

    /// The plugged detector, if any.
    pub fn plugged_finder(&self) -> Option<&Arc<dyn FaceFinder>> {
        self.finder.as_ref()
    }

    /// A pipeline whose faces are encoded by `encoder` from dlib's landmarks (`None`: dlib's
    /// ResNet).
    pub fn with_encoder(weights: Arc<Weights>, encoder: Option<Arc<dyn LandmarkEncoder>>) -> Self {
        FacePipeline {
            encoder,
            ..FacePipeline::new(weights)
        }
    }

    /// HOG detector `i` (0 or 1), made on first use. The first one a process makes takes about
    /// 4 ms (350 ms when dlib decoded its text at run time: see `hog_detector.cpp`; later ones
    /// are copies), and an element's `start` (which makes a pipeline, on the host's thread) does
    /// not make any: in the live mode the workers, on their own threads, make the first, and
    /// the streaming thread's are made when it first follows a face.
    fn hog(&self, i: usize) -> &Mutex<HogDetector> {
        self.hogs[i.min(1)].get_or_init(new_hog)
    }

    /// The shared weights.
    pub fn weights(&self) -> &Arc<Weights> {
        &self.weights
    }

    /// Looks for a face near where one is expected: the region `around` grown by half its size
    /// on each side, scaled so that a face of `around`'s size becomes about 100 pixels (the
    /// HOG detector's sweet spot), detected with HOG. Much cheaper than a full-frame pass; used
    /// to follow known faces between full detections. Boxes in frame pixels.
    pub fn detect_near(&self, frame: &FrameRef<'_>, around: FaceBox) -> Vec<FaceBox> {
        self.detect_near_scored(frame, around, 0.0)
            .into_iter()
            .map(|(b, _)| b)
            .collect()
    }

    /// [`detect_near`](Self::detect_near) with each box's HOG score (see
    /// [`crate::hog::ScoredRect::score`]), at dlib's threshold moved by `adjust_threshold`
    /// (0.0: what `detect_near` finds). Best score first.
    pub fn detect_near_scored(
        &self,
        frame: &FrameRef<'_>,
        around: FaceBox,
        adjust_threshold: f64,
    ) -> Vec<(FaceBox, f32)> {
        let margin_x = around.width / 2 + 4;
        let margin_y = around.height / 2 + 4;
        let x0 = (around.x - margin_x).clamp(0, frame.width() as i32 - 1) as usize;
        let y0 = (around.y - margin_y).clamp(0, frame.height() as i32 - 1) as usize;
        let x1 = ((around.x + around.width + margin_x).max(0) as usize).min(frame.width());
        let y1 = ((around.y + around.height + margin_y).max(0) as usize).min(frame.height());
        if x1 <= x0 + 8 || y1 <= y0 + 8 || around.height <= 0 {
            return Vec::new();
        }
        let Some(crop) = frame.crop(x0, y0, x1, y1) else {
            return Vec::new();
        };
        if let Some(finder) = &self.finder {
            // A frame's faces are all looked at, so a failure here is a face not found again.
            let found = finder.find_near(&crop, around.height, adjust_threshold);
            return found
                .unwrap_or_default()
                .into_iter()
                .map(|(b, score)| {
                    let b = FaceBox {
                        x: b.x + x0 as i32,
                        y: b.y + y0 as i32,
                        ..b
                    };
                    (b, score)
                })
                .filter(|(b, _)| b.width > 0 && b.height > 0)
                .collect();
        }
        let scale = (100.0 / around.height as f64).clamp(0.25, 4.0);
        let out_w = ((crop.width() as f64 * scale).round() as usize).max(1);
        let out_h = ((crop.height() as f64 * scale).round() as usize).max(1);
        let matrix = if scale < 1.0 {
            image_matrix(&crop.to_rgb(out_w, out_h), out_w, out_h)
        } else {
            image_matrix(
                &crop.to_rgb(crop.width(), crop.height()),
                crop.width(),
                crop.height(),
            )
            .resize(out_w, out_h)
        };
        let back = crop.width() as f64 / out_w as f64;
        lock(self.hog(0))
            .detect(&matrix, adjust_threshold)
            .iter()
            .map(|d| {
                let b = from_dlib(&d.rect, back);
                let b = FaceBox {
                    x: b.x + x0 as i32,
                    y: b.y + y0 as i32,
                    ..b
                };
                (b, d.score)
            })
            .filter(|(b, _)| b.width > 0 && b.height > 0)
            .collect()
    }

    /// Face boxes in frame pixels, sorted left to right.
    pub fn detect(&self, frame: &FrameRef<'_>, config: &DetectionConfig) -> Vec<FaceBox> {
        self.detect_scored(frame, config)
            .into_iter()
            .map(|(b, _)| b)
            .collect()
    }

    /// [`detect`](Self::detect) with each box's score, sorted left to right. HOG boxes carry
    /// dlib's score (see [`crate::hog::ScoredRect::score`]; at least
    /// `config.adjust_threshold`); CNN detections carry no HOG score and get [`CNN_SCORE`].
    /// [`DetectorKind::Yunet`] asks the plugged finder (with `upsample` > 0 also on tiles at a
    /// larger scale); if it fails on a frame (ONNX Runtime ran it when it loaded, so it should not),
    /// the frame has no faces.
    pub fn detect_scored(
        &self,
        frame: &FrameRef<'_>,
        config: &DetectionConfig,
    ) -> Vec<(FaceBox, f32)> {
        if let (DetectorKind::Yunet, Some(finder)) = (config.detector, &self.finder) {
            let found = finder.find(
                frame,
                config.adjust_threshold,
                config.upsample,
                config.threads,
            );
            let mut boxes = found.unwrap_or_default();
            boxes.retain(|(b, _)| b.width > 0 && b.height > 0);
            boxes.sort_by_key(|(b, _)| (b.x, b.y));
            return boxes;
        }
        // Size the detection image: the requested width, then upsampling, capped in pixels.
        let mut det_w = if config.detection_width > 0 && config.detection_width < frame.width() {
            config.detection_width
        } else {
            frame.width()
        };
        let mut det_h = ((frame.height() * det_w) as f64 / frame.width() as f64)
            .round()
            .max(1.0) as usize;
        let mut upsample = match config.detector {
            DetectorKind::Hog => config.upsample.min(4),
            DetectorKind::Cnn | DetectorKind::Yunet => 0,
        };
        while upsample > 0 && (det_w * det_h) << (2 * upsample) > MAX_DETECTION_PIXELS {
            upsample -= 1;
        }
        if det_w * det_h > MAX_DETECTION_PIXELS {
            let shrink = (MAX_DETECTION_PIXELS as f64 / (det_w * det_h) as f64).sqrt();
            det_w = ((det_w as f64 * shrink) as usize).max(1);
            det_h = ((det_h as f64 * shrink) as usize).max(1);
        }
        let rgb = frame.to_rgb(det_w, det_h);
        let factor = 1usize << upsample;
        let to_frame = frame.width() as f64 / det_w as f64;
        let threshold = config.adjust_threshold;
        let mut boxes = if config.detector == DetectorKind::Cnn && self.weights.cnn.is_some() {
            let matrix = image_matrix(&rgb, det_w, det_h);
            let locations = self
                .weights
                .cnn
                .as_ref()
                .map(|cnn| lock(cnn).face_locations(&matrix));
            locations
                .iter()
                .flat_map(|l| l.iter().map(|r| (from_dlib(r, to_frame), CNN_SCORE)))
                .collect()
        } else if config.threads >= 2 && factor >= 2 && det_w >= 256 {
            self.detect_hog_split(&rgb, det_w, det_h, factor, to_frame, threshold)
        } else {
            let job = StripJob {
                x0: 0,
                x1: det_w,
                factor,
            };
            job.run(&lock(self.hog(0)), &rgb, det_w, det_h, to_frame, threshold)
        };
        boxes.retain(|(b, _)| b.width > 0 && b.height > 0);
        boxes.sort_by_key(|(b, _)| (b.x, b.y));
        boxes
    }

    /// HOG detection on two cores: a left and a right strip that overlap by more than the
    /// largest face the strips must find whole, plus a pass at half the resolution over the
    /// whole image for the larger faces that a strip border could cut. The split is uneven so
    /// both threads do about the same work; duplicates are merged into one face with the higher
    /// of the two scores (see [`merge_duplicate`]).
    fn detect_hog_split(
        &self,
        rgb: &[u8],
        det_w: usize,
        det_h: usize,
        factor: usize,
        to_frame: f64,
        adjust_threshold: f64,
    ) -> Vec<(FaceBox, f32)> {
        // Faces up to OVERLAP upsampled pixels wide fit whole in one strip; the half-resolution
        // pass finds faces from 80 * 2 = 160 upsampled pixels up.
        const OVERLAP: usize = 200;
        let half_overlap = OVERLAP / 2 / factor + 1;
        let split = det_w * 5 / 8;
        let left = StripJob {
            x0: 0,
            x1: (split + half_overlap).min(det_w),
            factor,
        };
        let right = StripJob {
            x0: split.saturating_sub(half_overlap),
            x1: det_w,
            factor,
        };
        let coarse = StripJob {
            x0: 0,
            x1: det_w,
            factor: factor / 2,
        };
        let (mut boxes, more) = std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                let hog = lock(self.hog(1));
                let mut b = right.run(&hog, rgb, det_w, det_h, to_frame, adjust_threshold);
                b.extend(coarse.run(&hog, rgb, det_w, det_h, to_frame, adjust_threshold));
                b
            });
            let mine = left.run(
                &lock(self.hog(0)),
                rgb,
                det_w,
                det_h,
                to_frame,
                adjust_threshold,
            );
            // A panic in the other strip goes on in this thread (and becomes the element's or
            // the worker's error): a strip's faces must not silently go missing.
            let theirs = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (mine, theirs)
        });
        for (b, score) in more {
            match boxes
                .iter_mut()
                .find(|(k, _)| k.iou(&b) > 0.4 || b.center_inside(k) && k.center_inside(&b))
            {
                Some(kept) => merge_duplicate(kept, (b, score)),
                None => boxes.push((b, score)),
            }
        }
        boxes
    }

    /// The encodings of the faces at `boxes` in the full-resolution frame, by dlib's ResNet
    /// ([`Weights::encode`]; `jitters` as there) or by the plugged encoder from dlib's
    /// landmarks. A failing encoder ends the list early: callers check its length.
    pub fn encode(&self, frame: &FrameRef<'_>, boxes: &[FaceBox], jitters: u32) -> Vec<Encoding> {
        let Some(encoder) = &self.encoder else {
            return self.weights.encode(frame, boxes, jitters);
        };
        self.weights
            .landmarks(frame, boxes)
            .iter()
            .map_while(|points| encoder.encode(frame, points).ok())
            .collect()
    }

    /// Identity of the encoder in use (`None`: dlib's ResNet is not loaded and nothing else
    /// encodes).
    pub fn encoder_id(&self) -> Option<&EncoderId> {
        match &self.encoder {
            Some(encoder) => Some(encoder.id()),
            None => self.weights.encoder_id(),
        }
    }

    /// The plugged encoder, if any.
    pub fn plugged_encoder(&self) -> Option<&Arc<dyn LandmarkEncoder>> {
        self.encoder.as_ref()
    }

    /// [`FacePipeline::encode`] split over up to `threads` threads; results in `boxes` order.
    /// A thread that panics, or a count of encodings that does not match the boxes, is an
    /// error: pairing the rest with boxes by position would put names on the wrong faces.
    pub fn encode_parallel(
        &self,
        frame: &FrameRef<'_>,
        boxes: &[FaceBox],
        threads: usize,
    ) -> Result<Vec<Encoding>, BackendError> {
        let threads = threads.clamp(1, boxes.len().max(1));
        let chunk = boxes.len().div_ceil(threads).max(1);
        let encodings: Vec<Encoding> = if threads <= 1 {
            self.encode(frame, boxes, 1)
        } else {
            let parts = std::thread::scope(|scope| {
                let handles: Vec<_> = boxes
                    .chunks(chunk)
                    .map(|part| scope.spawn(move || self.encode(frame, part, 1)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join())
                    .collect::<Result<Vec<_>, _>>()
            });
            parts
                .map_err(|_| BackendError("a face-encoding thread panicked".into()))?
                .into_iter()
                .flatten()
                .collect()
        };
        if encodings.len() != boxes.len() {
            return Err(BackendError(format!(
                "{} encodings for {} faces",
                encodings.len(),
                boxes.len()
            )));
        }
        Ok(encodings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_keep_the_higher_score_and_a_box_found_at_threshold_zero() {
        let a = FaceBox {
            x: 0,
            y: 0,
            width: 10,
            height: 10,
        };
        let b = FaceBox { x: 2, ..a };
        // Both at dlib's usual threshold: the first box stays (as before scores), best score.
        let mut kept = (a, 0.5);
        merge_duplicate(&mut kept, (b, 1.5));
        assert_eq!(kept, (a, 1.5));
        merge_duplicate(&mut kept, (b, -0.5));
        assert_eq!(kept, (a, 1.5));
        // A box below 0 gives way to a better duplicate, box and score.
        let mut weak = (a, -0.8);
        merge_duplicate(&mut weak, (b, 0.7));
        assert_eq!(weak, (b, 0.7));
        let mut weak = (a, -0.3);
        merge_duplicate(&mut weak, (b, -0.9));
        assert_eq!(weak, (a, -0.3));
    }
}
