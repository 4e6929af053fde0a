"""LinearSVC decision scores cached: full-train fit -> val/test; 3-fold CV (kefu's folds) -> out-of-fold train.
usage: svm_cache.py NAME KIND(none|int8|fp32) [C] [ALPHA]"""
import sys, time
from common import *
from scipy.sparse import csr_matrix, hstack
from sklearn.svm import LinearSVC
from sklearn.model_selection import StratifiedKFold
from kefu.bot.intents import _features
name, kind = sys.argv[1], sys.argv[2]
Cc = float(sys.argv[3]) if len(sys.argv) > 3 else (1.0 if kind == "none" else 0.5)
alpha = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
tr, ytr = load("train")
splits = {s: load(s) for s in ("val", "test")}
def X(vec, texts, dense, fit=False):
    T = vec.fit_transform(texts) if fit else vec.transform(texts)
    return T if dense is None else hstack([T, csr_matrix(dense * np.float32(alpha))]).tocsr()
E = {s: (emb(kind, s) if kind != "none" else None) for s in ("train", "val", "test")}
out = {}
t0 = time.perf_counter()
vec = _features(); clf = LinearSVC(C=Cc).fit(X(vec, tr, E["train"], True), ytr)
print("full fit", f"{time.perf_counter()-t0:.1f}s", flush=True)
for s, (tx, _) in splits.items():
    out[s] = clf.decision_function(X(vec, tx, E[s])).astype(np.float32)
out["classes"] = clf.classes_
oof = np.zeros((len(ytr), len(clf.classes_)), np.float32)
for i, (a, b) in enumerate(StratifiedKFold(3, shuffle=True, random_state=0).split(np.zeros(len(ytr)), ytr)):
    t = time.perf_counter()
    v = _features(); c = LinearSVC(C=Cc).fit(X(v, [tr[j] for j in a], None if E["train"] is None else E["train"][a], True), ytr[a])
    assert (c.classes_ == clf.classes_).all()
    oof[b] = c.decision_function(X(v, [tr[j] for j in b], None if E["train"] is None else E["train"][b]))
    print("fold", i, f"{time.perf_counter()-t:.1f}s", flush=True)
out["oof"] = oof
np.savez(f"{C}/svm-{name}.npz", **out)
print("total", f"{time.perf_counter()-t0:.1f}s")
