//! dlib's frontal HOG face detector with its detection scores and an adjustable threshold.
//!
//! dlib-face-recognition's `FaceDetector` runs dlib's detector at threshold 0 and drops the
//! scores. [`HogDetector`] calls the same detector (`dlib::get_frontal_face_detector()`) through
//! a small C++ shim (`csrc/hog_detector.cpp`) that returns each detection's score and lets the
//! threshold move: faces blurred by motion often score between -1 and 0 and are missed at 0.

use std::os::raw::{c_long, c_void};

use dlib_face_recognition::{ImageMatrix, Rectangle};

/// One detection as the shim writes it. Keep in sync with `faceid_hog_detection` in
/// csrc/hog_detector.cpp.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct HogDetection {
    left: c_long,
    top: c_long,
    right: c_long,
    bottom: c_long,
    score: f64,
}

unsafe extern "C" {
    fn faceid_hog_new(serialized: *const u8, len: usize) -> *mut c_void;
    fn faceid_hog_free(detector: *mut c_void);
    fn faceid_hog_detect(
        detector: *mut c_void,
        image: *const c_void,
        adjust_threshold: f64,
        out: *mut HogDetection,
        max_out: usize,
    ) -> c_long;
}

/// dlib's frontal face detector in dlib's binary serialization, decoded from dlib's text at
/// build time (`build.rs`); empty when that could not run, and dlib decodes it at run time.
static FRONTAL_FACES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/frontal_faces.dat"));

/// Most detections one [`HogDetector::detect`] call returns (the best-scoring ones). Far more
/// than a frame holds at any threshold down to about -1.
pub const MAX_DETECTIONS: usize = 256;

/// A face found by the HOG detector, with its score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoredRect {
    /// The box, in the pixels of the image given to [`HogDetector::detect`] (dlib's inclusive
    /// `right` and `bottom`).
    pub rect: Rectangle,
    /// dlib's `detection_confidence`: the linear SVM's margin for this window, minus the
    /// detector's own threshold. Above 0 is a detection at dlib's usual threshold (what
    /// `FaceDetector::face_locations` returns); sharp frontal faces score about 0.5 to 3.
    /// Faces blurred by motion often score between -1 and 0; below about -1 most windows are not
    /// faces.
    pub score: f32,
}

/// dlib's frontal face detector (HOG features, linear SVM, five poses), with scores.
///
/// `Send` but not `Sync`: dlib's `scan_fhog_pyramid` keeps the feature pyramid of the image it
/// scans inside the detector, so every [`detect`](HogDetector::detect) writes to it even though
/// it takes `&self`; two threads must not detect with one detector at once (keep one per thread,
/// or behind a `Mutex`). Moving it to another thread is fine: it holds no thread-local state.
pub struct HogDetector {
    /// A `dlib::frontal_face_detector*` from `faceid_hog_new`, never null. A raw pointer, so the
    /// type is neither `Send` nor `Sync` until told otherwise.
    ptr: *mut c_void,
}

// SAFETY: the detector is plain heap data owned by this value alone (see the type's doc).
unsafe impl Send for HogDetector {}

impl HogDetector {
    /// Builds dlib's frontal face detector (its weights are compiled into dlib). `None` if dlib
    /// fails (out of memory).
    pub fn new() -> Option<HogDetector> {
        // SAFETY: the bytes are a live static slice of `len` bytes, only read; returns an owned
        // pointer or null.
        let ptr = unsafe { faceid_hog_new(FRONTAL_FACES.as_ptr(), FRONTAL_FACES.len()) };
        (!ptr.is_null()).then_some(HogDetector { ptr })
    }

    /// Faces in `image`, best score first, at most [`MAX_DETECTIONS`].
    ///
    /// `adjust_threshold` moves dlib's threshold: 0 gives exactly what dlib-face-recognition's
    /// `FaceDetector::face_locations` gives; lower values also return weaker windows (each
    /// scoring at least `adjust_threshold`), higher values fewer. Empty if dlib fails.
    pub fn detect(&self, image: &ImageMatrix, adjust_threshold: f64) -> Vec<ScoredRect> {
        let mut out = vec![HogDetection::default(); MAX_DETECTIONS];
        // SAFETY: `self.ptr` is a live detector used by one thread at a time (not `Sync`);
        // `ImageMatrix` is dlib-face-recognition's `cpp_class!` around a
        // `dlib::matrix<dlib::rgb_pixel>`, stored in place, so a pointer to it is a pointer to
        // that C++ object; `out` has room for `out.len()` detections.
        let n = unsafe {
            faceid_hog_detect(
                self.ptr,
                image as *const ImageMatrix as *const c_void,
                adjust_threshold,
                out.as_mut_ptr(),
                out.len(),
            )
        };
        let Ok(n) = usize::try_from(n) else {
            return Vec::new();
        };
        out.truncate(n.min(MAX_DETECTIONS));
        out.iter()
            .map(|d| ScoredRect {
                rect: Rectangle {
                    left: d.left,
                    top: d.top,
                    right: d.right,
                    bottom: d.bottom,
                },
                score: d.score as f32,
            })
            .collect()
    }
}

impl Drop for HogDetector {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `faceid_hog_new` and is freed once, here.
        unsafe { faceid_hog_free(self.ptr) }
    }
}

impl std::fmt::Debug for HogDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HogDetector").finish_non_exhaustive()
    }
}

// Tests on real photos, against dlib-face-recognition's detector: tests/hog.rs.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_image_has_no_faces() {
        let hog = HogDetector::new().expect("dlib builds its detector");
        assert!(hog.detect(&ImageMatrix::default(), 0.0).is_empty());
        assert!(hog.detect(&ImageMatrix::default(), -1.0).is_empty());
    }

    #[test]
    fn detector_moves_to_another_thread() {
        let hog = HogDetector::new().unwrap();
        let found = std::thread::spawn(move || hog.detect(&ImageMatrix::default(), 0.0))
            .join()
            .unwrap();
        assert!(found.is_empty());
    }
}
