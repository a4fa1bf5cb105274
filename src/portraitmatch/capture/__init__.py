"""capture: encoded bytes or files → `Frame`s (RGB uint8), with limits checked before decoding.

`image.decode_image` / `image.load_image` for stills, `video.read_video` / `video.probe_video` for
clips. Formats are recognised from their content, never from the file name.
"""

from portraitmatch.capture.image import decode_image, load_image
from portraitmatch.capture.video import VideoInfo, probe_video, read_video

__all__ = ["VideoInfo", "decode_image", "load_image", "probe_video", "read_video"]
