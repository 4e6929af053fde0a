import csv, json, os, time
os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
D = "/work/shared/data/clinc150"; C = "/tmp/clinc/cache"
def load(split):
    rows = list(csv.DictReader(open(f"{D}/{split}.csv", encoding="utf-8")))
    return [r["text"] for r in rows], np.array([r["label"] for r in rows], dtype=object)
def domains():
    return json.load(open(f"{D}/domains.json"))
def unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
def emb(kind, split, layers=(6, 4)):
    L = np.load(f"{C}/{kind}-{split}.npy")
    return (np.hstack([unit(L[:, l]) for l in layers]) / np.sqrt(len(layers))).astype(np.float32)

def at_recall(score, pred, y, recall=0.70, oos="oos"):
    """in-scope accuracy when the threshold refuses exactly `recall` of oos (pred==oos always refused).
    score: higher = more in-scope."""
    ins = y != oos
    s = np.where(pred == oos, -np.inf, score)
    so = np.sort(s[~ins])
    k = int(np.ceil(recall * len(so)))  # refuse the k lowest
    thr = so[k - 1] if k > 0 else -np.inf
    # refuse s <= thr  (ties: counts as refused)
    acc = ((pred == y) & (s > thr))[ins].mean()
    return 100 * acc, thr

def at_thr(score, pred, y, thr, oos="oos"):
    ins = y != oos
    refused = (score < thr) | (pred == oos)
    return 100 * ((pred == y) & ~refused)[ins].mean(), 100 * refused[~ins].mean()

def curve(score, pred, y, oos="oos"):
    return " ".join(f"{at_recall(score, pred, y, r)[0]:.2f}" for r in (0.7, 0.8, 0.85, 0.9))
