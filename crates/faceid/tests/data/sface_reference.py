"""Independent reference data for the Rust SFace pipeline test.
dlib HOG detect (upsample 1) -> dlib 5-pt landmarks -> 3-pt Umeyama similarity to ArcFace
template -> cv2.warpAffine 112x112 -> SFace ONNX (onnxruntime CPU) -> L2-normalised 128-d.
Cross-check: cv2.FaceRecognizerSF.feature on the same aligned crop (BGR).
Pixels are decoded by GStreamer (decodebin ! videoconvert ! BGRx, as the tests decode them):
JPEG decoders differ (OpenCV's and jpegdec + videoconvert by up to 114 grey levels at colour
edges), and the test is of the alignment and the network, not of a decoder.
Run from the checkout: python3 crates/faceid/tests/data/sface_reference.py
(needs numpy, opencv-python-headless, onnxruntime, dlib-bin, and gst-launch-1.0)."""
import json, os, subprocess, sys, tempfile
import numpy as np, cv2, dlib, onnxruntime as ort

MAIN = os.getcwd() + "/"
MODEL = MAIN + "models/onnx/face_recognition_sface_2021dec.onnx"
SP = MAIN + "models/dlib/shape_predictor_5_face_landmarks.dat"
# First candidate in each group where dlib finds a face is used.
GROUPS = [["samples/fr_examples/barack_obama/obama.jpg"],
          [f"samples/bbt/penny/penny{i}.png" for i in range(1, 6)],
          ["samples/kpop/clips/bts_mv_720p-train/" + p for p in
           ["rm/0834bfc7_4.jpg", "jin/2a63f2a0_2.jpg", "v/2b7f667f_1.jpg", "suga/0e401deb_0.jpg"]]]
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366]])

def decode_rgb(path):
    """The first frame of an image as GStreamer decodes it, RGB."""
    with tempfile.NamedTemporaryFile(suffix=".bgrx") as raw:
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "decodebin",
                        "!", "videoconvert", "!", "video/x-raw,format=BGRx", "!", "filesink",
                        f"location={raw.name}"], check=True)
        data = np.fromfile(raw.name, dtype=np.uint8)
    h, w = cv2.imread(path).shape[:2]  # the size only
    bgrx = data[: w * h * 4].reshape(h, w, 4)
    return np.ascontiguousarray(bgrx[:, :, 2::-1])

def umeyama(src, dst):
    """Least-squares similarity (rotation+uniform scale+translation), Umeyama 1991."""
    n, d = src.shape
    mu_s, mu_d = src.mean(0), dst.mean(0)
    sc, dc = src - mu_s, dst - mu_d
    cov = dc.T @ sc / n                      # dst x src covariance
    U, S, Vt = np.linalg.svd(cov)
    D = np.ones(d)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:  # avoid reflection
        D[-1] = -1
    R = U @ np.diag(D) @ Vt
    var_s = (sc ** 2).sum() / n
    scale = (S * D).sum() / var_s
    t = mu_d - scale * R @ mu_s
    return np.hstack([scale * R, t[:, None]])  # 2x3

det = dlib.get_frontal_face_detector()
sp = dlib.shape_predictor(SP)
so = ort.SessionOptions(); so.log_severity_level = 3  # silence initializer warnings
sess = ort.InferenceSession(MODEL, so, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0].name
sf = cv2.FaceRecognizerSF.create(MODEL, "")

out = []
for group in GROUPS:
    for rel in group:
        rgb = decode_rgb(MAIN + rel)
        faces = det(rgb, 1)
        if not faces:
            print("no face:", rel, file=sys.stderr); continue
        f = max(faces, key=lambda r: r.width() * r.height())
        pts = np.array([[p.x, p.y] for p in sp(rgb, f).parts()], dtype=np.float64)
        eyes = sorted([pts[0:2].mean(0), pts[2:4].mean(0)], key=lambda e: e[0])
        src = np.array([eyes[0], eyes[1], pts[4]])
        M = umeyama(src, TEMPLATE)
        al = cv2.warpAffine(rgb, M, (112, 112), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        blob = al.astype(np.float32).transpose(2, 0, 1)[None]  # NCHW RGB 0-255
        e = sess.run(None, {inp: blob})[0].reshape(-1).astype(np.float64)
        e /= np.linalg.norm(e)
        o = sf.feature(cv2.cvtColor(al, cv2.COLOR_RGB2BGR)).reshape(-1).astype(np.float64)
        o /= np.linalg.norm(o)
        print(rel, "left-eye idx:", "0,1" if pts[0:2].mean(0)[0] < pts[2:4].mean(0)[0] else "2,3",
              "cos:", float(e @ o), file=sys.stderr)
        out.append({"photo": rel,
                    "box": [f.left(), f.top(), f.width(), f.height()],
                    "landmarks5": pts.tolist(),
                    "matrix": M.tolist(),
                    "aligned_mean_rgb": al.reshape(-1, 3).mean(0).tolist(),
                    "encoding": [float(f"{v:.7g}") for v in e],
                    "opencv_cosine": float(e @ o)})
        break
json.dump([{"photo": r["photo"].replace("samples/", "", 1), "box": r["box"],
            "landmarks5": r["landmarks5"], "encoding": r["encoding"]} for r in out],
          open(MAIN + "crates/faceid/tests/data/sface_reference.json", "w"))
print(json.dumps([{k: r[k] for k in ("photo", "box", "opencv_cosine")} for r in out]))
