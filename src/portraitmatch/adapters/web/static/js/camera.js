// The camera: open it with one clear failure kind per way it can go wrong, and grab frames.

/** Why the camera could not start: "insecure", "denied", "none", "busy" or "other". */
export function cameraProblem(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") return "denied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "none";
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "busy";
  return "other";
}

export class CameraError extends Error {
  constructor(kind, cause) {
    super(`camera: ${kind}`);
    this.kind = kind;
    this.cause = cause;
  }
}

/** Start the front camera at about 640x480 and show it in `video`. Throws CameraError. */
export async function openCamera(video, { facingMode = "user" } = {}) {
  if (!window.isSecureContext) throw new CameraError("insecure");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new CameraError("none");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode, width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
    });
  } catch (err) {
    throw new CameraError(cameraProblem(err), err);
  }
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  await video.play().catch(() => {});
  if (!video.videoWidth) {
    await new Promise((resolve) => video.addEventListener("loadedmetadata", resolve, { once: true }));
  }
  return stream;
}

export function stopCamera(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

/**
 * Which camera frame is showing: a count of frames and the newest one's capture time, kept by
 * requestVideoFrameCallback. The sender uses it never to send one camera frame twice: a repeated
 * frame is what an injected stream looks like (a sensor never gives the same noise twice), and
 * cameras slow down in dim light, below the rate frames are sent at.
 */
export class FrameClock {
  constructor(video) {
    this.video = video;
    this.count = 0;
    this.time = null;
    this.running = false;
    this.supported = typeof HTMLVideoElement !== "undefined" && "requestVideoFrameCallback" in HTMLVideoElement.prototype;
  }

  start() {
    if (!this.supported || this.running) return;
    this.running = true;
    const tick = (now, meta) => {
      if (!this.running) return;
      this.count = meta.presentedFrames ?? this.count + 1;
      // captureTime is the camera's own clock, in performance.now() terms; trust it when sane.
      const captured = meta.captureTime;
      this.time = Number.isFinite(captured) && Math.abs(captured - now) < 2000 ? captured : now;
      this.video.requestVideoFrameCallback(tick);
    };
    this.video.requestVideoFrameCallback(tick);
  }

  stop() {
    this.running = false;
  }
}

/**
 * Draws video frames, unmirrored and scaled so the longer side is at most `maxSide`, into JPEGs.
 * The preview is mirrored with CSS only: the server gets what the camera saw.
 */
export class FrameGrabber {
  constructor(video, { maxSide = 640, quality = 0.8 } = {}) {
    this.video = video;
    this.quality = quality;
    this.maxSide = maxSide;
    this.canvas = document.createElement("canvas");
    this.context = this.canvas.getContext("2d", { alpha: false });
  }

  size() {
    const w = this.video.videoWidth;
    const h = this.video.videoHeight;
    const scale = Math.min(1, this.maxSide / Math.max(w, h));
    return [Math.round(w * scale), Math.round(h * scale)];
  }

  /**
   * The current frame as JPEG bytes, or null before the video has a frame.
   *
   * Encoded synchronously with toDataURL: Chromium runs toBlob in idle time, and a page busy
   * playing video has little, so toBlob often waited a full second (measured: 1,002 ms) and the
   * frame rate fell to one or two a second. A 640x480 JPEG takes milliseconds on the main thread.
   */
  grabBytes() {
    if (!this.video.videoWidth) return null;
    const [w, h] = this.size();
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.context.drawImage(this.video, 0, 0, w, h);
    const url = this.canvas.toDataURL("image/jpeg", this.quality);
    const text = atob(url.slice(url.indexOf(",") + 1));
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  /** The current frame as a JPEG Blob (for uploads), or null. */
  grab() {
    const bytes = this.grabBytes();
    return bytes ? new Blob([bytes], { type: "image/jpeg" }) : null;
  }
}
