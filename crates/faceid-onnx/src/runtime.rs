//! Where the ONNX files are, and ONNX Runtime opened once per process.
//!
//! The files are found as dlib's are, with no environment variable needed (so a GStreamer host
//! such as OBS finds them): an explicit folder, else `FACEID_ONNX_DIR`, else the folder chosen
//! at build time (meson sets `FACEID_ONNX_INSTALL_DIR`), else the source tree's `models/onnx`,
//! which `models/fetch-onnx.sh` fills.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use faceid_core::weight_files;

/// The ONNX Runtime library `models/fetch-onnx.sh` installs (1.32.0, from the PyPI wheel).
pub const RUNTIME_FILE: &str = "libonnxruntime.so.1.32.0";
/// Environment variable naming the folder with the ONNX files.
pub const ONNX_DIR_ENV: &str = "FACEID_ONNX_DIR";

/// The folder chosen at build time, else the source tree's `models/onnx`.
pub fn builtin_onnx_dir() -> PathBuf {
    weight_files::builtin_dir(
        option_env!("FACEID_ONNX_INSTALL_DIR"),
        env!("CARGO_MANIFEST_DIR"),
        "onnx",
    )
}

/// The folder to load ONNX files from: the explicit setting, then `FACEID_ONNX_DIR`, then
/// [`builtin_onnx_dir`].
pub fn resolve_onnx_dir(explicit: Option<&Path>) -> PathBuf {
    weight_files::resolve_dir(explicit, ONNX_DIR_ENV, builtin_onnx_dir)
}

/// Which folder the ONNX files are in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OnnxConfig {
    /// Holds [`RUNTIME_FILE`] and the weights.
    pub dir: PathBuf,
}

impl OnnxConfig {
    /// The files in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> OnnxConfig {
        OnnxConfig { dir: dir.into() }
    }

    /// The folder [`resolve_onnx_dir`] finds with no explicit setting.
    pub fn resolved() -> OnnxConfig {
        OnnxConfig::new(resolve_onnx_dir(None))
    }

    /// Path of a file in the folder.
    pub fn path_of(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Checks that the runtime is there, without reading it.
    pub fn check_runtime(&self) -> Result<(), OnnxError> {
        let path = self.path_of(RUNTIME_FILE);
        if !path.is_file() {
            return Err(OnnxError::Missing(path));
        }
        Ok(())
    }

    /// Checks that the runtime and `weights` are there, without reading them.
    pub fn check_files(&self, weights: &str) -> Result<(), OnnxError> {
        for file in [RUNTIME_FILE, weights] {
            let path = self.path_of(file);
            if !path.is_file() {
                return Err(OnnxError::Missing(path));
            }
        }
        Ok(())
    }
}

/// Why the ONNX backend could not be made. The message says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnnxError {
    /// A file is not there.
    Missing(PathBuf),
    /// ONNX Runtime could not be opened, or refused the weights.
    Runtime(PathBuf, String),
    /// The weights are not the ones expected (another file under the same name).
    WrongWeights { path: PathBuf, sha256: String },
}

impl fmt::Display for OnnxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnnxError::Missing(path) => write!(
                f,
                "{} is missing: the SFace encoder needs ONNX Runtime and SFace's weights, the \
                 YuNet detector ONNX Runtime. Install them with `models/fetch-onnx.sh {}` (from \
                 the gst-faceid source tree), point the {ONNX_DIR_ENV} environment variable at \
                 the folder that holds them, or use dlib's instead: train with `faceid train \
                 --encoder dlib` (faceidtrain encoder=dlib), detect with faceidoverlay \
                 detector=hog",
                path.display(),
                path.parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
            OnnxError::Runtime(path, why) => write!(
                f,
                "ONNX Runtime could not use {} ({why}). Install the files again with \
                 `models/fetch-onnx.sh`",
                path.display()
            ),
            OnnxError::WrongWeights { path, sha256 } => write!(
                f,
                "{} is not the expected weight file (its SHA-256 is {sha256}). Install it again \
                 with `models/fetch-onnx.sh`",
                path.display()
            ),
        }
    }
}

impl std::error::Error for OnnxError {}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String, OnnxError> {
    weight_files::sha256_file(path)
        .map_err(|e| OnnxError::Runtime(path.to_path_buf(), e.to_string()))
}

/// The process's ONNX Runtime environment. ONNX Runtime can be opened once per process (its
/// library stays loaded until the process ends), so the first folder that opens it wins, and a
/// failure is kept and reported again.
static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, OnnxError>> = OnceLock::new();

/// Opens ONNX Runtime from `config`'s folder (once per process).
pub fn environment(config: &OnnxConfig) -> Result<ort::environment::Environment, OnnxError> {
    ENVIRONMENT
        .get_or_init(|| {
            let library = config.path_of(RUNTIME_FILE);
            if !library.is_file() {
                return Err(OnnxError::Missing(library));
            }
            let builder = ort::init_from(&library)
                .map_err(|e| OnnxError::Runtime(library.clone(), e.to_string()))?;
            builder
                .with_name("gst-faceid")
                .build()
                .map_err(|e| OnnxError::Runtime(library.clone(), e.to_string()))
        })
        .clone()
}

/// One network's sessions, one ONNX thread each, shared by the threads of the process: a
/// session is borrowed for a run (`Session::run` needs it to itself) and given back; a thread
/// that finds none free makes another.
pub struct SessionPool {
    environment: ort::environment::Environment,
    weights: Vec<u8>,
    sessions: Mutex<Vec<Session>>,
}

impl SessionPool {
    /// The pool of `weights`, with one session made now: a file ONNX Runtime refuses is an
    /// error here, not on a frame.
    pub fn new(
        environment: ort::environment::Environment,
        weights: Vec<u8>,
    ) -> Result<SessionPool, String> {
        let pool = SessionPool {
            environment,
            weights,
            sessions: Mutex::new(Vec::new()),
        };
        let session = pool.new_session()?;
        pool.give_back(session);
        Ok(pool)
    }

    fn new_session(&self) -> Result<Session, String> {
        Session::builder(&self.environment)
            .and_then(|b| Ok(b.with_optimization_level(GraphOptimizationLevel::Level3)?))
            .and_then(|b| Ok(b.with_intra_threads(1)?))
            .and_then(|b| Ok(b.with_inter_threads(1)?))
            .and_then(|mut b| b.commit_from_memory(&self.weights))
            .map_err(|e| e.to_string())
    }

    fn give_back(&self, session: Session) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(session);
    }

    /// `run` on a session borrowed for it.
    pub fn with_session<R>(
        &self,
        run: impl FnOnce(&mut Session) -> Result<R, String>,
    ) -> Result<R, String> {
        let taken = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let mut session = match taken {
            Some(session) => session,
            None => self.new_session()?,
        };
        let result = run(&mut session);
        self.give_back(session);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_runtime_says_how_to_install_it_or_to_use_dlib() {
        let err = OnnxConfig::new("/nonexistent-faceid-onnx")
            .check_files("w.onnx")
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(RUNTIME_FILE), "{msg}");
        assert!(msg.contains("fetch-onnx.sh"), "{msg}");
        assert!(msg.contains("--encoder dlib"), "{msg}");
    }

    #[test]
    fn the_explicit_folder_wins() {
        assert_eq!(resolve_onnx_dir(Some(Path::new("/x"))), PathBuf::from("/x"));
    }
}
