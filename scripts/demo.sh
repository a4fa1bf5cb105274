#!/usr/bin/env bash
# Set up, run one verification on a dev-set sample (embedded default: SQLite + local files), then
# start the registration service. Extra arguments go to `portraitmatch serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PM=.venv/bin/portraitmatch
DATA=${PORTRAITMATCH_DEV_DATA:-../shared/data}
CLIP="$DATA/liveness/liveportrait/driving/d12.mp4"
if [ -f "$CLIP" ]; then
  # The clip's person turns to their left, blinks and turns right. The "ID portrait" is a small,
  # heavily compressed chip made from an early frame, like the photo on an ID card; it lives in a
  # temporary folder that is removed afterwards (no face image is left on disk).
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  .venv/bin/python - "$CLIP" "$tmp/id_chip.jpg" <<'PY'
import sys, cv2
cap = cv2.VideoCapture(sys.argv[1]); ok, frame = cap.read(); cap.release()
h, w = frame.shape[:2]
chip = cv2.resize(frame[int(h * .08):int(h * .92), int(w * .16):int(w * .84)], (102, 126), interpolation=cv2.INTER_AREA)
cv2.imwrite(sys.argv[2], chip, [cv2.IMWRITE_JPEG_QUALITY, 40])
PY
  echo "== portraitmatch verify (sample: ID chip photo + live capture with challenge turn_left,blink,turn_right)"
  $PM verify --id-photo "$tmp/id_chip.jpg" --video "$CLIP" --challenge turn_left,blink,turn_right || true
else
  echo "dev set not found at $DATA: skipping the sample verification"
fi
echo "== an administrator key for the console (shown once; sign in at /console, then use Setup)"
$PM keys create --role admin --label "demo administrator"
echo "== portraitmatch serve (Ctrl-C to stop)"
exec $PM serve "$@"
