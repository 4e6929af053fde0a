"""Joint LinearSVC on TF-IDF + a PCA-reduced (optionally whitened) embedding block: fit time and val accuracy.
usage: pca_svm.py KIND K WHITEN(0/1) ALPHA [C] [LAYERS e.g. 64]"""
import sys, time
from common import *
from scipy.sparse import csr_matrix, hstack
from sklearn.svm import LinearSVC
from kefu.bot.intents import _features
kind, k, wh, alpha = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
Cc = float(sys.argv[5]) if len(sys.argv) > 5 else 0.5
layers = tuple(int(c) for c in (sys.argv[6] if len(sys.argv) > 6 else "64"))
tr, ytr = load("train"); va, yv = load("val"); ins = yv != "oos"
Etr, Ev = emb(kind, "train", layers), emb(kind, "val", layers)
t0 = time.perf_counter()
mu = Etr.mean(0); U, s, Vt = np.linalg.svd(Etr - mu, full_matrices=False)
P = Vt[:k].T
if wh: P = P / (s[:k] / np.sqrt(len(Etr)))
Ztr, Zv = (Etr - mu) @ P, (Ev - mu) @ P
sc = np.sqrt((Ztr ** 2).sum(1).mean()); Ztr, Zv = Ztr / sc, Zv / sc   # mean length 1
tp = time.perf_counter() - t0
vec = _features(); Ttr = vec.fit_transform(tr); Tv = vec.transform(va)
t1 = time.perf_counter()
clf = LinearSVC(C=Cc).fit(hstack([Ttr, csr_matrix(Ztr.astype(np.float32) * alpha)]).tocsr(), ytr)
tf = time.perf_counter() - t1
sv = clf.decision_function(hstack([Tv, csr_matrix(Zv.astype(np.float32) * alpha)]).tocsr())
pred = clf.classes_[sv.argmax(1)]; top1 = sv.max(1)
ci = {c: np.flatnonzero(ytr == c) for c in clf.classes_}
cos = Ev @ Etr.T
nn = np.array([cos[i, ci[p]].max() if p in ci else 0 for i, p in enumerate(pred)])
print(f"{kind} L{''.join(map(str,layers))} k={k} white={wh} alpha={alpha} C={Cc}: pca {tp:.1f}s fit {tf:.1f}s | before {100*(pred==yv)[ins].mean():.2f}"
      f" | top1 @70/80/85/90 {curve(top1, pred, yv)} | +2nn {curve(top1 + 2*nn, pred, yv)}", flush=True)
np.savez(f"{C}/pca-{kind}-{k}-{wh}-{alpha}-{Cc}-{''.join(map(str,layers))}.npz", val=sv, classes=clf.classes_)
