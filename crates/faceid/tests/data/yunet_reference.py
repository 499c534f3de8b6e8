"""Independent reference data for the Rust YuNet detector test (tests/yunet.rs).
OpenCV's own YuNet (cv2.FaceDetectorYN, its C++ decoder and NMS, its DNN engine) on a 640-pixel
crop of real photos, padded to 640x640 with black at the bottom/right as the Rust side pads it:
boxes, 5 landmarks and scores at score >= 0.5. Nothing of the Rust pipeline is used.
Pixels are decoded by GStreamer (decodebin ! videoconvert ! BGRx), as the tests decode them.
Run from the checkout: python3 crates/faceid/tests/data/yunet_reference.py
(needs numpy, opencv-python-headless >= 4.8 and gst-launch-1.0)."""
import json, os, subprocess, tempfile
import numpy as np, cv2

MAIN = os.getcwd() + "/"
MODEL = MAIN + "crates/faceid-onnx/weights/face_detection_yunet_2023mar.onnx"
# photo, crop (x0, y0, x1, y1): the long side is 640 pixels, so the detector sees the pixels
# unscaled on both sides.
CROPS = [("samples/bbt/_group/bbt4.jpg", (35, 0, 675, 473)),
         ("samples/fr_examples/_group/kit_with_rose.jpg", (0, 0, 501, 640)),
         ("samples/johns/_other/bald_guys.jpg", (0, 0, 640, 640))]

def decode_bgr(path):
    """The first frame of an image as GStreamer decodes it, BGR."""
    with tempfile.NamedTemporaryFile(suffix=".bgrx") as raw:
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "decodebin",
                        "!", "videoconvert", "!", "video/x-raw,format=BGRx", "!", "filesink",
                        f"location={raw.name}"], check=True)
        data = np.fromfile(raw.name, dtype=np.uint8)
    h, w = cv2.imread(path).shape[:2]  # the size only
    return np.ascontiguousarray(data[: w * h * 4].reshape(h, w, 4)[:, :, :3])

det = cv2.FaceDetectorYN.create(MODEL, "", (640, 640), 0.5, 0.3, 5000)
out = []
for photo, (x0, y0, x1, y1) in CROPS:
    crop = decode_bgr(MAIN + photo)[y0:y1, x0:x1]
    padded = np.zeros((640, 640, 3), np.uint8)
    padded[: crop.shape[0], : crop.shape[1]] = crop
    _, faces = det.detect(padded)
    faces = [] if faces is None else sorted(faces.tolist(), key=lambda f: -f[14])
    out.append({"photo": photo, "crop": [x0, y0, x1, y1],
                "faces": [{"rect": [round(v, 2) for v in f[:4]],
                           "landmarks": [[round(f[4 + 2 * i], 2), round(f[5 + 2 * i], 2)] for i in range(5)],
                           "score": round(f[14], 4)} for f in faces]})
    print(photo, len(faces), "faces")
json.dump(out, open(MAIN + "crates/faceid/tests/data/yunet_reference.json", "w"), indent=1)
