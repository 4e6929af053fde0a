"""Leave-intents-out proxy: per group, val rows of the 30 held-out intents act as out-of-scope; held-in val rows
in-scope. Metric: held-in in-scope accuracy at thresholds refusing 50/60/70 % of the pseudo-oos, mean over groups.
Also the val-oos metric (real oos) for the same score under the group models."""
import sys
from common import *
from gauss import fit_gauss, d2
kind = sys.argv[1]
_, ytr = load("train"); _, yv = load("val")
Z = np.load(f"{C}/lio-{kind}.npz", allow_pickle=True)
Etr, Ev = emb(kind, "train"), emb(kind, "val")
cos_v = Ev @ Etr.T
G = 5
def comps(g):
    cl = Z[f"joint{g}_classes"]; sv = Z[f"joint{g}_val"]; held = Z[f"held{g}"]
    pi = sv.argmax(1); pred = cl[pi]; top1 = sv.max(1)
    s2 = np.sort(sv, 1)[:, -2]
    ci = {c: np.flatnonzero(ytr == c) for c in cl}
    nn = np.array([cos_v[i, ci[p]].max() for i, p in enumerate(pred)])
    ngc = Z[f"ng{g}_classes"]; ng = Z[f"ng{g}_val"]
    ngp = ng[np.arange(len(yv)), np.searchsorted(ngc, pred)]
    keep = ~np.isin(ytr, held)
    gm = fit_gauss(Etr[keep], ytr[keep], 0.5); D2 = d2(Ev, gm)
    gi = np.searchsorted(gm[0], pred); gi = np.where(pred == "oos", 0, gi)
    dp = D2[np.arange(len(yv)), gi]
    sd = np.std(dp[~np.isin(yv, held) & (yv != "oos")])
    # pseudo labels: held-out intents -> "oos"; real oos dropped for the proxy
    ylio = np.where(np.isin(yv, held), "oos", yv)
    return dict(pred=pred, top1=top1, margin=top1 - s2, nn=nn, ngp=ngp, ngtop=ng.max(1), maha=dp / sd,
                ylio=ylio, realoos=(yv == "oos"))
CS = [comps(g) for g in range(G)]
scores = {
    "svm top1": lambda c: c["top1"],
    "top1 + 2nn (current)": lambda c: c["top1"] + 2 * c["nn"],
    "top1 + 3nn": lambda c: c["top1"] + 3 * c["nn"],
    "top1 + 2nn + 0.5 ng(pred)": lambda c: c["top1"] + 2 * c["nn"] + 0.5 * c["ngp"],
    "top1 + 2nn + 1 ng(pred)": lambda c: c["top1"] + 2 * c["nn"] + 1 * c["ngp"],
    "top1 + 2nn - 0.5 maha": lambda c: c["top1"] + 2 * c["nn"] - 0.5 * c["maha"],
    "top1 + 2nn + 0.5ng - 0.5 maha": lambda c: c["top1"] + 2 * c["nn"] + 0.5 * c["ngp"] - 0.5 * c["maha"],
    "top1 + 2nn + 0.5 margin": lambda c: c["top1"] + 2 * c["nn"] + 0.5 * c["margin"],
    "nn alone": lambda c: c["nn"],
    "ng(pred) alone": lambda c: c["ngp"],
    "-maha alone": lambda c: -c["maha"],
}
for name, f in scores.items():
    res = []; real = []
    for c in CS:
        s = f(c); sel = ~c["realoos"]
        res.append([at_recall(s[sel], c["pred"][sel], c["ylio"][sel], r)[0] for r in (0.5, 0.6, 0.7)])
        sel2 = ~np.isin(c["ylio"], ["oos"]) | c["realoos"]   # held-in + real oos
        real.append([at_recall(s[sel2], c["pred"][sel2], np.where(c["realoos"], "oos", c["ylio"])[sel2], r)[0] for r in (0.7, 0.85)])
    res, real = np.mean(res, 0), np.mean(real, 0)
    base = np.mean([100 * (c["pred"] == c["ylio"])[(c["ylio"] != "oos") & ~c["realoos"]].mean() for c in CS])
    print(f"{name:35s} held-in before {base:.2f} | LIO @50/60/70 {res[0]:.2f} {res[1]:.2f} {res[2]:.2f} | real val oos @70/85 {real[0]:.2f} {real[1]:.2f}", flush=True)
