//! faceidoverlay's state between `start()` and `stop()`: the weights being read
//! ([`Loading`]), then the running analyzer and what it was configured with ([`State`]); a
//! model set while playing being read ([`ModelLoad`]); what is posted once the lock is
//! released ([`Post`]).

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};

use faceid_core::encoding::EncoderId;
use faceid_core::model::{Classifier, Model};
use faceid_core::video::analyzer::Analyzer;

use super::imp::CAT;
use super::settings::{Settings, Stream};
use crate::backends::{BackendConfig, FaceModels};
use crate::element::load_model;
use crate::meta::FrameFaces;

/// A model file being read and checked on a thread of its own: a model set while playing is
/// parsed there, never in the streaming thread (a model file may be hundreds of megabytes).
pub(super) struct ModelLoad {
    pub(super) path: PathBuf,
    pub(super) result: Receiver<Result<Model, String>>,
}

impl ModelLoad {
    pub(super) fn start(path: PathBuf, encoder: EncoderId) -> ModelLoad {
        let (tx, result) = std::sync::mpsc::channel();
        let file = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(load_model(&file, &encoder));
        });
        ModelLoad { path, result }
    }
}

/// A message to post once the state's lock is released (never post while holding a lock).
pub(super) enum Post {
    Faces(FrameFaces),
    Warning(String),
    Error(gst::ErrorMessage),
}

pub(super) struct State {
    pub(super) analyzer: Analyzer,
    /// The detector's and encoder's files, shared by the process.
    pub(super) models: FaceModels,
    /// The model file the classifier was loaded from, or is being loaded from.
    pub(super) model_path: PathBuf,
    /// A model set while playing, until it is read.
    pub(super) loading: Option<ModelLoad>,
    /// The unknown distance stored in the model (the property may override it).
    pub(super) model_unknown_distance: f32,
    /// The margin stored in the model (the property may override it).
    pub(super) model_margin: f32,
    /// The settings the analyzer was last configured with: property changes are applied once,
    /// not on every frame.
    pub(super) applied: Settings,
    /// Whether upstream is live, `None` until the first buffer asked.
    pub(super) stream: Option<bool>,
    /// What decided the live mode by itself (`latency-budget=-1`) when the analyzer was last
    /// configured.
    pub(super) applied_stream: Stream,
    pub(super) info: Option<gst_video::VideoInfo>,
    pub(super) frames: u64,
    /// `FACEID_TEST_PANIC=faceidoverlay` makes the first buffer panic, to prove a panic becomes
    /// a GStreamer error and not a crash of the host. Test builds only (feature `test-hooks`).
    #[cfg(feature = "test-hooks")]
    pub(super) panic_for_test: bool,
}

impl State {
    /// Reads the weights of `backend` (the model's encoder, whose files `start()` found:
    /// 0.1-0.3 s) and makes the analyzer: on the `faceid-weights` thread that `start()` spawns.
    pub(super) fn new(
        model_path: PathBuf,
        model: Model,
        classifier: Classifier,
        settings: Settings,
        backend: BackendConfig,
    ) -> Result<State, gst::ErrorMessage> {
        let models = FaceModels::load(&backend)
            .map_err(|e| gst::error_msg!(gst::ResourceError::NotFound, ("{e}")))?;
        model.check_encoder(models.encoder_id()).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::OpenRead,
                ("Model {}: {e}", model_path.display())
            )
        })?;
        gst::info!(
            CAT,
            "Loaded model {} with {} people",
            model_path.display(),
            model.labels.len()
        );
        let mut analyzer = Analyzer::new(
            Box::new(models.backend()),
            classifier,
            settings.analyzer_config(&Stream::default()),
        );
        if settings.latency_budget > 0 && settings.tracking {
            // The live mode is asked for: its workers make their detectors now, so the first
            // frames' search does not wait for them. Chosen from the stream (-1), they start
            // on the first live frame.
            analyzer
                .start_worker()
                .map_err(|e| gst::error_msg!(gst::CoreError::Failed, ("{e}")))?;
        }
        Ok(State {
            analyzer,
            models,
            model_path,
            loading: None,
            model_unknown_distance: model.unknown_distance,
            model_margin: model.margin,
            applied: settings,
            stream: None,
            applied_stream: Stream::default(),
            info: None,
            frames: 0,
            #[cfg(feature = "test-hooks")]
            panic_for_test: std::env::var_os("FACEID_TEST_PANIC")
                .is_some_and(|v| v == "faceidoverlay"),
        })
    }

    /// Applies the settings and what the stream says when either changed since last time
    /// (a new model file starts loading; thresholds keep the tracks); whether anything did.
    pub(super) fn apply(&mut self, settings: &Settings, stream: Stream) -> bool {
        if *settings == self.applied && stream == self.applied_stream {
            return false;
        }
        self.applied_stream = stream;
        self.applied = settings.clone();
        if let Some(path) = &settings.model
            && *path != self.model_path
        {
            self.model_path = path.clone();
            self.loading = Some(ModelLoad::start(
                path.clone(),
                self.models.encoder_id().clone(),
            ));
        }
        let (unknown_distance, margin) =
            settings.classifier_thresholds(self.model_unknown_distance, self.model_margin);
        let classifier = self.analyzer.classifier();
        if classifier.unknown_distance() != unknown_distance || classifier.margin() != margin {
            // Same people, other thresholds: the tracks stay.
            self.analyzer
                .set_decision_thresholds(unknown_distance, margin);
        }
        self.analyzer.set_config(settings.analyzer_config(&stream));
        true
    }

    /// Switches to a model set while playing once it has been read; a bad one is a warning and
    /// the previous model stays.
    pub(super) fn take_loaded_model(&mut self, settings: &Settings, out: &mut Vec<Post>) {
        let Some(load) = &self.loading else {
            return;
        };
        let result = match load.result.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => Err(format!(
                "Could not load model {}: the loading thread stopped",
                load.path.display()
            )),
        };
        let path = load.path.clone();
        self.loading = None;
        match result {
            Ok(model) => {
                gst::info!(CAT, "Switched to model {}", path.display());
                self.model_unknown_distance = model.unknown_distance;
                self.model_margin = model.margin;
                self.analyzer
                    .set_classifier(classifier_for(&model, settings));
            }
            Err(msg) => out.push(Post::Warning(format!("{msg}; keeping the previous model"))),
        }
    }
}

/// From `start()` until the dlib weights are read. OBS starts its filter pipeline on its video
/// thread, and reading the weights there froze it for 0.1-0.3 s, so they are read on a thread
/// of their own. A synchronous stream's first frame waits for them; a live one's frames pass
/// through undrawn meanwhile (a few frames, as after a cut).
pub(super) struct Loading {
    pub(super) ready: Receiver<Result<State, gst::ErrorMessage>>,
    pub(super) info: Option<gst_video::VideoInfo>,
    /// Whether the stream is analysed live, once the first frame has asked.
    pub(super) live: Option<bool>,
    /// Frames passed through while loading.
    pub(super) frames: u64,
}

pub(super) enum Phase {
    Loading(Loading),
    Running(Box<State>),
}

/// The model's classifier with the thresholds the properties set (or the model's own).
pub(super) fn classifier_for(model: &Model, settings: &Settings) -> Classifier {
    let mut classifier = Classifier::new(model);
    let (unknown_distance, margin) =
        settings.classifier_thresholds(model.unknown_distance, model.margin);
    classifier.set_unknown_distance(unknown_distance);
    classifier.set_margin(margin);
    classifier
}
