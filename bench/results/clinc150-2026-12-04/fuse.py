"""Val score quality of refusal scores built from cached components."""
import sys
from common import *
from gauss import fit_gauss, d2
kind = sys.argv[1] if len(sys.argv) > 1 else "fp32"
tag = {"fp32": "f32", "int8": "i8"}[kind]
_, ytr = load("train"); _, yv = load("val")
S = np.load(f"{C}/svm-{tag}.npz", allow_pickle=True); classes = S["classes"]
NG = np.load(f"{C}/svm-ng.npz", allow_pickle=True)
Etr, Ev = emb(kind, "train"), emb(kind, "val")
ins = yv != "oos"
def report(name, score, pred):
    print(f"{name:55s} before {100*(pred==yv)[ins].mean():.2f} | @70/80/85/90 {curve(score, pred, yv)}", flush=True)
# current model
sv = S["val"]; pi = sv.argmax(1); pred = classes[pi]
top1 = sv[np.arange(len(yv)), pi]
ci = {c: np.flatnonzero(ytr == c) for c in classes}
cos = Ev @ Etr.T  # (nv, ntr)
nn = np.array([cos[i, ci[classes[k]]].max() for i, k in enumerate(pi)])
top5 = np.array([np.sort(cos[i, ci[classes[k]]])[-5:].mean() for i, k in enumerate(pi)])
report("svm top1", top1, pred)
report("svm top1 + 2 nn", top1 + 2 * nn, pred)
report("svm top1 + 3 nn", top1 + 3 * nn, pred)
report("svm top1 + 2 top5cos", top1 + 2 * top5, pred)
# svm softmax
for T in (0.1, 0.2, 0.3, 0.5):
    z = sv / T; z = z - z.max(1, keepdims=True); P = np.exp(z); P /= P.sum(1, keepdims=True)
    report(f"svm softmax T={T} maxP", P.max(1), pred)
    H = -(P * np.log(P + 1e-30)).sum(1)
    report(f"svm softmax T={T} -entropy", -H, pred)
# mahalanobis
for lam in (0.05, 0.2, 0.5):
    g = fit_gauss(Etr, ytr, lam); D2 = d2(Ev, g)
    gi = np.searchsorted(g[0], pred); gi = np.where(pred == "oos", 0, gi)
    dp = D2[np.arange(len(yv)), gi]; dmin = D2.min(1)
    sd = np.std(dp[ins])
    report(f"-maha(pred) lam={lam}", -dp, pred)
    for w in (0.5, 1, 2, 4):
        report(f"svm top1 + 2nn - {w}*maha(pred)/sd lam={lam}", top1 + 2 * nn - w * dp / sd, pred)
        report(f"svm top1 - {w}*maha(pred)/sd lam={lam}", top1 - w * dp / sd, pred)
# ngram-only svm score of the predicted class
ng = NG["val"]; ngp = ng[np.arange(len(yv)), np.searchsorted(NG["classes"], pred)]
report("ng svm score of pred", ngp, pred)
for w in (0.25, 0.5, 1, 2):
    report(f"svm top1 + 2nn + {w}*ng(pred)", top1 + 2 * nn + w * ngp, pred)
ngtop = ng.max(1)
for w in (0.5, 1):
    report(f"svm top1 + 2nn + {w}*ng top1", top1 + 2 * nn + w * ngtop, pred)
