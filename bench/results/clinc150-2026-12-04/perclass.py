"""Per-intent normalised refusal score: (s - mean_c)/std_c with stats of OOF (3-fold CV) scores of correctly
predicted training examples of intent c (s = top1 + 2nn). Val (full model) and LIO proxy."""
import sys
from common import *
kind = sys.argv[1]; tag = {"fp32": "f32", "int8": "i8"}[kind]
_, ytr = load("train"); _, yv = load("val")
S = np.load(f"{C}/svm-{tag}.npz", allow_pickle=True); cl = S["classes"]
Etr, Ev = emb(kind, "train"), emb(kind, "val")
ci = {c: np.flatnonzero(ytr == c) for c in cl}
# OOF: top1 + 2 * nn (leave-one-out nearest of the predicted intent, as kefu v2)
oof = S["oof"]; opi = oof.argmax(1); opred = cl[opi]
cos_t = Etr @ Etr.T; np.fill_diagonal(cos_t, -1)
onn = np.array([cos_t[i, ci[p]].max() for i, p in enumerate(opred)])
os_ = oof.max(1) + 2 * onn
stats = {}
for c in cl:
    m = (opred == c) & (ytr == c)
    stats[c] = (os_[m].mean(), os_[m].std() + 1e-6) if m.sum() > 5 else (0, 1)
mu = np.array([stats[c][0] for c in cl]); sd = np.array([stats[c][1] for c in cl])
np.savez(f"{C}/oofscore-{kind}.npz", s=os_, pred=opred, mu=mu, sd=sd)
cos_v = Ev @ Etr.T
def ev(sv, yy, cls):
    pi = sv.argmax(1); pred = cls[pi]
    nn = np.array([cos_v[i, ci[p]].max() for i, p in enumerate(pred)])
    s = sv.max(1) + 2 * nn
    k = np.searchsorted(cl, pred)
    out = {"current": s}
    for shrink in (0.0, 0.5):
        out[f"z (mean only, shrink {shrink})"] = s - (1 - shrink) * mu[k] - shrink * mu.mean()
        out[f"z (mean+std, shrink {shrink})"] = (s - (1 - shrink) * mu[k] - shrink * mu.mean()) / ((1 - shrink) * sd[k] + shrink * sd.mean())
    return pred, out
pred, out = ev(S["val"], yv, cl)
for n, s in out.items():
    print(f"val  {n:32s} @70/80/85/90 {curve(s, pred, yv)}")
Z = np.load(f"{C}/lio-{kind}.npz", allow_pickle=True)
acc = {}
for g in range(5):
    held = Z[f"held{g}"]; pred, out = ev(Z[f"joint{g}_val"], yv, Z[f"joint{g}_classes"])
    sel = yv != "oos"; ylio = np.where(np.isin(yv, held), "oos", yv)
    for n, s in out.items():
        acc.setdefault(n, []).append([at_recall(s[sel], pred[sel], ylio[sel], r)[0] for r in (0.5, 0.6, 0.7)])
for n, a in acc.items():
    print(f"LIO  {n:32s} @50/60/70 " + " ".join(f"{x:.2f}" for x in np.mean(a, 0)))
